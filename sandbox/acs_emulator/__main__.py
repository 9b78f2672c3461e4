"""CLI: python -m sandbox.acs_emulator --host 127.0.0.1 --port 0 --access-key <base64>."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import signal
import sys

from .app import start_emulator


async def _serve(args: argparse.Namespace) -> None:
    emulator = await start_emulator(
        args.access_key,
        host=args.host,
        port=args.port,
        repeatability_window_seconds=args.repeatability_window_seconds,
        slow_seconds=args.slow_seconds,
        email_running_seconds=args.email_running_seconds,
        email_retry_after=args.email_retry_after,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The one line launchers wait for (the port is only known now when --port 0).
    print(f"ACS emulator listening on {emulator.base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.acs_emulator", description="Azure Communication Services emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--access-key", required=True, help="base64 access key the clients sign with")
    parser.add_argument("--repeatability-window-seconds", type=float, default=3600)
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    parser.add_argument("--email-running-seconds", type=float, default=0.2)
    parser.add_argument("--email-retry-after", default="1", help='Retry-After on email answers ("0" = none)')
    args = parser.parse_args(argv)
    try:
        base64.b64decode(args.access_key, validate=True)
    except (binascii.Error, ValueError):
        parser.error("--access-key must be base64")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
