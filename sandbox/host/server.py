"""Serving the indexed functions with aiohttp on the running loop, within the Functions host's limits."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from azure.functions.decorators.function_app import FunctionRegister
from azure.functions.timer import TimerRequest

from sandbox.host.eventgrid import EVENT_GRID_KEY, WEBHOOK_PATH, EventGridFunction, eventgrid_webhook
from sandbox.host.exchange import failure, to_http_request, to_web_response
from sandbox.host.functions import HttpRoute, OutValue, TimerFunction, collect_functions
from sandbox.host.limits import (
    AZURE_LIMITS,
    LIMITS_KEY,
    BodyTooSlow,
    HostLimits,
    body_too_slow,
    header_limits,
    read_body,
)
from sandbox.host.loading import DEFAULT_ROUTE_PREFIX, Hook

log = logging.getLogger("sandbox.local_host")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 7071
# After a 404/405/413/408 aiohttp drains the unread body (so the client sees the answer, not a
# reset) and shutdown waits for that; aiohttp's 10 s is more than loopback ever needs.
_LINGERING_SECONDS: Final = 2.0
_ROUTES_KEY: Final[web.AppKey[list[HttpRoute]]] = web.AppKey("http_routes")
_TIMERS_KEY: Final[web.AppKey[dict[str, TimerFunction]]] = web.AppKey("timers")


async def _invoke_http(route: HttpRoute, request: web.Request, route_params: dict[str, str]) -> web.Response:
    try:
        body = await read_body(request, request.app[LIMITS_KEY])
    except BodyTooSlow as exc:
        log.warning("%s %s: %s, closing the connection", request.method, request.rel_url.path, exc)
        return body_too_slow()
    kwargs: dict[str, Any] = {route.target.trigger_arg: to_http_request(request, route_params, body)}
    out: OutValue[Any] | None = None
    if route.output_arg is not None:
        out = kwargs[route.output_arg] = OutValue()
    try:
        result = await route.target.call(kwargs)
        if result is None and out is not None:
            result = out.get()
        return to_web_response(result)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", route.function_name)
        return failure(route.function_name)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    raw_path = request.rel_url.raw_path
    allowed: set[str] = set()
    for route in request.app[_ROUTES_KEY]:
        route_params = route.template.match(raw_path)
        if route_params is None:
            continue
        if route.methods is None or request.method in route.methods:
            return await _invoke_http(route, request, route_params)
        allowed |= route.methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, sorted(allowed))
    raise web.HTTPNotFound()


async def _admin_invoke(request: web.Request) -> web.StreamResponse:
    """Core Tools' ``POST /admin/functions/<name>``: run a timer function once."""
    name = request.match_info["name"]
    timer = request.app[_TIMERS_KEY].get(name.lower())
    if timer is None:
        raise web.HTTPNotFound(text=f"No timer function named {name!r}\n")
    await read_body(request, request.app[LIMITS_KEY])  # Core Tools takes {"input": ...}; a timer has none
    try:
        await timer.target.call({timer.target.trigger_arg: TimerRequest(past_due=False)})
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", timer.function_name)
        return failure(timer.function_name)
    log.info("Executed 'Functions.%s' (Succeeded)", timer.function_name)
    return web.Response(status=202)


@web.middleware
async def _request_log(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # Path only: no bodies, no query string (function keys travel in ?code=).
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.info("%s %s %d %.1fms", request.method, request.rel_url.path, status, elapsed_ms)


def build_web_app(
    function_app: FunctionRegister, route_prefix: str = DEFAULT_ROUTE_PREFIX, *, limits: HostLimits = AZURE_LIMITS
) -> web.Application:
    """An aiohttp application serving ``function_app``'s functions; UnsupportedFunction if it cannot."""
    routes, timers, event_grid = collect_functions(function_app, route_prefix)
    # client_max_size is enforced by read_body; aiohttp's own check would be the same number.
    app = web.Application(client_max_size=limits.max_request_body_size, middlewares=[_request_log, header_limits])
    app[_ROUTES_KEY] = routes
    app[_TIMERS_KEY] = timers
    app[EVENT_GRID_KEY] = {name: EventGridFunction(target) for name, target in event_grid.items()}
    app[LIMITS_KEY] = limits
    app.router.add_post("/admin/functions/{name}", _admin_invoke)
    app.router.add_post(WEBHOOK_PATH, eventgrid_webhook)
    app.router.add_route("*", r"/{path:[\s\S]*}", _dispatch)  # [\s\S]: a decoded %0A is part of the path too
    return app


def http_routes(web_app: web.Application) -> list[HttpRoute]:
    """The HTTP routes of an app built by build_web_app, in match order."""
    routes = web_app[_ROUTES_KEY]
    return list(routes)


def timer_functions(web_app: web.Application) -> list[TimerFunction]:
    """The timer functions of an app built by build_web_app."""
    return list(web_app[_TIMERS_KEY].values())


def event_grid_functions(web_app: web.Application) -> list[EventGridFunction]:
    """The Event Grid functions of an app built by build_web_app."""
    return list(web_app[EVENT_GRID_KEY].values())


async def _call_hook(hook: Hook | None) -> None:
    if hook is None:
        return
    result = hook()
    if inspect.isawaitable(result):
        await result


@dataclass
class RunningHost:
    """A started host; ``await stop()`` stops accepting, finishes requests, then runs the shutdown hook."""

    runner: web.AppRunner
    host: str
    port: int
    route_prefix: str
    on_shutdown: Hook | None = None
    _stopped: bool = field(default=False, init=False)

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def routes(self) -> list[HttpRoute]:
        """The HTTP routes served, in match order."""
        return http_routes(self.runner.app)

    @property
    def timers(self) -> list[TimerFunction]:
        """The timer functions, run once via ``POST /admin/functions/<name>``."""
        return timer_functions(self.runner.app)

    @property
    def event_grid(self) -> list[EventGridFunction]:
        """The Event Grid functions, run via ``POST /runtime/webhooks/eventgrid?functionName=<name>``."""
        return event_grid_functions(self.runner.app)

    def url(self, route: str) -> str:
        """Absolute URL of a function route (the part after the route prefix)."""
        path = "/".join(p for p in (self.route_prefix.strip("/"), route.strip("/")) if p)
        return f"{self.base_url}/{path}"

    async def stop(self) -> None:
        """Stop accepting, let requests in flight finish, then run the shutdown hook."""
        if self._stopped:
            return
        self._stopped = True
        try:
            await self.runner.cleanup()
        finally:
            await _call_hook(self.on_shutdown)


async def serve(
    function_app: FunctionRegister,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    route_prefix: str = DEFAULT_ROUTE_PREFIX,
    *,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    limits: HostLimits = AZURE_LIMITS,
    shutdown_timeout: float = 30.0,
) -> RunningHost:
    """Serve ``function_app`` on the running loop; port 0 picks a free port (see ``.port``)."""
    web_app = build_web_app(function_app, route_prefix, limits=limits)
    await _call_hook(on_startup)
    # access_log=None: _request_log writes the one line per request.
    runner = web.AppRunner(
        web_app,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        lingering_time=_LINGERING_SECONDS,
        **limits.server_options(),
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = int(runner.addresses[0][1])
    return RunningHost(runner, host, bound_port, route_prefix.strip("/"), on_shutdown)
