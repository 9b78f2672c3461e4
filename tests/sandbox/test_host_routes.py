"""The local host's indexing and routing (sandbox/host/): what it serves, and what it refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import azure.functions as func
import pytest

from sandbox.host.functions import LocalContext, UnsupportedFunction
from sandbox.host.loading import default_host_json, index_functions, load_function_app, read_route_prefix
from sandbox.host.routes import RouteTemplate, UnsupportedRoute
from sandbox.host.server import build_web_app, http_routes, timer_functions
from tests.sandbox import toy_app

TOY_APP = "tests.sandbox.toy_app:app"
PREFIX = "toy/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_route_prefix_from_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": PREFIX}}}))
    assert read_route_prefix(tmp_path / "host.json") == PREFIX
    assert read_route_prefix(tmp_path / "missing.json") == "api"  # Azure's default
    (tmp_path / "empty.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}')
    assert read_route_prefix(tmp_path / "empty.json") == ""
    # The real app's host.json sits next to function_app.py.
    assert default_host_json("function_app:app") == REPO_ROOT / "host.json"


def test_routes_and_timers_come_from_the_function_app() -> None:
    web_app = build_web_app(load_function_app(TOY_APP), PREFIX)
    described = {route.describe() for route in http_routes(web_app)}
    assert f"POST,PUT /{PREFIX}/orders -> create_order" in described
    assert f"* /{PREFIX}/echo/{{name?}} -> echo" in described
    assert f"GET /{PREFIX}/sync/{{word}} -> sync_function" in described  # from the blueprint
    assert f"GET /{PREFIX}/context -> WithContext" in described  # @function_name wins
    assert (
        len(http_routes(web_app)) == len(index_functions(toy_app.app)) - 2 == 14
    )  # all but the timer and the Event Grid function
    [timer] = timer_functions(web_app)
    assert timer.describe() == "timer trigger nightly_cleanup (schedule 0 0 3 * * *) not run by the local host"


def test_the_same_app_can_be_served_again() -> None:
    # FunctionApp.get_functions() rejects a second call on its own; the host indexes afresh each time.
    app = load_function_app(TOY_APP)
    first = http_routes(build_web_app(app, "a"))
    second = http_routes(build_web_app(app, "b"))
    assert [r.function_name for r in first] == [r.function_name for r in second]
    assert second[0].path.startswith("/b/")


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id}", "/api/items/42", {"id": "42"}),
        ("items/{id}", "/API/Items/42/", {"id": "42"}),  # case-insensitive, one trailing slash
        ("items/{id}", "/api/items", None),
        ("items/{id}", "/api/items/", None),
        ("items/{id}", "/api/items//", None),
        ("items/{id}", "/api/items/42/more", None),
        ("items/{id}", "/api//items/42", None),
        ("items/special", "/api/items/special", {}),
        ("items/special", "/api/items/other", None),
        ("items/{name?}", "/api/items", {}),
        ("items/{name?}", "/api/items/x", {"name": "x"}),
        ("items/{name?}", "/api/items/x/y", None),
        ("files/{*rest}", "/api/files/a/b%2Fc", {"rest": "a/b/c"}),
        ("files/{*rest}", "/api/files", {}),
        ("shipment/{shipmentId}", "/api/shipment/a%20b", {"shipmentId": "a b"}),
        ("shipment/{shipmentId}", "/api/shipment/a%0Ab", {"shipmentId": "a\nb"}),
    ],
)
def test_route_templates(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert RouteTemplate.compile("api", template).match(path) == expected


def test_literal_segments_take_precedence_over_parameters() -> None:
    literal = RouteTemplate.compile("api", "items/special")
    param = RouteTemplate.compile("api", "items/{id}")
    optional = RouteTemplate.compile("api", "items/{id?}")
    catch_all = RouteTemplate.compile("api", "items/{*rest}")
    ordered = sorted([catch_all, optional, param, literal], key=lambda t: t.precedence)
    assert ordered == [literal, param, optional, catch_all]


@pytest.mark.parametrize(
    "route",
    [
        "items/{id:foo}",  # unknown constraint: matched everything before
        "items/{id:int}",  # ASP.NET constraints are not implemented at all
        "items/{id=all}",  # defaults
        "files/{name}.{ext}",  # several parameters in one segment
        "items/{{literal}}",  # escaped braces
        "items/{id?}/more",  # optional before the end
        "files/{*rest}/more",  # catch-all before the end
        "items/{**rest}",
        "items/{id}/{ID}",  # the same name twice
        "items/x{id}",
    ],
)
def test_unsupported_templates_are_refused(route: str) -> None:
    with pytest.raises(UnsupportedRoute, match="route"):
        RouteTemplate.compile("api", route)


def _app_with_route(route: str) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route=route, methods=["GET"])
    async def refused(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("never served")

    return app


def test_an_unsupported_route_stops_start_up_naming_the_function() -> None:
    with pytest.raises(UnsupportedFunction, match=r"function refused: route 'items/\{id:foo\}'"):
        build_web_app(_app_with_route("items/{id:foo}"))


def test_another_trigger_kind_stops_start_up() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="msg", queue_name="work", connection="QueueConnection")
    async def on_message(msg: func.QueueMessage) -> None:
        return None

    with pytest.raises(UnsupportedFunction, match="on_message: queueTrigger triggers are not served"):
        build_web_app(app)


def test_an_input_binding_the_host_cannot_provide_stops_start_up() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route(route="with-blob", methods=["GET"])
    @app.blob_input(arg_name="blob", path="container/name", connection="BlobConnection")
    async def with_blob(req: func.HttpRequest, blob: func.InputStream) -> func.HttpResponse:
        return func.HttpResponse("never served")

    with pytest.raises(UnsupportedFunction, match="with_blob: the blob binding 'blob' is not provided"):
        build_web_app(app)


def test_a_context_keeps_one_trace_for_its_invocation() -> None:
    context = LocalContext("WithContext", str(REPO_ROOT))
    assert context.trace_context.trace_parent == context.trace_context.trace_parent
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", context.trace_context.trace_parent)
    assert LocalContext("WithContext", str(REPO_ROOT)).trace_context.trace_parent != context.trace_context.trace_parent
