"""Local Functions host: serves the functions a ``FunctionApp`` registers over real HTTP.

Azure Functions Core Tools cannot be installed on our machines, so this stands in for
``func start``: it indexes the app the way the Python worker does (``FunctionApp.get_functions()``,
each function's trigger and bindings), so there is no second routing table to keep in sync, and it
serves the HTTP triggers with aiohttp on ONE asyncio loop, the same loop the app's aio SDK clients
are bound to.

What it does like the Functions host: route prefix from host.json (``api`` by default), route
templates (``{name}``, ``{name?}``, ``{name=default}``, ``{name:int}`` and the other ASP.NET
constraints, ``{*rest}``), methods from the trigger, function keys accepted but not enforced (as
Core Tools does), 500 with a plain body when a function raises, timer triggers not scheduled but
invocable once with ``POST /admin/functions/<name>``.

Run ``python -m sandbox.local_host --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import importlib
import importlib.util
import inspect
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import azure.functions as func
from aiohttp import web
from azure.functions.decorators.core import Trigger
from azure.functions.decorators.function_app import Function, FunctionRegister
from azure.functions.decorators.http import HttpOutput, HttpTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.timer import TimerRequest
from multidict import CIMultiDict

log = logging.getLogger("sandbox.local_host")

DEFAULT_APP: Final = "function_app:app"
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 7071
DEFAULT_ROUTE_PREFIX: Final = "api"
# Larger than the app's own 1 MiB limit, so the app itself answers 413 for 1 MiB + 1.
DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
READY_LINE: Final = "Local Functions host listening on {base_url}"
STARTUP_HOOK: Final = "on_local_host_startup"
SHUTDOWN_HOOK: Final = "on_local_host_shutdown"

Hook = Callable[[], Any]
T = TypeVar("T")

# aiohttp computes these itself; passing a function's own copy through would corrupt framing.
_LINGERING_SECONDS: Final = 2.0
_FRAMING_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "connection"})
_HTTP_ROUTES_KEY: Final[web.AppKey[list[HttpRoute]]] = web.AppKey("http_routes")
_OTHER_FUNCTIONS_KEY: Final[web.AppKey[dict[str, OtherFunction]]] = web.AppKey("other_functions")


# --------------------------------------------------------------------------------------------
# Loading the app and host.json
# --------------------------------------------------------------------------------------------


def _split_spec(spec: str) -> tuple[str, str]:
    module_name, _, attr = spec.partition(":")
    return module_name, attr or "app"


def load_function_app(spec: str = DEFAULT_APP) -> FunctionRegister:
    """Import ``module:attr`` (attr defaults to ``app``) and return the FunctionApp object."""
    module_name, attr = _split_spec(spec)
    module = importlib.import_module(module_name)
    obj = getattr(module, attr, None)
    if not isinstance(obj, FunctionRegister):
        raise TypeError(f"{spec} is {type(obj).__name__}, not an azure.functions.FunctionApp")
    return obj


def load_lifecycle_hooks(spec: str = DEFAULT_APP) -> tuple[Hook | None, Hook | None]:
    """The app module's optional ``on_local_host_startup`` / ``on_local_host_shutdown``."""
    module = importlib.import_module(_split_spec(spec)[0])
    startup = getattr(module, STARTUP_HOOK, None)
    shutdown = getattr(module, SHUTDOWN_HOOK, None)
    return (startup if callable(startup) else None, shutdown if callable(shutdown) else None)


def default_host_json(spec: str = DEFAULT_APP) -> Path:
    """host.json next to the app module, as the Functions host finds it in the script root."""
    module_name = _split_spec(spec)[0]
    found = importlib.util.find_spec(module_name)
    if found is not None and found.origin and found.origin not in ("built-in", "frozen"):
        return Path(found.origin).resolve().parent / "host.json"
    return Path.cwd() / "host.json"


