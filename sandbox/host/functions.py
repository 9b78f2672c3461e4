"""The indexed functions as the local host serves them, and how each is called.

Served: HTTP triggers (with an optional HTTP output binding), timer triggers (not scheduled,
run once on request) and Event Grid triggers (events POSTed to Core Tools' webhook, eventgrid.py).
Any other trigger or binding is refused at start-up with UnsupportedFunction: the local host
would otherwise call the function without what it needs.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import azure.functions as func
from azure.functions.decorators.core import Trigger
from azure.functions.decorators.eventgrid import EventGridTrigger
from azure.functions.decorators.function_app import Function, FunctionRegister
from azure.functions.decorators.http import HttpOutput, HttpTrigger
from azure.functions.decorators.timer import TimerTrigger

from sandbox.host.loading import index_functions
from sandbox.host.routes import RouteTemplate

T = TypeVar("T")


class UnsupportedFunction(ValueError):
    """A function needs a trigger or binding the local host does not provide."""


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
        self._trace = _TraceContext()  # one per invocation: a function may read it more than once
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


class OutValue(func.Out[T]):
    """For an HTTP output binding named other than ``$return`` (``func.Out[HttpResponse]``)."""

    def __init__(self) -> None:
        self._value: T | None = None

    def set(self, val: T) -> None:
        """Store the function's output."""
        self._value = val

    def get(self) -> T:
        """The stored output (None until the function sets it)."""
        return self._value  # type: ignore[return-value]


@dataclass(frozen=True)
class Target:
    """One indexed function and how to call it."""

    name: str
    function: Callable[..., Any]
    trigger_arg: str
    wants_context: bool
    directory: str

    @classmethod
    def of(cls, fn: Function, trigger: Trigger) -> Target:
        """The callable behind ``fn``; UnsupportedFunction for a binding the host cannot provide."""
        user_function = fn.get_user_function()
        name = fn.get_function_name() or user_function.__name__
        for binding in fn.get_bindings():
            if binding.name != trigger.name and not isinstance(binding, HttpOutput):
                raise UnsupportedFunction(
                    f"function {name}: the {binding.type} binding {binding.name!r} is not provided by the local host"
                )
        source = inspect.getsourcefile(user_function)
        return cls(
            name=name,
            function=user_function,
            trigger_arg=trigger.name,
            wants_context="context" in inspect.signature(user_function).parameters,
            directory=str(Path(source).parent) if source else os.getcwd(),
        )

    async def call(self, kwargs: dict[str, Any]) -> Any:
        """Run the function; sync ones in a worker thread, as the Python worker does."""
        if self.wants_context:
            kwargs["context"] = LocalContext(self.name, self.directory)
        if inspect.iscoroutinefunction(self.function):
            return await self.function(**kwargs)
        result = await asyncio.to_thread(functools.partial(self.function, **kwargs))
        if inspect.isawaitable(result):
            result = await result
        return result


@dataclass(frozen=True)
class HttpRoute:
    """An HTTP-triggered function as served: template, methods (None = all) and target."""

    target: Target
    template: RouteTemplate
    methods: frozenset[str] | None
    output_arg: str | None

    @property
    def function_name(self) -> str:
        """The function's name as Azure shows it."""
        return self.target.name

    @property
    def path(self) -> str:
        """The template with the route prefix."""
        return self.template.template

    def describe(self) -> str:
        """One line for the start-up listing."""
        methods = ",".join(sorted(self.methods)) if self.methods else "*"
        return f"{methods} {self.path} -> {self.function_name}"


@dataclass(frozen=True)
class TimerFunction:
    """A timer-triggered function: not scheduled, run once via the admin endpoint."""

    target: Target
    schedule: str

    @property
    def function_name(self) -> str:
        """The function's name as Azure shows it."""
        return self.target.name

    def describe(self) -> str:
        """One line for the start-up listing."""
        return f"timer trigger {self.function_name} (schedule {self.schedule}) not run by the local host"


def _methods_of(trigger: HttpTrigger) -> frozenset[str] | None:
    methods = getattr(trigger, "methods", None)
    if not methods:
        return None
    return frozenset(str(getattr(m, "value", m)).upper() for m in methods)


def _http_route(fn: Function, trigger: HttpTrigger, target: Target, route_prefix: str) -> HttpRoute:
    output = next((b.name for b in fn.get_bindings() if isinstance(b, HttpOutput) and b.name != "$return"), None)
    route = str(getattr(trigger, "route", None) or target.name)
    try:
        template = RouteTemplate.compile(route_prefix, route)
    except ValueError as exc:
        raise UnsupportedFunction(f"function {target.name}: {exc}") from exc
    return HttpRoute(target=target, template=template, methods=_methods_of(trigger), output_arg=output)


def collect_functions(
    function_app: FunctionRegister, route_prefix: str
) -> tuple[list[HttpRoute], dict[str, TimerFunction], dict[str, Target]]:
    """HTTP routes in match order, timers and Event Grid functions by lower-case name;
    UnsupportedFunction for the rest."""
    routes: list[HttpRoute] = []
    timers: dict[str, TimerFunction] = {}
    event_grid: dict[str, Target] = {}
    for fn in index_functions(function_app):
        trigger = fn.get_trigger()
        if trigger is None:  # get_functions() already rejects this; keeps mypy honest
            continue
        target = Target.of(fn, trigger)
        if isinstance(trigger, HttpTrigger):
            routes.append(_http_route(fn, trigger, target, route_prefix))
        elif isinstance(trigger, TimerTrigger):
            timers[target.name.lower()] = TimerFunction(target, str(trigger.schedule))
        elif isinstance(trigger, EventGridTrigger):
            event_grid[target.name.lower()] = target
        else:
            raise UnsupportedFunction(
                f"function {target.name}: {trigger.type} triggers are not served by the local host "
                "(HTTP, timer and Event Grid triggers are)"
            )
    routes.sort(key=lambda r: r.template.precedence)  # stable: equal precedence keeps registration order
    return routes, timers, event_grid
