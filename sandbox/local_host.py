"""Local Functions host: ``python -m sandbox.local_host`` serves the functions a ``FunctionApp`` registers.

Azure Functions Core Tools cannot be installed on our machines, so this stands in for
``func start``: it indexes the app the way the Python worker does (``FunctionApp.get_functions()``),
so there is no second routing table to keep in sync, and serves it with aiohttp on ONE asyncio
loop, the loop the app's aio SDK clients are bound to. The parts live in ``sandbox/host/``:
loading (the app, host.json), routes, functions (what is served and what is refused), limits
(the Functions host's request limits), exchange (request and answer conversion) and server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from sandbox.host.functions import UnsupportedFunction
from sandbox.host.limits import AZURE_LIMITS, HostLimits
from sandbox.host.loading import (
    DEFAULT_APP,
    default_host_json,
    load_function_app,
    load_lifecycle_hooks,
    read_route_prefix,
)
from sandbox.host.server import DEFAULT_HOST, DEFAULT_PORT, serve

log = logging.getLogger("sandbox.local_host")

READY_LINE: Final = "Local Functions host listening on {base_url}"


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
        default=AZURE_LIMITS.max_request_body_size,
        help="larger request bodies get 413 from the host (default %(default)s, as in Azure)",
    )
    parser.add_argument(
        "--headers-timeout",
        type=float,
        default=AZURE_LIMITS.request_headers_timeout,
        help="seconds for a request's headers to arrive (default %(default)s)",
    )
    parser.add_argument(
        "--min-body-rate",
        type=float,
        default=AZURE_LIMITS.min_request_body_data_rate,
        help="minimum body bytes/s after the grace period, else 408 (default %(default)s)",
    )
    parser.add_argument(
        "--body-grace",
        type=float,
        default=AZURE_LIMITS.min_request_body_grace,
        help="seconds before the minimum body rate applies (default %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO", help="Python log level (default %(default)s)")
    return parser.parse_args(argv)


def _limits(args: argparse.Namespace) -> HostLimits:
    return HostLimits(
        request_headers_timeout=args.headers_timeout,
        min_request_body_data_rate=args.min_body_rate,
        min_request_body_grace=args.body_grace,
        max_request_body_size=args.max_body_bytes,
    )


def _print(line: str) -> None:
    print(line, flush=True)


async def _run(args: argparse.Namespace) -> int:
    # Imported inside the running loop: anything the app binds to "the" loop at import gets this one.
    function_app = load_function_app(args.app)
    on_startup, on_shutdown = load_lifecycle_hooks(args.app)
    host_json = args.host_json or default_host_json(args.app)
    route_prefix = args.route_prefix if args.route_prefix is not None else read_route_prefix(host_json)
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
        limits=_limits(args),
    )
    _print(READY_LINE.format(base_url=running.base_url))
    for route in running.routes:
        _print(f"  {route.describe()}")
    for timer in running.timers:
        _print(f"  {timer.describe()}; run it once: POST {running.base_url}/admin/functions/{timer.function_name}")
    for function in running.event_grid:
        _print(f"  {function.describe()}")
    await stop.wait()
    log.info("stopping: no new connections, finishing requests in flight")
    await running.stop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
    log.info("stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the host until SIGINT/SIGTERM; 0 after a clean stop, 2 for an app it cannot serve."""
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
    try:
        return asyncio.run(_run(args))
    except UnsupportedFunction as exc:
        # Refused loudly: serving it differently from Azure would be worse than not serving it.
        log.error("cannot serve %s: %s", args.app, exc)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
