"""The whole local stack in the foreground: Azurite (Table), the ACS emulator and the function app.

``python -m sandbox.stack`` starts them as one process tree, prints where everything is and
ready-to-paste curl commands, and stops all of it on Ctrl-C (or when any part dies, naming it and
showing its log tail). Tests and the bench use the same pieces from Python: ``LocalStack``, or
``start_azurite`` / ``start_emulator_process`` / ``start_local_host_process`` one by one.

Settings already in the environment win: with ``TABLES_CONNECTION_STRING`` (or ``TABLES_ENDPOINT``)
set, Azurite is not started; with both ``ACS_ENDPOINT`` and ``ACS_ACCESS_KEY`` set, the emulator is not.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import ctypes.util
import os
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from sandbox import local_host

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR: Final = REPO_ROOT / ".stack"
AZURITE_TABLE_BIN: Final = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
LOOPBACK: Final = "127.0.0.1"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT: Final = "devstoreaccount1"
AZURITE_ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Local-only key shared by the ACS emulator and the app; it unlocks nothing outside this machine.
LOCAL_ACS_ACCESS_KEY: Final = base64.b64encode(b"instant-local-acs-emulator-key!!").decode()
EMULATOR_MODULE: Final = "sandbox.acs_emulator"

# Given to the app unless already set in the environment.
APP_DEFAULTS: Final[Mapping[str, str]] = {
    "SMS_DEFAULT_SENDER": "Instant",
    "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
    "INSTANT_DEFAULT_CALLER": "local-dev",
}

_EMULATOR_READY: Final = re.compile(r"ACS emulator listening on (?P<url>http://\S+)")
_HOST_READY: Final = re.compile(re.escape(local_host.READY_LINE.split("{", 1)[0]) + r"(?P<url>http://\S+)")
_START_TIMEOUT: Final = 60.0
_STOP_TIMEOUT: Final = 15.0


class StackError(RuntimeError):
    """A part of the stack failed to start; the message names it and shows its log tail."""


# --------------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------------

_PR_SET_PDEATHSIG: Final = 1
_libc_path = ctypes.util.find_library("c") if sys.platform == "linux" else None
_prctl = ctypes.CDLL(_libc_path, use_errno=True).prctl if _libc_path else None


def _die_with_parent() -> None:
    """Runs in the child before exec: if the stack (or pytest) is SIGKILLed, the child goes too."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port(host: str = LOOPBACK) -> int:
    """A port that is free now (for programs that cannot be told to pick one and report it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def port_answers(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class ChildProcess:
    """A started child: its output goes, line by line, to ``log_path`` (and the console if echoed)."""

    def __init__(
        self,
        name: str,
        process: asyncio.subprocess.Process,
        log_path: Path,
        *,
        echo_prefix: str | None = None,
        ready: re.Pattern[str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.process = process
        self.log_path = log_path
        self._echo_prefix = echo_prefix
        self._ready_pattern = ready
        self.ready: asyncio.Future[re.Match[str]] = asyncio.get_running_loop().create_future()
        self._last_output = asyncio.get_running_loop().time()
        self._log: IO[bytes] = log_path.open("ab")
        self._pump = asyncio.create_task(self._pump_output(), name=f"{name}-output")

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    async def _pump_output(self) -> None:
        # Always drained: a child blocked on a full pipe would look like a hang.
        stream = self.process.stdout
        assert stream is not None
        try:
            while line := await stream.readline():
                self._log.write(line)
                self._log.flush()
                self._last_output = asyncio.get_running_loop().time()
                text = line.decode(errors="replace").rstrip("\r\n")
                if self._echo_prefix is not None:
                    print(f"{self._echo_prefix}{text}", flush=True)
                if self._ready_pattern is not None and not self.ready.done():
                    match = self._ready_pattern.search(text)
                    if match is not None:
                        self.ready.set_result(match)
        finally:
            self._log.close()

    async def wait(self) -> int:
        return await self.process.wait()

    async def wait_ready(self, timeout: float = _START_TIMEOUT) -> re.Match[str]:
        """The ready line's match; StackError (with the log tail) if the child exits or times out first."""
        exited: asyncio.Future[Any] = asyncio.ensure_future(self.process.wait())
        waiting: set[asyncio.Future[Any]] = {self.ready, exited}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            exited.cancel()
        if self.ready.done():
            return self.ready.result()
        if exited in done:
            await self._drained()
            raise StackError(
                f"{self.name} exited with code {self.returncode} before it was ready\n{self.describe_log()}"
            )
        raise StackError(f"{self.name} was not ready within {timeout:.0f}s\n{self.describe_log()}")

    async def settle(self, quiet: float = 0.2, limit: float = 2.0) -> None:
        """Wait until the child has been quiet for ``quiet`` s (start-up lines out), at most ``limit``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        for _ in range(int(limit / quiet) + 1):  # bounded: a chatty child must not hold up the summary
            now = loop.time()
            if now >= deadline or now - self._last_output >= quiet:
                return
            await asyncio.sleep(quiet - (now - self._last_output))

    async def _drained(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._pump), 5)

    async def stop(self, timeout: float = _STOP_TIMEOUT) -> int | None:
        """SIGTERM (or the child's stop signal), wait while it finishes, SIGKILL if that takes too long."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(self.stop_signal)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        await self._drained()
        return self.process.returncode

    async def kill(self) -> int:
        """SIGKILL: a crash, for tests that check what survives one."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        code = await self.process.wait()
        await self._drained()
        return code

    def log_tail(self, lines: int = 25) -> str:
        try:
            content = self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(content.splitlines()[-lines:])

    def describe_log(self, lines: int = 25) -> str:
        tail = self.log_tail(lines)
        indented = "\n".join(f"    {line}" for line in tail.splitlines()) or "    (empty)"
        return f"  last lines of {_display_path(self.log_path)}:\n{indented}"


class AzuriteProcess(ChildProcess):
    host: str
    port: int

    @property
    def table_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.host, self.port)


class EmulatorProcess(ChildProcess):
    endpoint: str
    access_key: str

    @property
    def inbox_url(self) -> str:
        return f"{self.endpoint}/_emulator/inbox"


class LocalHostProcess(ChildProcess):
    base_url: str
    port: int
    env: dict[str, str]
    app: str
    route_prefix: str

    def url(self, route: str) -> str:
        """Absolute URL of a function route (the part after the route prefix)."""
        path = "/".join(p for p in (self.route_prefix.strip("/"), route.strip("/")) if p)
        return f"{self.base_url}/{path}"


def azurite_connection_string(host: str, port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_ACCOUNT_KEY};"
        f"TableEndpoint=http://{host}:{port}/{AZURITE_ACCOUNT};"
    )


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


async def _spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None,
    cwd: Path,
) -> asyncio.subprocess.Process:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"===== {stamp} starting: {shlex.join(argv)}\n".encode())
    return await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        # Own process group: a terminal Ctrl-C reaches only the stack, which then stops the
        # children in order (app first, so it can finish requests against the emulators).
        process_group=0,
        preexec_fn=_die_with_parent,
    )


async def _started(child: ChildProcess, ready: asyncio.Future[object]) -> None:
    """Wait for ``ready``; on failure or cancellation kill the child so nothing is left behind."""
    try:
        await ready
    except BaseException:
        await child.kill()
        raise


async def start_azurite(
    workdir: Path | str = DEFAULT_WORKDIR,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    location: Path | str | None = None,
    timeout: float = _START_TIMEOUT,
    echo: bool = False,
) -> AzuriteProcess:
    """Azurite's Table service, output in ``<workdir>/azurite.log``; port 0 = a free port.

    In memory by default; with ``location`` its data is kept in that folder, so a restart on the
    same ``port`` and ``location`` finds the tables and entities again (as a storage outage would).
    """
    workdir = Path(workdir)
    port = port or free_port(host)
    persistence = ["--inMemoryPersistence"] if location is None else ["--location", str(location)]
    argv = [
        str(AZURITE_TABLE_BIN),
        *persistence,
        "--disableTelemetry",
        "--tableHost",
        host,
        "--tablePort",
        str(port),
    ]
    workdir.mkdir(parents=True, exist_ok=True)
    process = await _spawn(argv, log_path=workdir / "azurite.log", env=None, cwd=workdir)
    # Azurite closes cleanly on SIGINT only; SIGTERM would just kill node.
    child = AzuriteProcess(
        "azurite",
        process,
        workdir / "azurite.log",
        echo_prefix="azurite | " if echo else None,
        stop_signal=signal.SIGINT,
    )
    child.host, child.port = host, port

    async def answers() -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await port_answers(host, port):
            if process.returncode is not None:
                await child._drained()
                raise StackError(f"azurite exited with code {process.returncode}\n{child.describe_log()}")
            if asyncio.get_running_loop().time() > deadline:
                raise StackError(f"azurite did not answer on {host}:{port} within {timeout:.0f}s")
            await asyncio.sleep(0.1)

    await _started(child, asyncio.ensure_future(answers()))
    return child


async def start_emulator_process(
    workdir: Path | str = DEFAULT_WORKDIR,
    *,
    access_key: str = LOCAL_ACS_ACCESS_KEY,
    host: str = LOOPBACK,
    port: int = 0,
    module: str = EMULATOR_MODULE,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
    timeout: float = _START_TIMEOUT,
    echo: bool = False,
) -> EmulatorProcess:
    """``python -m sandbox.acs_emulator``; output in ``<workdir>/acs-emulator.log``."""
    workdir = Path(workdir)
    argv = [python, "-m", module, "--host", host, "--port", str(port), "--access-key", access_key, *extra_args]
    child_env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    log_path = workdir / "acs-emulator.log"
    process = await _spawn(argv, log_path=log_path, env=child_env, cwd=REPO_ROOT)
    child = EmulatorProcess(
        "acs-emulator",
        process,
        log_path,
        echo_prefix="acs-emulator | " if echo else None,
        ready=_EMULATOR_READY,
    )
    await _started(child, asyncio.ensure_future(child.wait_ready(timeout)))
    child.endpoint = child.ready.result()["url"].rstrip("/")
    child.access_key = access_key
    return child


async def start_local_host_process(
    env: Mapping[str, str],
    port: int = local_host.DEFAULT_PORT,
    *,
    app: str = local_host.DEFAULT_APP,
    host: str = LOOPBACK,
    workdir: Path | str = DEFAULT_WORKDIR,
    python: str = sys.executable,
    extra_args: Sequence[str] = (),
    timeout: float = _START_TIMEOUT,
    echo: bool = False,
) -> LocalHostProcess:
    """``python -m sandbox.local_host`` with exactly ``env``; output in ``<workdir>/local-host.log``.

    Port 0 = a free port (``.port`` tells which); restart on the same ``.port`` after a kill.
    """
    workdir = Path(workdir)
    argv = [python, "-m", "sandbox.local_host", "--app", app, "--host", host, "--port", str(port), *extra_args]
    child_env = {**env, "PYTHONUNBUFFERED": "1"}
    log_path = workdir / "local-host.log"
    process = await _spawn(argv, log_path=log_path, env=child_env, cwd=REPO_ROOT)
    child = LocalHostProcess("local-host", process, log_path, echo_prefix="app | " if echo else None, ready=_HOST_READY)
    await _started(child, asyncio.ensure_future(child.wait_ready(timeout)))
    child.base_url = child.ready.result()["url"].rstrip("/")
    child.port = int(child.base_url.rsplit(":", 1)[1])
    child.env, child.app = dict(child_env), app
    child.route_prefix = _route_prefix(app)
    return child


def _route_prefix(app: str) -> str:
    try:
        return local_host.read_route_prefix(local_host.default_host_json(app))
    except (ImportError, ValueError, OSError):
        return local_host.read_route_prefix(REPO_ROOT / "host.json")


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------


class LocalStack:
    """Azurite + ACS emulator (each unless configured in ``env``) + optionally the local host.

    ``async with LocalStack(workdir, with_app=False) as stack:`` starts the emulators once; then
    ``await stack.start_app(port=0)``, ``await stack.kill_app()``, ``await stack.restart_app()``
    run the function app against them as often as needed, always with ``stack.app_env``.
    """

    def __init__(
        self,
        workdir: Path | str = DEFAULT_WORKDIR,
        *,
        app: str = local_host.DEFAULT_APP,
        port: int = local_host.DEFAULT_PORT,
        with_app: bool = True,
        env: Mapping[str, str] | None = None,
        emulator_module: str = EMULATOR_MODULE,
        emulator_args: Sequence[str] = (),
        echo_app_output: bool = False,
    ) -> None:
        self.workdir = Path(workdir)
        self.app = app
        self.port = port
        self.with_app = with_app
        self.base_env: dict[str, str] = dict(env if env is not None else os.environ)
        self.emulator_module = emulator_module
        self.emulator_args = tuple(emulator_args)
        self.echo_app_output = echo_app_output
        self.azurite: AzuriteProcess | None = None
        self.emulator: EmulatorProcess | None = None
        self.host: LocalHostProcess | None = None
        # What the stack adds to the app's environment (on top of base_env).
        self.settings: dict[str, str] = {}

    @property
    def tables_from_env(self) -> bool:
        return bool(self.base_env.get("TABLES_CONNECTION_STRING") or self.base_env.get("TABLES_ENDPOINT"))

    @property
    def acs_from_env(self) -> bool:
        return bool(self.base_env.get("ACS_ENDPOINT") and self.base_env.get("ACS_ACCESS_KEY"))

    @property
    def app_env(self) -> dict[str, str]:
        """The complete environment the function app runs with."""
        return {**self.base_env, **self.settings}

    def children(self) -> list[ChildProcess]:
        return [c for c in (self.azurite, self.emulator, self.host) if c is not None]

    async def start(self) -> LocalStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        starts: list[asyncio.Task[None]] = []
        if not self.tables_from_env:
            starts.append(asyncio.create_task(self._start_azurite()))
        if not self.acs_from_env:
            starts.append(asyncio.create_task(self._start_emulator()))
        try:
            # Both at once; wait for both even if one fails, so a failure leaves no half-started child.
            results = await asyncio.gather(*starts, return_exceptions=True)
        except BaseException:
            for task in starts:
                task.cancel()
            await asyncio.gather(*starts, return_exceptions=True)
            raise
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        for name, value in APP_DEFAULTS.items():
            # Empty counts as unset, as for the Tables/ACS settings: the app rejects empty values anyway.
            if name not in self.base_env:  # an explicit empty value means "unset" on purpose
                self.settings[name] = value
        if self.with_app:
            await self.start_app()
        return self

    async def _start_azurite(self) -> None:
        self.azurite = await start_azurite(self.workdir)
        self.settings["TABLES_CONNECTION_STRING"] = self.azurite.connection_string

    async def _start_emulator(self) -> None:
        self.emulator = await start_emulator_process(
            self.workdir, module=self.emulator_module, env=self.base_env, extra_args=self.emulator_args
        )
        self.settings["ACS_ENDPOINT"] = self.emulator.endpoint
        self.settings["ACS_ACCESS_KEY"] = self.emulator.access_key

    async def start_app(self, port: int | None = None) -> LocalHostProcess:
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
        if self.host is not None:
            await self.host.stop()

    async def kill_app(self) -> None:
        """SIGKILL the local host (a crash); ``restart_app()`` brings it back on the same port."""
        if self.host is not None:
            await self.host.kill()

    async def restart_app(self, *, kill: bool = False) -> LocalHostProcess:
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


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def exports(settings: Mapping[str, str]) -> str:
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


def summary(stack: LocalStack) -> str:
    lines = ["", "Local stack is up. Ctrl-C stops all of it.", ""]

    def where(label: str, url: str, child: ChildProcess) -> str:
        return f"  {label:<15}{url}   (pid {child.pid}, log {_display_path(child.log_path)})"

    if stack.host is not None:
        app_url = stack.host.url("")
        lines.append(where("Function app", app_url, stack.host))
    else:
        lines.append("  Function app   not started (--no-app): run it yourself with the environment below")
    if stack.azurite is not None:
        lines.append(where("Azurite Table", stack.azurite.table_endpoint, stack.azurite))
    else:
        lines.append("  Tables         from TABLES_CONNECTION_STRING / TABLES_ENDPOINT (Azurite not started)")
    inbox_url = None
    if stack.emulator is not None:
        lines.append(where("ACS emulator", stack.emulator.endpoint, stack.emulator))
        inbox_url = stack.emulator.inbox_url
        lines.append(f"  {'Emulator inbox':<15}GET {inbox_url}")
    else:
        lines.append("  ACS            from ACS_ENDPOINT / ACS_ACCESS_KEY (emulator not started)")
    lines += ["", "Environment the function app gets from the stack (the rest is inherited):"]
    exported = [f"  {line}" for line in exports(stack.settings).splitlines()]
    lines += exported or ["  (nothing: all set already)"]
    if stack.host is not None:
        caller = stack.app_env.get("INSTANT_DEFAULT_CALLER") or "local-dev"
        commands = curl_commands(stack.host.url(""), caller, inbox_url)
        lines += ["", "Send a passcode SMS:", commands["sms"]]
        lines += ["", "Send a passcode email:", commands["email"]]
        if "inbox" in commands:
            lines += ["", "What the emulator delivered:", commands["inbox"]]
    elif inbox_url is not None:
        lines += ["", "What the emulator delivered:", f"curl -sS '{inbox_url}'"]
    lines.append("")
    return "\n".join(lines)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.stack",
        description="Start Azurite, the ACS emulator and the function app; Ctrl-C stops all of it.",
    )
    parser.add_argument(
        "--port", type=int, default=local_host.DEFAULT_PORT, help="function app port (%(default)s; 0 = a free port)"
    )
    parser.add_argument(
        "--no-app",
        action="store_true",
        help="start only Azurite and the emulator and print the environment for the app",
    )
    parser.add_argument("--app", default=local_host.DEFAULT_APP, help="module:attr of the app (%(default)s)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="logs go here (%(default)s)")
    parser.add_argument("--emulator-module", default=EMULATOR_MODULE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def run(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    stack = LocalStack(
        args.workdir,
        app=args.app,
        port=args.port,
        with_app=not args.no_app,
        emulator_module=args.emulator_module,
        echo_app_output=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopping = asyncio.create_task(stop.wait())
    starting = asyncio.create_task(stack.start())
    try:
        await asyncio.wait({starting, stopping}, return_when="FIRST_COMPLETED")
        if not starting.done():
            print("stack: interrupted while starting; stopping what has started", file=sys.stderr, flush=True)
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, StackError):
                await starting
            return 130
        if (error := starting.exception()) is not None:
            print(f"stack: {error}", file=sys.stderr, flush=True)
            return 1
        if stack.host is not None:
            await stack.host.settle()  # its route list first, then the summary
        print(summary(stack), flush=True)
        exited = asyncio.create_task(stack.wait_for_exit())
        await asyncio.wait({exited, stopping}, return_when="FIRST_COMPLETED")
        if exited.done():
            child = exited.result()
            print(
                f"stack: {child.name} exited with code {child.returncode}; stopping the rest",
                child.describe_log(),
                sep="\n",
                file=sys.stderr,
                flush=True,
            )
            return 1
        exited.cancel()
        print("stack: stopping", flush=True)
        return 0
    finally:
        stopping.cancel()
        await stack.stop()
        print("stack: stopped", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(argv))
    return 130


if __name__ == "__main__":
    sys.exit(main())
