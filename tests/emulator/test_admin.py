"""The admin API, shutdown and the command line."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ServiceRequestError,
)

from sandbox.acs_emulator import RunningEmulator, start_emulator
from tests.emulator.helpers import (
    ACCESS_KEY,
    FROM,
    NORMAL,
    REPO_ROOT,
    email_message,
    inbox,
)

# --------------------------------------------------------------------------- admin API and CLI


async def test_inbox_filter_and_clear(
    sms_client: SmsClient, email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    await sms_client.send(FROM, [NORMAL, "+4798765432"], "x")
    await (await email_client.begin_send(email_message("d@example.com"), polling_interval=0.05)).result()
    assert [m["to"] for m in (await inbox(http, emulator, to=NORMAL))["sms"]] == [NORMAL]
    assert (await inbox(http, emulator, to=NORMAL))["email"] == []
    assert len((await inbox(http, emulator))["sms"]) == 2
    async with http.delete(f"{emulator.base_url}/_emulator/inbox") as resp:
        assert resp.status == 200
    assert await inbox(http, emulator) == {"sms": [], "email": []}
    async with http.get(f"{emulator.base_url}/_emulator/requests") as resp:
        assert await resp.json() == []
    async with http.get(f"{emulator.base_url}/_emulator/health") as resp:
        assert resp.status == 200


async def test_stop_releases_hanging_requests() -> None:
    running = await start_emulator(ACCESS_KEY, timing="fast", sms_senders=[FROM])
    async with SmsClient(running.base_url, AzureKeyCredential(ACCESS_KEY), retry_total=0, read_timeout=5) as client:
        pending = asyncio.ensure_future(client.send(FROM, "+4790000005", "x"))
        for _ in range(200):  # until the emulator holds the request open
            if running.state.pending:
                break
            await asyncio.sleep(0.01)
        assert running.state.pending == 1
        started = time.monotonic()
        await running.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(ServiceRequestError, match="disconnected"):
            await pending


async def test_cli_prints_url_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.acs_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--access-key",
        ACCESS_KEY,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        prefix = "ACS emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix)
        base_url = line.strip().removeprefix("ACS emulator listening on ")
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_emulator/health") as resp:
            assert resp.status == 200
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=10)
        assert process.returncode == 0
        assert stdout == b""  # exactly one line was printed
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
