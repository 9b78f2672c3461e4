"""``python -m sandbox.local_host``: starts, lists what it serves, stops on SIGTERM, refuses what it cannot serve."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from sandbox.processes import port_answers
from tests.sandbox import toy_app
from tests.support.processes import finish, port_of, read_until, start

TOY_APP = "tests.sandbox.toy_app:app"
PREFIX = "toy/api/v1"


@pytest.fixture
def host_json(tmp_path: Path) -> Path:
    path = tmp_path / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": PREFIX}}}))
    return path


async def test_cli_starts_serves_and_stops_on_sigterm(host_json: Path) -> None:
    argv = ["--app", TOY_APP, "--port", "0", "--host-json", str(host_json)]
    process = await start(
        sys.executable, "-m", "sandbox.local_host", *argv, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        ready = await read_until(process.stdout, lambda line: "listening on" in line, seen)
        match = re.fullmatch(r"Local Functions host listening on (http://127\.0\.0\.1:\d+)", ready)
        assert match is not None, ready
        base_url = match[1]
        await read_until(process.stdout, lambda line: line.startswith("  timer trigger nightly"), seen)
        assert f"  POST,PUT /{PREFIX}/orders -> create_order" in seen
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/{PREFIX}/problem") as resp:
            assert resp.status == 422
            assert await resp.read() == toy_app.PROBLEM_BODY
        process.send_signal(signal.SIGTERM)
        assert await finish(process, seen) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert seen[0] == "toy app: startup hook ran"
    assert sum("listening on" in line for line in seen) == 1
    assert "toy app: shutdown hook ran" in seen
    assert any(re.search(rf"GET /{PREFIX}/problem 422 ", line) for line in seen)
    assert not await port_answers("127.0.0.1", port_of(base_url))


async def test_cli_refuses_an_app_it_cannot_serve_like_azure() -> None:
    argv = ["--app", "tests.sandbox.refused_app:app", "--port", "0"]
    process = await start(
        sys.executable, "-m", "sandbox.local_host", *argv, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    seen: list[str] = []
    try:
        assert await finish(process, seen) == 2
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not any("listening on" in line for line in seen)
    assert any(
        "cannot serve tests.sandbox.refused_app:app: function item: route 'items/{id:foo}'" in line for line in seen
    )