def read_route_prefix(host_json: Path | str) -> str:
    """``extensions.http.routePrefix`` from host.json; ``api`` when absent, as in Azure."""
    path = Path(host_json)
    if not path.is_file():
        return DEFAULT_ROUTE_PREFIX
    config = json.loads(path.read_text(encoding="utf-8-sig"))
    prefix = config.get("extensions", {}).get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)
    if not isinstance(prefix, str):
        raise ValueError(f"{path}: extensions.http.routePrefix must be a string")
    return prefix.strip("/")


def index_functions(function_app: FunctionRegister) -> list[Function]:
    """The app's functions exactly as the Python worker indexes them."""
    # get_functions() remembers the names it saw and rejects them as duplicates on a second call;
    # forget them so the app can be served more than once in one process (tests, bench).
    function_app.functions_bindings = None
    return function_app.get_functions()


# --------------------------------------------------------------------------------------------
# Route templates
# --------------------------------------------------------------------------------------------

_GUID_RE: Final = re.compile(r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$", re.IGNORECASE)


def _is_number(value: str, integer: bool) -> bool:
    try:
        int(value) if integer else float(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _constraint_check(name: str, arg: str | None) -> Callable[[str], bool]:
    """ASP.NET route constraints, checked on the matched value (as ASP.NET does)."""
    lowered = name.lower()
    numbers = [a.strip() for a in arg.split(",")] if arg else []
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -(2**31) <= int(v) < 2**31,
        "long": lambda v: bool(re.fullmatch(r"-?\d+", v)) and -(2**63) <= int(v) < 2**63,
        "bool": lambda v: v.lower() in ("true", "false"),
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "guid": lambda v: bool(_GUID_RE.match(v)),
        "decimal": lambda v: _is_number(v, False),
        "double": lambda v: _is_number(v, False),
        "float": lambda v: _is_number(v, False),
        "datetime": _is_datetime,
        "required": lambda v: v != "",
    }
    if lowered in simple:
        return simple[lowered]
    if lowered == "regex" and arg is not None:
        pattern = re.compile(arg, re.IGNORECASE)  # ASP.NET: unanchored, case-insensitive
        return lambda v: pattern.search(v) is not None
    if lowered in ("minlength", "maxlength", "length", "min", "max", "range") and numbers:
        bounds = [int(n) for n in numbers]
        if lowered == "minlength":
            return lambda v: len(v) >= bounds[0]
        if lowered == "maxlength":
            return lambda v: len(v) <= bounds[0]
        if lowered == "length":
            low, high = (bounds[0], bounds[-1])
            return lambda v: low <= len(v) <= high
        low = bounds[0] if lowered in ("min", "range") else -(2**63)
        high = bounds[-1] if lowered in ("max", "range") else 2**63
        return lambda v: bool(re.fullmatch(r"-?\d+", v)) and low <= int(v) <= high
    log.warning("route constraint %r is not checked by the local host", name)
    return lambda v: True


@dataclass(frozen=True)
class _Param:
    group: str
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: tuple[Callable[[str], bool], ...]


def _parse_param(text: str, group: str) -> _Param:
    """``[*]name[:constraint[(arg)]]...[?][=default]``; ``{{``/``}}`` stand for literal braces."""
    text = text.replace("{{", "{").replace("}}", "}")
    stars = len(text) - len(text.lstrip("*"))
    rest = text[stars:]
    m = re.match(r"[^:?=]+", rest)
    if m is None:
        raise ValueError(f"unsupported route parameter {{{text}}}")
    name, i = m.group(), m.end()
    checks: list[Callable[[str], bool]] = []
    while i < len(rest) and rest[i] == ":":
        c = re.match(r"[A-Za-z]+", rest[i + 1 :])
        if c is None:
            raise ValueError(f"unsupported route constraint in {{{text}}}")
        i += 1 + c.end()
        arg = None
        if i < len(rest) and rest[i] == "(":
            depth, j = 1, i + 1  # the argument of regex(...) may contain parentheses
            while j < len(rest) and depth:
                depth += {"(": 1, ")": -1}.get(rest[j], 0)
                j += 1
            arg, i = rest[i + 1 : j - 1], j
        checks.append(_constraint_check(c.group(), arg))
    optional = rest.startswith("?", i)
    i += optional
    default = rest[i + 1 :] if rest.startswith("=", i) else None
    if default is None and i != len(rest):
        raise ValueError(f"unsupported route parameter {{{text}}}")
    return _Param(
        group=group,
        name=name,
        optional=bool(stars) or optional or default is not None,
        catch_all=bool(stars),
        default=default,
        checks=tuple(checks),
    )


def _split_segment(segment: str) -> list[str | tuple[str]]:
    """Literal text as str, parameters as 1-tuples; ``{{``/``}}`` are literal braces."""
    parts: list[str | tuple[str]] = []
    literal = ""
    i = 0
    while i < len(segment):
        ch = segment[i]
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            literal += ch
            i += 2
        elif ch == "{":
            depth, j = 1, i + 1
            while j < len(segment) and depth:  # braces may nest inside regex(...) constraints
                depth += {"{": 1, "}": -1}.get(segment[j], 0)
                j += 1
            if depth:
                raise ValueError(f"unbalanced braces in route segment {segment!r}")
            if literal:
                parts.append(literal)
                literal = ""
            parts.append((segment[i + 1 : j - 1],))
            i = j
        else:
            literal += ch
            i += 1
    if literal:
        parts.append(literal)
    return parts


@dataclass(frozen=True)
class RouteTemplate:
    """A Functions route template compiled to one anchored regex over the raw URL path."""

    template: str
    pattern: re.Pattern[str]
    params: tuple[_Param, ...]
    # Sort key: literal segments before parameters before optional/catch-all ones, like ASP.NET.
    precedence: tuple[int, ...]

    @classmethod
    def compile(cls, route_prefix: str, route: str) -> RouteTemplate:
        segments = [s for s in route_prefix.strip("/").split("/") if s]
        route_segments = [s for s in route.strip("/").split("/") if s]
        regex = "^"
        params: list[_Param] = []
        precedence: list[int] = []
        for index, segment in enumerate([*segments, *route_segments]):
            parts = _split_segment(segment) if index >= len(segments) else [segment]
            if len(parts) == 1 and isinstance(parts[0], tuple):
                param = _parse_param(parts[0][0], f"p{len(params)}")
                params.append(param)
                value = ".*" if param.catch_all else "[^/]+"
                if param.optional:
                    regex += f"(?:/(?P<{param.group}>{value}))?"
                else:
                    regex += f"/(?P<{param.group}>{value})"
                precedence.append(5 if param.catch_all else 4 if param.optional else 2 if param.checks else 3)
                continue
            regex += "/"
            for part in parts:
                if isinstance(part, tuple):
                    param = _parse_param(part[0], f"p{len(params)}")
                    params.append(param)
                    regex += f"(?P<{param.group}>[^/]{'*' if param.optional else '+'}?)"
                else:
                    regex += re.escape(part)
            precedence.append(0 if all(isinstance(p, str) for p in parts) else 1)
        regex += "/?$"
        template = "/" + "/".join([*segments, *route_segments])
        # Routes are case-insensitive in Azure (values keep their case).
        return cls(template, re.compile(regex, re.IGNORECASE), tuple(params), tuple(precedence))

    def match(self, raw_path: str) -> dict[str, str] | None:
        m = self.pattern.match(raw_path)
        if m is None:
            return None
        values: dict[str, str] = {}
        for param in self.params:
            raw = m[param.group]
            if raw is None or raw == "":
                if not param.optional:
                    return None
                if param.default is not None:
                    values[param.name] = param.default
                continue
            value = urllib.parse.unquote(raw)
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


# --------------------------------------------------------------------------------------------
# Invocation
# --------------------------------------------------------------------------------------------


class _TraceContext(func._abc.TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func._abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> func._abc.RpcException:
        raise AttributeError("no retry in progress")


class LocalContext(func.Context):
    """What the worker passes to a ``context`` parameter, minus what only Azure knows."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext()
        self._retry = _RetryContext()

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return threading.local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> func._abc.TraceContext:
        return self._trace

    @property
    def retry_context(self) -> func._abc.RetryContext:
        return self._retry


class _Out(func.Out[T]):
    """For an HTTP output binding named other than ``$return`` (``func.Out[HttpResponse]``)."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        self._value = val

    def get(self) -> T:
        return self._value  # type: ignore[return-value]  # None until the function sets it


@dataclass(frozen=True)
class _Target:
    """One indexed function and how to call it."""

    name: str
    function: Callable[..., Any]
    trigger_arg: str
    wants_context: bool
    directory: str

    @classmethod
    def of(cls, fn: Function, trigger: Trigger) -> _Target:
        user_function = fn.get_user_function()
        name = fn.get_function_name() or user_function.__name__
        parameters = inspect.signature(user_function).parameters
        known = {trigger.name, "context"}
        for binding in fn.get_bindings():
            # Only the HTTP output binding is emulated; say so early rather than fail per call.
            if binding.name not in known and not isinstance(binding, HttpOutput):
                log.warning(
                    "function %s: %s binding %r is not provided by the local host",
                    name,
                    binding.type,
                    binding.name,
                )
        source = inspect.getsourcefile(user_function)
        return cls(
            name=name,
            function=user_function,
            trigger_arg=trigger.name,
            wants_context="context" in parameters,
            directory=str(Path(source).parent) if source else os.getcwd(),
        )

    async def call(self, kwargs: dict[str, Any]) -> Any:
        if self.wants_context:
            kwargs["context"] = LocalContext(self.name, self.directory)
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**kwargs)
        # Sync functions run in a worker thread, as the Python worker does, so the loop keeps serving.
        result = await asyncio.to_thread(functools.partial(self.function, **kwargs))
        if inspect.isawaitable(result):
            result = await result
        return result


@dataclass(frozen=True)
class HttpRoute:
    """An HTTP-triggered function as served: template, methods (None = all) and target."""

    target: _Target
    template: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str | None
    output_arg: str | None

    @property
    def function_name(self) -> str:
        return self.target.name

    @property
    def path(self) -> str:
        return self.template.template

    def describe(self) -> str:
        methods = ",".join(sorted(self.methods)) if self.methods else "*"
        return f"{methods} {self.path} -> {self.function_name}"


@dataclass(frozen=True)
class OtherFunction:
    """A non-HTTP function: not run by the local host, timers invocable via the admin endpoint."""

    target: _Target
    trigger_type: str
    schedule: str | None

    @property
    def function_name(self) -> str:
        return self.target.name

    def describe(self) -> str:
        if self.trigger_type == TimerTrigger.get_binding_name():
            return f"timer trigger {self.function_name} (schedule {self.schedule}) not run by the local host"
        return f"{self.trigger_type} {self.function_name} not run by the local host"


def _methods_of(trigger: HttpTrigger) -> frozenset[str] | None:
    methods = getattr(trigger, "methods", None)
    if not methods:
        return None
    return frozenset(str(getattr(m, "value", m)).upper() for m in methods)


def collect_functions(
    function_app: FunctionRegister, route_prefix: str
) -> tuple[list[HttpRoute], dict[str, OtherFunction]]:
    """Split the indexed functions into HTTP routes (in match order) and the others (by lower name)."""
    routes: list[HttpRoute] = []
    others: dict[str, OtherFunction] = {}
    for fn in index_functions(function_app):
        trigger = fn.get_trigger()
        if trigger is None:  # get_functions() already rejects this; keeps mypy honest
            continue
        target = _Target.of(fn, trigger)
        if Trigger.is_supported_trigger_type(trigger, HttpTrigger):
            output = next(
                (b.name for b in fn.get_bindings() if isinstance(b, HttpOutput) and b.name != "$return"),
                None,
            )
            auth_level = getattr(trigger, "auth_level", None)
            routes.append(
                HttpRoute(
                    target=target,
                    template=RouteTemplate.compile(route_prefix, str(getattr(trigger, "route", target.name))),
                    methods=_methods_of(trigger),  # type: ignore[arg-type]
                    auth_level=str(getattr(auth_level, "value", auth_level)) if auth_level else None,
                    output_arg=output,
                )
            )
        else:
            others[target.name.lower()] = OtherFunction(
                target=target, trigger_type=str(trigger.type), schedule=getattr(trigger, "schedule", None)
            )
    # Stable sort: equal precedence keeps registration order.
    routes.sort(key=lambda r: r.template.precedence)
    return routes, others


def _request_headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        # Repeated headers reach a function comma-joined, as ASP.NET presents them.
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _query_params(request: web.Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.rel_url.query.items():
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def _to_web_response(result: Any) -> web.Response:
    """The HttpResponse the function returned, as the Functions host would send it."""
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(body=result.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(result, bytes | bytearray):
        return web.Response(body=bytes(result), headers={"Content-Type": "application/octet-stream"})
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"a function returned {type(result).__name__}, not azure.functions.HttpResponse")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in result.headers.items():  # werkzeug Headers: repeated names come out repeated
        if name.lower() not in _FRAMING_HEADERS:
            headers.add(name, value)
    if "Content-Type" not in headers:
        # Same rule as azure.functions.http.HttpResponseConverter.encode.
        mimetype, charset = str(result.mimetype), str(result.charset)
        text = mimetype.startswith("text/")
        headers["Content-Type"] = f"{mimetype}; charset={charset}" if text else mimetype
    return web.Response(status=int(result.status_code), headers=headers, body=result.get_body())


def _failure(function_name: str) -> web.Response:
    return web.Response(
        status=500,
        text=f"Exception while executing function: Functions.{function_name}\n",
        content_type="text/plain",
    )


async def _invoke_http(route: HttpRoute, request: web.Request, route_params: dict[str, str]) -> web.Response:
    body = await request.read()  # raises 413 above client_max_size
    req = func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=_request_headers(request),
        params=_query_params(request),
        route_params=route_params,
        body=body,
    )
    kwargs: dict[str, Any] = {route.target.trigger_arg: req}
    out: _Out[Any] | None = None
    if route.output_arg is not None:
        out = kwargs[route.output_arg] = _Out()
    try:
        result = await route.target.call(kwargs)
        if result is None and out is not None:
            result = out.get()
        return _to_web_response(result)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", route.function_name)
        return _failure(route.function_name)


async def _dispatch(request: web.Request) -> web.StreamResponse:
    raw_path = request.rel_url.raw_path
    allowed: set[str] = set()
    for route in request.app[_HTTP_ROUTES_KEY]:
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
    """Core Tools' ``POST /admin/functions/<name>``: run a non-HTTP (timer) function once."""
    name = request.match_info["name"]
    other = request.app[_OTHER_FUNCTIONS_KEY].get(name.lower())
    if other is None or other.trigger_type != TimerTrigger.get_binding_name():
        raise web.HTTPNotFound(text=f"No timer function named {name!r}\n")
    await request.read()  # Core Tools takes {"input": ...}; a timer has no input
    try:
        await other.target.call({other.target.trigger_arg: TimerRequest(past_due=False)})
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed)", other.function_name)
        return _failure(other.function_name)
    log.info("Executed 'Functions.%s' (Succeeded)", other.function_name)
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
    function_app: FunctionRegister,
    route_prefix: str = DEFAULT_ROUTE_PREFIX,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> web.Application:
    """An aiohttp application serving ``function_app``'s HTTP triggers under ``route_prefix``."""
    routes, others = collect_functions(function_app, route_prefix)
    app = web.Application(client_max_size=max_body_bytes, middlewares=[_request_log])
    app[_HTTP_ROUTES_KEY] = routes
    app[_OTHER_FUNCTIONS_KEY] = others
    app.router.add_post("/admin/functions/{name}", _admin_invoke)
    app.router.add_route("*", r"/{path:[\s\S]*}", _dispatch)  # [\s\S]: a decoded %0A is part of the path too
    return app


