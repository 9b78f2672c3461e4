"""The function app registers exactly the routes the APIM API exposes (tests/infra/routes.py),
and the served OpenAPI document describes exactly those paths."""

from __future__ import annotations

import json
from pathlib import Path

from azure.functions.decorators.http import HttpTrigger

import function_app
from instant.entrypoints.openapi import openapi_document
from sandbox.host.loading import index_functions, read_route_prefix
from tests.infra.routes import EXPECTED_ROUTES, ROUTE_PREFIX


def registered_routes() -> set[tuple[str, str, str]]:
    routes = set()
    for function in index_functions(function_app.app):
        trigger = function.get_trigger()
        assert trigger is not None, function.get_function_name()
        if trigger.get_binding_name() != "httpTrigger":
            continue
        assert isinstance(trigger, HttpTrigger), function.get_function_name()
        auth = str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower()
        assert trigger.methods is not None, function.get_function_name()
        for method in trigger.methods:
            routes.add((str(getattr(method, "value", method)), f"/{ROUTE_PREFIX}/{trigger.route}", auth))
    return routes


def test_app_routes_equal_the_apim_operations() -> None:
    assert registered_routes() == {(r.method, r.path, r.auth) for r in EXPECTED_ROUTES}


def test_host_json_route_prefix_is_the_contracts() -> None:
    assert read_route_prefix(Path(function_app.__file__).with_name("host.json")) == ROUTE_PREFIX


def test_openapi_paths_equal_the_routes() -> None:
    document = json.loads(openapi_document())
    served = {(method.upper(), f"/{ROUTE_PREFIX}{path}") for path, item in document["paths"].items() for method in item}
    assert served == {(r.method, r.path) for r in EXPECTED_ROUTES}
