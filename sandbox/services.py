"""The three programs of the local stack, each started as a child: Azurite, the ACS emulator, the app.

What each child is (endpoint, connection string, URL) is known from its constructor arguments or
its ready line; nothing is filled in after it is built.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from sandbox.host.loading import DEFAULT_APP, default_host_json, read_route_prefix
from sandbox.host.server import DEFAULT_PORT
from sandbox.local_host import READY_LINE
from sandbox.processes import LOOPBACK, START_TIMEOUT, ChildProcess, free_port, port_answers, spawn, until_ready

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR: Final = REPO_ROOT / ".stack"
AZURITE_TABLE_BIN: Final = REPO_ROOT / "node_modules" / ".bin" / "azurite-table"
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT: Final = "devstoreaccount1"
AZURITE_ACCOUNT_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# Local-only key shared by the ACS emulator and the app; it unlocks nothing outside this machine.
LOCAL_ACS_ACCESS_KEY: Final = base64.b64encode(b"instant-local-acs-emulator-key!!").decode()
EMULATOR_MODULE: Final = "sandbox.acs_emulator"

_EMULATOR_READY: Final = re.compile(r"ACS emulator listening on (?P<url>http://\S+)")
_HOST_READY: Final = re.compile(re.escape(READY_LINE.split("{", 1)[0]) + r"(?P<url>http://\S+)")


def azurite_connection_string(host: str, port: int) -> str:
    """The connection string of Azurite's development account at ``host:port``."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_ACCOUNT_KEY};"
        f"TableEndpoint=http://{host}:{port}/{AZURITE_ACCOUNT};"
    )


class AzuriteProcess(ChildProcess):
    """Azurite's Table service on ``host:port``."""

    def __init__(
        self, process: asyncio.subprocess.Process, log_path: Path, *, host: str, port: int, echo: bool
    ) -> None:
        # Azurite closes cleanly on SIGINT only; SIGTERM would just kill node.
        super().__init__(
            "azurite", process, log_path, echo_prefix="azurite | " if echo else None, stop_signal=signal.SIGINT
        )
        self.host = host
        self.port = port

    @property
    def table_endpoint(self) -> str:
        """The Table endpoint of the development account."""
        return f"http://{self.host}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        """A connection string for azure-data-tables."""
        return azurite_connection_string(self.host, self.port)


class EmulatorProcess(ChildProcess):
    """``python -m sandbox.acs_emulator``; its endpoint comes from its ready line."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path, *, access_key: str, echo: bool) -> None:
        echo_prefix = "acs-emulator | " if echo else None
        super().__init__("acs-emulator", process, log_path, echo_prefix=echo_prefix, ready=_EMULATOR_READY)
        self.access_key = access_key

    @property
    def endpoint(self) -> str:
        """The emulator's base URL, as the ACS SDKs want it (no trailing slash)."""
        return self.ready_match["url"].rstrip("/")

    @property
    def inbox_url(self) -> str:
        """What the emulator delivered: ``GET`` this."""
        return f"{self.endpoint}/_emulator/inbox"


class LocalHostProcess(ChildProcess):
    """``python -m sandbox.local_host``; its URL comes from its ready line."""

    def __init__(
        self, process: asyncio.subprocess.Process, log_path: Path, *, env: Mapping[str, str], app: str, echo: bool
    ) -> None:
        super().__init__("local-host", process, log_path, echo_prefix="app | " if echo else None, ready=_HOST_READY)
        self.env = dict(env)
        self.app = app
        self.route_prefix = _route_prefix(app)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running host."""
        return self.ready_match["url"].rstrip("/")

    @property
    def port(self) -> int:
        """The port it listens on (a restart on this port finds the same URL)."""
        return int(self.base_url.rsplit(":", 1)[1])

    def url(self, route: str) -> str:
        """Absolute URL of a function route (the part after the route prefix)."""
        path = "/".join(p for p in (self.route_prefix.strip("/"), route.strip("/")) if p)
        return f"{self.base_url}/{path}"


def _route_prefix(app: str) -> str:
    try:
        return read_route_prefix(default_host_json(app))
    except (ImportError, ValueError, OSError):
        return read_route_prefix(REPO_ROOT / "host.json")


async def start_azurite(
    workdir: Path | str = DEFAULT_WORKDIR,
    *,
    host: str = LOOPBACK,
    port: int = 0,
    location: Path | str | None = None,
    timeout: float = START_TIMEOUT,
    echo: bool = False,
) -> AzuriteProcess:
    """Azurite's Table service, output in ``<workdir>/azurite.log``; port 0 = a free port.

    In memory by default; with ``location`` its data is kept in that folder, so a restart on the
    same ``port`` and ``location`` finds the tables and entities again (as a storage outage would).
    """
    workdir = Path(workdir)
    port = port or free_port(host)
    persistence = ["--inMemoryPersistence"] if location is None else ["--location", str(location)]
    argv = [str(AZURITE_TABLE_BIN), *persistence, "--disableTelemetry", "--tableHost", host, "--tablePort", str(port)]
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "azurite.log"
    process = await spawn(argv, log_path=log_path, env=None, cwd=workdir)
    child = AzuriteProcess(process, log_path, host=host, port=port, echo=echo)
    await until_ready(child, child.wait_until(lambda: port_answers(host, port), f"answering on {port}", timeout))
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
    timeout: float = START_TIMEOUT,
    echo: bool = False,
) -> EmulatorProcess:
    """``python -m sandbox.acs_emulator``; output in ``<workdir>/acs-emulator.log``."""
    log_path = Path(workdir) / "acs-emulator.log"
    argv = [python, "-m", module, "--host", host, "--port", str(port), "--access-key", access_key, *extra_args]
    child_env = {**(env if env is not None else os.environ), "PYTHONUNBUFFERED": "1"}
    process = await spawn(argv, log_path=log_path, env=child_env, cwd=REPO_ROOT)
    child = EmulatorProcess(process, log_path, access_key=access_key, echo=echo)
    await until_ready(child, child.wait_ready(timeout))
    return child


async def start_local_host_process(
    env: Mapping[str, str],
    port: int = DEFAULT_PORT,
    *,
    app: str = DEFAULT_APP,
    host: str = LOOPBACK,
    workdir: Path | str = DEFAULT_WORKDIR,
    python: str = sys.executable,
    extra_args: Sequence[str] = (),
    timeout: float = START_TIMEOUT,
    echo: bool = False,
) -> LocalHostProcess:
    """``python -m sandbox.local_host`` with exactly ``env``; output in ``<workdir>/local-host.log``.

    Port 0 = a free port (``.port`` tells which); restart on the same ``.port`` after a kill.
    """
    log_path = Path(workdir) / "local-host.log"
    argv = [python, "-m", "sandbox.local_host", "--app", app, "--host", host, "--port", str(port), *extra_args]
    child_env = {**env, "PYTHONUNBUFFERED": "1"}
    process = await spawn(argv, log_path=log_path, env=child_env, cwd=REPO_ROOT)
    child = LocalHostProcess(process, log_path, env=child_env, app=app, echo=echo)
    await until_ready(child, child.wait_ready(timeout))
    return child
