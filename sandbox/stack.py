"""The local stack from Python: Azurite (Table), the ACS emulator and the function app, as children.

Tests and the bench use ``LocalStack``; ``python -m sandbox.cli`` (``make run``) runs it in the
foreground. Settings already in the environment win: with ``TABLES_CONNECTION_STRING`` (or
``TABLES_ENDPOINT``) set, Azurite is not started; with both ``ACS_ENDPOINT`` and ``ACS_ACCESS_KEY``
set, the emulator is not.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from sandbox.host.loading import DEFAULT_APP
from sandbox.host.server import DEFAULT_PORT
from sandbox.processes import ChildProcess
from sandbox.services import (
    DEFAULT_WORKDIR,
    EMULATOR_MODULE,
    AzuriteProcess,
    EmulatorProcess,
    LocalHostProcess,
    start_azurite,
    start_emulator_process,
    start_local_host_process,
)

# Given to the app unless already set in the environment.
APP_DEFAULTS: Final[Mapping[str, str]] = {
    "SMS_DEFAULT_SENDER": "Instant",
    "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
    "INSTANT_DEFAULT_CALLER": "local-dev",
    # Plain SHA-256 digests are allowed only where a runner says it is local (instant/config.py).
    "INSTANT_LOCAL_DEVELOPMENT": "true",
}
# Where the local host takes Event Grid events for the delivery_report function (as Core Tools).
DELIVERY_REPORT_WEBHOOK: Final = "/runtime/webhooks/eventgrid?functionName=delivery_report"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """Azurite + ACS emulator (each unless configured in ``env``) + optionally the local host.

    ``async with LocalStack(workdir, with_app=False) as stack:`` starts the emulators once; then
    ``await stack.start_app(port=0)``, ``await stack.kill_app()``, ``await stack.restart_app()``
    run the function app against them as often as needed, always with ``stack.app_env``.

    With ``delivery_reports``, the emulator POSTs delivery reports ``report_delay`` seconds after
    each send to the local host's Event Grid webhook; the app's port is then fixed up front (a
    free one for port 0), since the emulator starts first and must know it.
    """

    def __init__(
        self,
        workdir: Path | str = DEFAULT_WORKDIR,
        *,
        app: str = DEFAULT_APP,
        port: int = DEFAULT_PORT,
        with_app: bool = True,
        env: Mapping[str, str] | None = None,
        emulator_module: str = EMULATOR_MODULE,
        emulator_args: Sequence[str] = (),
        echo_app_output: bool = False,
        delivery_reports: bool = False,
        report_delay: float = 1.0,
    ) -> None:
        self.workdir = Path(workdir)
        self.app = app
        self.port = port
        self.with_app = with_app
        self.base_env: dict[str, str] = dict(env if env is not None else os.environ)
        self.emulator_module = emulator_module
        self.emulator_args = tuple(emulator_args)
        self.echo_app_output = echo_app_output
        self.delivery_reports = delivery_reports
        if delivery_reports:
            self.port = port or _free_port()
            self.emulator_args += ("--webhook-url", self.webhook_url, "--webhook-delay-seconds", str(report_delay))
        # The children: None until started (or when the environment configures that service).
        self.azurite: AzuriteProcess | None = None
        self.emulator: EmulatorProcess | None = None
        self.host: LocalHostProcess | None = None

    @property
    def webhook_url(self) -> str:
        """The local host's Event Grid webhook for ``delivery_report`` on the stack's app port."""
        return f"http://127.0.0.1:{self.port}{DELIVERY_REPORT_WEBHOOK}"

    @property
    def tables_from_env(self) -> bool:
        """Whether the environment names a Table service (then Azurite is not started)."""
        return bool(self.base_env.get("TABLES_CONNECTION_STRING") or self.base_env.get("TABLES_ENDPOINT"))

    @property
    def acs_from_env(self) -> bool:
        """Whether the environment names an ACS resource (then the emulator is not started)."""
        return bool(self.base_env.get("ACS_ENDPOINT") and self.base_env.get("ACS_ACCESS_KEY"))

    @property
    def settings(self) -> dict[str, str]:
        """What the stack adds to the app's environment (on top of ``base_env``)."""
        added = {name: value for name, value in APP_DEFAULTS.items() if name not in self.base_env}
        if self.azurite is not None:
            added["TABLES_CONNECTION_STRING"] = self.azurite.connection_string
        if self.emulator is not None:
            added["ACS_ENDPOINT"] = self.emulator.endpoint
            added["ACS_ACCESS_KEY"] = self.emulator.access_key
        return added

    @property
    def app_env(self) -> dict[str, str]:
        """The complete environment the function app runs with."""
        return {**self.base_env, **self.settings}

    def children(self) -> list[ChildProcess]:
        """The children started so far."""
        return [c for c in (self.azurite, self.emulator, self.host) if c is not None]

    async def start(self) -> LocalStack:
        """Azurite and the emulator at once (unless configured), then the app if ``with_app``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        starts: list[asyncio.Task[None]] = []
        if not self.tables_from_env:
            starts.append(asyncio.create_task(self._start_azurite()))
        if not self.acs_from_env:
            starts.append(asyncio.create_task(self._start_emulator()))
        try:
            # Wait for both even if one fails, so a failure leaves no half-started child.
            results = await asyncio.gather(*starts, return_exceptions=True)
        except BaseException:
            for task in starts:
                task.cancel()
            await asyncio.gather(*starts, return_exceptions=True)
            raise
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        if self.with_app:
            await self.start_app()
        return self

    async def _start_azurite(self) -> None:
        self.azurite = await start_azurite(self.workdir)

    async def _start_emulator(self) -> None:
        self.emulator = await start_emulator_process(
            self.workdir, module=self.emulator_module, env=self.base_env, extra_args=self.emulator_args
        )

    async def start_app(self, port: int | None = None) -> LocalHostProcess:
        """The function app in a local host process, with ``app_env``; port 0 = a free port."""
        if self.host is not None and self.host.returncode is None:
            raise RuntimeError("the local host is already running; stop_app() or kill_app() first")
        self.host = await start_local_host_process(
            self.app_env,
            self.port if port is None else port,
            app=self.app,
            workdir=self.workdir,
            echo=self.echo_app_output,
        )
        return self.host

    async def stop_app(self) -> None:
        """Stop the local host gracefully (requests in flight finish)."""
        if self.host is not None:
            await self.host.stop()

    async def kill_app(self) -> None:
        """SIGKILL the local host (a crash); ``restart_app()`` brings it back on the same port."""
        if self.host is not None:
            await self.host.kill()

    async def restart_app(self, *, kill: bool = False) -> LocalHostProcess:
        """Stop (or kill) the app and start it again on the same port."""
        port = self.host.port if self.host is not None else self.port
        await (self.kill_app() if kill else self.stop_app())
        return await self.start_app(port)

    async def wait_for_exit(self) -> ChildProcess:
        """The first running child to exit (for "if any part dies, stop everything")."""
        running = [c for c in self.children() if c.returncode is None]
        if not running:
            raise RuntimeError("no running children")
        waits = {asyncio.ensure_future(c.wait()): c for c in running}
        try:
            done, _ = await asyncio.wait(waits, return_when="FIRST_COMPLETED")
        finally:
            for task in waits:
                task.cancel()
        return waits[next(iter(done))]

    async def stop(self) -> None:
        """The app first (it may still be talking to the others), then the emulators together."""
        await self.stop_app()
        await asyncio.gather(*(c.stop() for c in (self.emulator, self.azurite) if c is not None))

    async def __aenter__(self) -> LocalStack:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
