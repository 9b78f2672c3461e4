"""CLI: python -m sandbox.acs_emulator --access-key <base64> [--fast] [--sms-sender ...] [--email-sender ...]."""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import signal
import sys

from .app import start_emulator
from .state import REPEATABILITY_WINDOW_SECONDS
from .timing import PRESETS, TIMING_ENV


async def _serve(args: argparse.Namespace) -> None:
    emulator = await start_emulator(
        args.access_key,
        host=args.host,
        port=args.port,
        timing="fast" if args.fast else args.timing,
        sms_senders=args.sms_sender,
        email_senders=args.email_sender,
        repeatability_window_seconds=args.repeatability_window_seconds,
        sms_repeat_refusal=args.sms_repeat_refusal,
        slow_seconds=args.slow_seconds,
        email_running_seconds=args.email_running_seconds,
        email_retry_after=args.email_retry_after,
        webhook_url=args.webhook_url,
        webhook_delay_seconds=args.webhook_delay_seconds,
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


def build_parser() -> argparse.ArgumentParser:
    """The emulator's command line; defaults are the recorded ACS behaviour."""
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.acs_emulator", description="Azure Communication Services emulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--access-key", required=True, help="base64 access key the clients sign with")
    parser.add_argument(
        "--timing", choices=sorted(PRESETS), default=None, help=f"default: ${TIMING_ENV}, else realistic"
    )
    parser.add_argument("--fast", action="store_true", help="same as --timing fast (unit-speed tests)")
    parser.add_argument(
        "--sms-sender", action="append", default=None, help="an owned SMS sender (repeatable; default: Instant)"
    )
    parser.add_argument(
        "--email-sender",
        action="append",
        default=None,
        help="an owned sender address or domain (repeatable; default: instant.example.com)",
    )
    parser.add_argument("--repeatability-window-seconds", type=float, default=REPEATABILITY_WINDOW_SECONDS)
    parser.add_argument("--sms-repeat-refusal", choices=("item", "request"), default="item")
    parser.add_argument("--slow-seconds", type=float, default=None, help="override the timing preset")
    parser.add_argument("--email-running-seconds", type=float, default=None, help="override the timing preset")
    parser.add_argument("--email-retry-after", default=None, help="override the timing preset")
    parser.add_argument("--webhook-url", default=None, help="POST Event Grid delivery reports here (default: off)")
    parser.add_argument("--webhook-delay-seconds", type=float, default=1.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until SIGTERM/SIGINT."""
    parser = build_parser()
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
