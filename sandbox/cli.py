"""``python -m sandbox.cli`` (``make run``): the whole local stack in the foreground.

Starts Azurite, the ACS emulator and the function app as one process tree, prints where
everything is and ready-to-paste curl commands, and stops all of it on Ctrl-C (or when any
part dies, naming it and showing its log tail).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.host.loading import DEFAULT_APP
from sandbox.host.server import DEFAULT_PORT
from sandbox.processes import ChildProcess, StackError, display_path
from sandbox.services import DEFAULT_WORKDIR, EMULATOR_MODULE
from sandbox.stack import LocalStack


def exports(settings: Mapping[str, str]) -> str:
    """``export NAME=value`` lines, quoted for a POSIX shell."""
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in settings.items())


def curl_commands(app_url: str, caller: str, inbox_url: str | None) -> dict[str, str]:
    """Ready-to-paste commands; ``app_url`` includes the route prefix. ``otp-$(date +%s)`` keeps each
    idempotencyId fresh without uuidgen (not on every machine)."""
    headers = f"-H 'Content-Type: application/json' -H {shlex.quote(f'X-Caller-Id: {caller}')}"
    sms = (
        '{"idempotencyId":"otp-\'"$(date +%s)"\'","recipientSms":{"phoneNumber":"+4799999999",'
        '"timeToLiveInSeconds":300,"smsSettings":{"body":"Your code is 123456. It expires in 5 minutes."}}}'
    )
    email = (
        '{"idempotencyId":"otp-email-\'"$(date +%s)"\'","recipientEmail":{"emailAddress":"user@example.com",'
        '"emailSettings":{"subject":"Your code","body":"Your code is 123456. It expires in 5 minutes.",'
        '"contentType":"Plain"}}}'
    )

    def post(route: str, body: str) -> str:
        return f"curl -sS -i -X POST '{app_url}/{route}' \\\n  {headers} \\\n  -d '{body}'"

    commands = {
        "sms": post("future/orders/instant/sms", sms),
        "email": post("future/orders/instant/email", email),
    }
    if inbox_url is not None:
        commands["inbox"] = f"curl -sS '{inbox_url}'"
    return commands


def _where(label: str, url: str, child: ChildProcess) -> str:
    return f"  {label:<15}{url}   (pid {child.pid}, log {display_path(child.log_path)})"


def summary(stack: LocalStack) -> str:
    """What is running where, the environment the stack gave the app, and curl commands."""
    lines = ["", "Local stack is up. Ctrl-C stops all of it.", ""]
    if stack.host is not None:
        lines.append(_where("Function app", stack.host.url(""), stack.host))
    else:
        lines.append("  Function app   not started (--no-app): run it yourself with the environment below")
    if stack.azurite is not None:
        lines.append(_where("Azurite Table", stack.azurite.table_endpoint, stack.azurite))
    else:
        lines.append("  Tables         from TABLES_CONNECTION_STRING / TABLES_ENDPOINT (Azurite not started)")
    inbox_url = None
    if stack.emulator is not None:
        lines.append(_where("ACS emulator", stack.emulator.endpoint, stack.emulator))
        inbox_url = stack.emulator.inbox_url
        lines.append(f"  {'Emulator inbox':<15}GET {inbox_url}")
    else:
        lines.append("  ACS            from ACS_ENDPOINT / ACS_ACCESS_KEY (emulator not started)")
    lines += ["", "Environment the function app gets from the stack (the rest is inherited):"]
    lines += [f"  {line}" for line in exports(stack.settings).splitlines()] or ["  (nothing: all set already)"]
    if stack.host is not None:
        caller = stack.app_env.get("INSTANT_DEFAULT_CALLER") or "local-dev"
        commands = curl_commands(stack.host.url(""), caller, inbox_url)
        lines += ["", "Send a passcode SMS:", commands["sms"]]
        lines += ["", "Send a passcode email:", commands["email"]]
        lines += ["", "Then watch its status (SMS_Accepted, then SMS_Delivered once the report came):"]
        lines.append(
            f"curl -sS '{stack.host.url('')}/future/shipment/<shipmentId>' -H {shlex.quote(f'X-Caller-Id: {caller}')}"
        )
        if stack.delivery_reports and stack.emulator is not None:
            lines.append(f"  (the emulator POSTs each send's delivery report to {stack.webhook_url} a second later)")
    if inbox_url is not None:
        lines += ["", "What the emulator delivered:", f"curl -sS '{inbox_url}'"]
    lines.append("")
    return "\n".join(lines)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.cli",
        description="Start Azurite, the ACS emulator and the function app; Ctrl-C stops all of it.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="function app port (%(default)s; 0 = a free port)"
    )
    parser.add_argument(
        "--no-app",
        action="store_true",
        help="start only Azurite and the emulator and print the environment for the app",
    )
    parser.add_argument("--app", default=DEFAULT_APP, help="module:attr of the app (%(default)s)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="logs go here (%(default)s)")
    parser.add_argument("--emulator-module", default=EMULATOR_MODULE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _say(*lines: str, error: bool = False) -> None:
    print(*lines, sep="\n", file=sys.stderr if error else sys.stdout, flush=True)


async def _serve(stack: LocalStack, stopping: asyncio.Task[object]) -> int:
    """Start, print the summary, run until a signal (0) or until a child dies (1)."""
    starting = asyncio.create_task(stack.start())
    await asyncio.wait({starting, stopping}, return_when="FIRST_COMPLETED")
    if not starting.done():
        _say("stack: interrupted while starting; stopping what has started", error=True)
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, StackError):
            await starting
        return 130
    if (error := starting.exception()) is not None:
        _say(f"stack: {error}", error=True)
        return 1
    if stack.host is not None:
        await stack.host.settle()  # its route list first, then the summary
    _say(summary(stack))
    exited = asyncio.create_task(stack.wait_for_exit())
    await asyncio.wait({exited, stopping}, return_when="FIRST_COMPLETED")
    if exited.done():
        child = exited.result()
        _say(
            f"stack: {child.name} exited with code {child.returncode}; stopping the rest",
            child.describe_log(),
            error=True,
        )
        return 1
    exited.cancel()
    _say("stack: stopping")
    return 0


async def run(argv: Sequence[str] | None = None) -> int:
    """The CLI: parse ``argv``, run the stack, always stop every child before returning."""
    args = _parse_args(argv)
    stack = LocalStack(
        args.workdir,
        app=args.app,
        port=args.port,
        with_app=not args.no_app,
        emulator_module=args.emulator_module,
        echo_app_output=True,
        # The emulator reports each send to the app a second later, as Event Grid would.
        delivery_reports=not args.no_app,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopping: asyncio.Task[object] = asyncio.create_task(stop.wait())
    try:
        return await _serve(stack, stopping)
    finally:
        stopping.cancel()
        await stack.stop()
        _say("stack: stopped")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sandbox.cli``."""
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(argv))
    return 130


if __name__ == "__main__":
    sys.exit(main())
