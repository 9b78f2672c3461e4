"""Child processes of the local stack: start, follow their output, wait until ready, stop or kill.

Every child runs in its own process group (a terminal Ctrl-C reaches only the stack, which then
stops the children in order) and dies with its parent, even when the parent is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final

LOOPBACK: Final = "127.0.0.1"
START_TIMEOUT: Final = 60.0
STOP_TIMEOUT: Final = 15.0
_PR_SET_PDEATHSIG: Final = 1
_libc_path = ctypes.util.find_library("c") if sys.platform == "linux" else None
_prctl = ctypes.CDLL(_libc_path, use_errno=True).prctl if _libc_path else None


class StackError(RuntimeError):
    """A part of the stack failed to start; the message names it and shows its log tail."""


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
    """Whether something accepts TCP connections on ``host:port`` now."""
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (shorter in messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


async def spawn(
    argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None, cwd: Path
) -> asyncio.subprocess.Process:
    """Start ``argv`` with stdout and stderr on one pipe, noting the command line in ``log_path``."""
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
        process_group=0,
        preexec_fn=_die_with_parent,
    )


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
        self._ready: asyncio.Future[re.Match[str]] = asyncio.get_running_loop().create_future()
        self._last_output = asyncio.get_running_loop().time()
        self._log: IO[bytes] = log_path.open("ab")
        self._pump = asyncio.create_task(self._pump_output(), name=f"{name}-output")

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """None while it runs; negative for the signal that ended it."""
        return self.process.returncode

    @property
    def ready_match(self) -> re.Match[str]:
        """The match of the ready line (after ``wait_ready``)."""
        return self._ready.result()

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
                if self._ready_pattern is not None and not self._ready.done():
                    match = self._ready_pattern.search(text)
                    if match is not None:
                        self._ready.set_result(match)
        finally:
            self._log.close()

    async def wait(self) -> int:
        """Wait for the child to exit; its exit code."""
        return await self.process.wait()

    async def _exited_early(self, what: str) -> StackError:
        await self._drained()
        return StackError(f"{self.name} exited with code {self.returncode} {what}\n{self.describe_log()}")

    async def wait_ready(self, timeout: float = START_TIMEOUT) -> re.Match[str]:
        """The ready line's match; StackError (with the log tail) if the child exits or times out first."""
        exited: asyncio.Future[Any] = asyncio.ensure_future(self.process.wait())
        waiting: set[asyncio.Future[Any]] = {self._ready, exited}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            exited.cancel()
        if self._ready.done():
            return self._ready.result()
        if exited in done:
            raise await self._exited_early("before it was ready")
        raise StackError(f"{self.name} was not ready within {timeout:.0f}s\n{self.describe_log()}")

    async def wait_until(self, check: Callable[[], Awaitable[bool]], what: str, timeout: float = START_TIMEOUT) -> None:
        """Poll ``check`` until it is true; StackError if the child exits or ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if self.returncode is not None:
                raise await self._exited_early(f"before {what}")
            if loop.time() > deadline:
                raise StackError(f"{self.name}: not {what} within {timeout:.0f}s\n{self.describe_log()}")
            await asyncio.sleep(0.1)

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

    async def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
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
        """The last ``lines`` lines of the child's log."""
        try:
            content = self.log_path.read_bytes().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(content.splitlines()[-lines:])

    def describe_log(self, lines: int = 25) -> str:
        """The log's tail, indented, under a line naming the file."""
        tail = self.log_tail(lines)
        indented = "\n".join(f"    {line}" for line in tail.splitlines()) or "    (empty)"
        return f"  last lines of {display_path(self.log_path)}:\n{indented}"


async def until_ready(child: ChildProcess, ready: Awaitable[object]) -> None:
    """Await ``ready``; on failure or cancellation kill the child so nothing is left behind."""
    try:
        await ready
    except BaseException:
        await child.kill()
        raise