def http_routes(web_app: web.Application) -> list[HttpRoute]:
    routes = web_app[_HTTP_ROUTES_KEY]
    return list(routes)


def other_functions(web_app: web.Application) -> list[OtherFunction]:
    return list(web_app[_OTHER_FUNCTIONS_KEY].values())


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


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
        return f"http://{self.host}:{self.port}"

    @property
    def routes(self) -> list[HttpRoute]:
        return http_routes(self.runner.app)

    @property
    def other_functions(self) -> list[OtherFunction]:
        return other_functions(self.runner.app)

    def url(self, route: str) -> str:
        """Absolute URL of a function route (the part after the route prefix)."""
        path = "/".join(p for p in (self.route_prefix.strip("/"), route.strip("/")) if p)
        return f"{self.base_url}/{path}"

    async def stop(self) -> None:
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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    shutdown_timeout: float = 30.0,
) -> RunningHost:
    """Serve ``function_app`` on the running loop; port 0 picks a free port (see ``.port``)."""
    web_app = build_web_app(function_app, route_prefix, max_body_bytes=max_body_bytes)
    await _call_hook(on_startup)
    # access_log=None: _request_log writes the one line per request. lingering_time: after a 404/405/413
    # aiohttp drains the unread body (so the client sees the answer, not a reset) and shutdown waits for
    # that; aiohttp's 10 s is more than loopback ever needs.
    runner = web.AppRunner(
        web_app, access_log=None, shutdown_timeout=shutdown_timeout, lingering_time=_LINGERING_SECONDS
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


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.local_host",
        description="Serve the functions a FunctionApp registers (a stand-in for `func start`).",
    )
    parser.add_argument("--app", default=DEFAULT_APP, help="module:attr of the FunctionApp (%(default)s)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 = a free port (%(default)s)")
    parser.add_argument("--host-json", type=Path, help="host.json with routePrefix (default: by the app)")
    parser.add_argument("--route-prefix", help="override host.json's extensions.http.routePrefix")
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger request bodies get 413 from the host (default %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO", help="Python log level (default %(default)s)")
    return parser.parse_args(argv)


def _print(line: str) -> None:
    print(line, flush=True)


async def _run(args: argparse.Namespace) -> int:
    # Imported inside the running loop: anything the app binds to "the" loop at import gets this one.
    function_app = load_function_app(args.app)
    on_startup, on_shutdown = load_lifecycle_hooks(args.app)
    route_prefix = (
        args.route_prefix
        if args.route_prefix is not None
        else read_route_prefix(args.host_json or default_host_json(args.app))
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():  # second Ctrl-C: the graceful stop is stuck, leave now
            log.warning("second %s: exiting without waiting", signal.Signals(signum).name)
            os._exit(1)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    running = await serve(
        function_app,
        args.host,
        args.port,
        route_prefix,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        max_body_bytes=args.max_body_bytes,
    )
    _print(READY_LINE.format(base_url=running.base_url))
    for route in running.routes:
        _print(f"  {route.describe()}")
    for other in running.other_functions:
        admin_url = f"{running.base_url}/admin/functions/{other.function_name}"
        _print(f"  {other.describe()}; run it once: POST {admin_url}")
    await stop.wait()
    log.info("stopping: no new connections, finishing requests in flight")
    await running.stop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The Azure SDKs log every HTTP call at INFO; keep the console to one line per request.
    logging.getLogger("azure").setLevel(max(logging.WARNING, logging.getLogger().level))
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # `function_app` lives in the directory we are started from
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_run(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
