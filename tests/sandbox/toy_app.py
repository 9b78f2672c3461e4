"""A toy FunctionApp for the local host's tests: the same decorators the real app uses."""

from __future__ import annotations

import asyncio
import base64
import json
import threading

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
bp = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves Blueprint() unannotated

# What the timer function saw, per call (its past_due), for the admin-endpoint test.
TIMER_CALLS: list[bool] = []
# What the Event Grid function saw, per event (id, type, subject, data), for the webhook test.
EVENTS: list[tuple[str, str, str, object]] = []


def _json(value: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


@app.route(route="echo/{name?}")  # no methods: every method
async def echo(req: func.HttpRequest) -> func.HttpResponse:
    return _json(
        {
            "method": req.method,
            "url": req.url,
            "route_params": dict(req.route_params),
            "params": dict(req.params),
            "headers": dict(req.headers),
            "body_b64": base64.b64encode(req.get_body()).decode(),
        }
    )


@app.route(route="items/{id}", methods=["GET"])
async def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "item_by_id", "route_params": dict(req.route_params)})


@app.route(route="items/special", methods=["GET"])
async def item_special(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "item_special"})


@app.route(route="orders", methods=["POST", "PUT"], auth_level=func.AuthLevel.FUNCTION)
async def create_order(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"created": True}, status=201)


@app.route(route="bytes", methods=["POST"])
async def raw_bytes(req: func.HttpRequest) -> func.HttpResponse:
    resp = func.HttpResponse(req.get_body(), mimetype="application/octet-stream")
    resp.headers.add_header("X-Multi", "one")
    resp.headers.add_header("X-Multi", "two")
    return resp


PROBLEM_BODY = '{"title":"Ugyldig forespørsel","status":422}'.encode()


@app.route(route="problem", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def problem(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        PROBLEM_BODY,
        status_code=422,
        mimetype="application/problem+json",
        headers={"X-Trace": "abc", "Cache-Control": "no-store"},
    )


@app.route(route="plain", methods=["GET"])
async def plain(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hei på deg")


@app.route(route="size", methods=["POST"])
async def size(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"received": len(req.get_body())})


@app.route(route="boom")
async def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("toy failure for the 500 test")


@app.route(route="slow", methods=["GET"])
async def slow(req: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(float(req.params.get("seconds", "0.5")))
    return func.HttpResponse("done")


@app.route(route="nothing", methods=["DELETE"])
async def nothing(req: func.HttpRequest) -> None:
    return None


@bp.route(route="sync/{word}", methods=["GET"])
def sync_function(req: func.HttpRequest) -> func.HttpResponse:
    # A sync function must run off the loop thread, as the Python worker runs it.
    return _json(
        {
            "word": req.route_params["word"],
            "main_thread": threading.current_thread() is threading.main_thread(),
        }
    )


@bp.function_name("WithContext")
@bp.route(route="context", methods=["GET"])
async def with_context(req: func.HttpRequest, context: func.Context) -> str:
    return f"{context.function_name} {context.invocation_id}"


@bp.route(route="files/{*rest}", methods=["GET"], trigger_arg_name="request")
async def catch_all(request: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(request.route_params)})


@app.timer_trigger(arg_name="timer", schedule="0 0 3 * * *", run_on_startup=False)
async def nightly_cleanup(timer: func.TimerRequest) -> None:
    TIMER_CALLS.append(timer.past_due)


@app.event_grid_trigger(arg_name="event")
async def on_event(event: func.EventGridEvent) -> None:
    if event.subject == "boom":
        raise RuntimeError("the function failed")
    EVENTS.append((event.id, event.event_type, event.subject, event.get_json()))


app.register_blueprint(bp)


def on_local_host_startup() -> None:
    print("toy app: startup hook ran", flush=True)


async def on_local_host_shutdown() -> None:
    print("toy app: shutdown hook ran", flush=True)
