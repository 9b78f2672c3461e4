"""Finding and indexing the ``FunctionApp`` and reading host.json, as the Functions host does."""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from azure.functions.decorators.function_app import Function, FunctionRegister

DEFAULT_APP: Final = "function_app:app"
DEFAULT_ROUTE_PREFIX: Final = "api"
STARTUP_HOOK: Final = "on_local_host_startup"
SHUTDOWN_HOOK: Final = "on_local_host_shutdown"

Hook = Callable[[], Any]


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
