"""The HTTP routes the function app registers, read from the app itself (not from a list).

Indexes ``function_app.app`` the way the Python worker does (``FunctionApp.get_functions()``) and
prefixes each route with host.json's ``extensions.http.routePrefix``, so a test can compare the
app's real surface with a document or a template.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import azure.functions as func

REPO_ROOT = Path(__file__).resolve().parents[2]
# Azure's default when host.json sets no prefix.
_DEFAULT_ROUTE_PREFIX = "api"


class AppRoute(NamedTuple):
    """One HTTP route: method, full path (with the route prefix) and auth level in lower case."""

    method: str
    path: str
    auth: str


def route_prefix(host_json: Path = REPO_ROOT / "host.json") -> str:
    """``extensions.http.routePrefix`` from host.json, without slashes."""
    config: dict[str, Any] = json.loads(host_json.read_text(encoding="utf-8-sig"))
    prefix = config.get("extensions", {}).get("http", {}).get("routePrefix", _DEFAULT_ROUTE_PREFIX)
    return str(prefix).strip("/")


def registered_routes(app: func.FunctionApp | None = None) -> set[AppRoute]:
    """Every (method, path, auth) the app's HTTP triggers register."""
    if app is None:
        import function_app  # imported late: it reads the settings at import

        app = function_app.app
    prefix = route_prefix()
    routes: set[AppRoute] = set()
    for function in _index(app):
        trigger = function.get_trigger()
        if trigger is None or trigger.get_binding_name() != "httpTrigger":
            continue
        auth = str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower()
        for method in trigger.methods or ():
            path = f"/{prefix}/{trigger.route}" if prefix else f"/{trigger.route}"
            routes.add(AppRoute(str(getattr(method, "value", method)), path, auth))
    return routes


def _index(app: func.FunctionApp) -> list[Any]:
    # get_functions() remembers the names it has seen and refuses a second call; forget them
    # before and after, so other tests (and the local host) can index the same app again.
    app.functions_bindings = None
    try:
        return list(app.get_functions())
    finally:
        app.functions_bindings = None
