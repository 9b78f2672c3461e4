"""Running a sandbox command line in a subprocess and reading its output, for the CLI tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


async def read_until(
    stream: asyncio.StreamReader, done: Callable[[str], bool], seen: list[str], timeout: float = 60
) -> str:
    """Collect lines into ``seen`` until one satisfies ``done``; returns that line."""

    async def read() -> str:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            seen.append(text)
            if done(text):
                return text
        raise AssertionError("output ended early:\n" + "\n".join(seen))

    return await asyncio.wait_for(read(), timeout)


async def start(*argv: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """``argv`` in the repository root, stdout and stderr on one pipe."""
    return await asyncio.create_subprocess_exec(
        *argv, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def finish(process: asyncio.subprocess.Process, seen: list[str], timeout: float = 30) -> int:
    """Read the rest of the output into ``seen`` and wait for the exit code."""
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), timeout)
    seen.extend(rest.decode(errors="replace").splitlines())
    return await asyncio.wait_for(process.wait(), timeout)


def port_of(url: str) -> int:
    """The port of ``http://host:port[/...]``."""
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])
