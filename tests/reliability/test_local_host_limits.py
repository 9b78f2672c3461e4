"""9. The local host's request limits are the Functions host's (Kestrel's), so stalls end locally as in Azure.

A client that sends half a header (or trickles it) and stalls, or stops in the middle of its
body, is cut off; a header block over 32 KiB or 100 headers gets 431. The timeouts run with
short values here (``--headers-timeout 1 --body-grace 1``); Azure's are 30 s and 5 s.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.services import LocalHostProcess
from tests.support.reliability import figure, new_key, new_phone, reliability_environment, running_app, sms_payload
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration

HEADERS_TIMEOUT = 1.0
BODY_GRACE = 1.0
# aiohttp reads on for up to 2 s after an early answer before it closes (see sandbox/host/server.py).
LINGERING = 2.0
SLACK = 1.5  # a loaded 2-core machine
SMS_PATH = "/notifications/api/v1/future/orders/instant/sms"


@pytest.fixture(scope="module")
async def limited_host(
    tables: Tables, emulator_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LocalHostProcess]:
    """The function app in a local host of its own, with short header and body timeouts."""
    env = reliability_environment(TABLES_CONNECTION_STRING=tables.connection_string, **emulator_env)
    workdir: Path = tmp_path_factory.mktemp("host-limits")
    limits = ("--headers-timeout", f"{HEADERS_TIMEOUT:g}", "--body-grace", f"{BODY_GRACE:g}")
    async with running_app(env, workdir, extra_args=limits) as host:
        yield host


async def _until_closed(port: int, chunks: list[bytes], pause: float, limit: float) -> tuple[bytes, float | None]:
    """Send ``chunks`` with ``pause`` s between them, then wait; what came back and when the server closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    received = b""
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
            await asyncio.sleep(pause)
        while time.monotonic() - started < limit:
            try:
                data = await asyncio.wait_for(reader.read(65536), limit - (time.monotonic() - started))
            except TimeoutError:
                break
            if not data:
                return received, time.monotonic() - started
            received += data
        return received, None
    except ConnectionResetError:
        return received, time.monotonic() - started
    finally:
        writer.close()


async def test_half_a_header_then_silence_is_cut_off(limited_host: LocalHostProcess) -> None:
    head = f"POST {SMS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-".encode()
    received, closed_after = await _until_closed(limited_host.port, [head], 0, 10)
    assert closed_after is not None, "the connection was still open after 10 s"
    assert HEADERS_TIMEOUT - 0.1 <= closed_after <= HEADERS_TIMEOUT + SLACK
    assert received == b""  # nothing of a request reached the app
    figure("half a header, then silence", f"closed after {closed_after:.2f} s (headers timeout {HEADERS_TIMEOUT:g} s)")


async def test_a_trickled_header_does_not_extend_the_timeout(limited_host: LocalHostProcess) -> None:
    head = f"POST {SMS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    trickle = [head] + [b"X" for _ in range(40)]  # one byte every 0.1 s: 4 s of header if allowed
    _, closed_after = await _until_closed(limited_host.port, trickle, 0.1, 10)
    assert closed_after is not None, "the connection was still open after 10 s"
    assert closed_after <= HEADERS_TIMEOUT + SLACK
    figure("header trickled one byte per 0.1 s", f"closed after {closed_after:.2f} s")


async def test_a_stalled_body_gets_408_and_the_connection_closes(
    limited_host: LocalHostProcess, client: Client
) -> None:
    phone = new_phone()
    body = json.dumps(sms_payload(new_key("stall"), phone)).encode()
    head = (
        f"POST {SMS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Caller-Id: rel-caller\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    received, closed_after = await _until_closed(limited_host.port, [head + body[:20]], 0, 10)
    assert received.startswith(b"HTTP/1.1 408 "), received[:200]
    assert closed_after is not None, "the connection was still open after 10 s"
    assert closed_after <= BODY_GRACE + LINGERING + SLACK
    assert (await client.inbox(phone))["sms"] == []  # the app never saw the order
    figure("body stalled after 20 bytes", f"408 and closed after {closed_after:.2f} s (grace {BODY_GRACE:g} s)")


def _head_block(lines: list[str]) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in lines)


HEADER_FLOODS = [
    ("one header of 40 KiB", [f"X-Big: {'a' * 40 * 1024}"], 431),
    ("40 headers of 1 KiB", [f"X-Pad-{i}: {'b' * 1000}" for i in range(40)], 431),
    ("over 100 headers", [f"X-Small-{i}: v" for i in range(100)], 431),  # + the 7 the client sends
    ("30 headers of 1000 bytes (under 32 KiB)", [f"X-Pad-{i}: {'c' * 1000}" for i in range(30)], 201),
]


@pytest.mark.parametrize(("name", "lines", "status"), HEADER_FLOODS, ids=[f[0] for f in HEADER_FLOODS])
async def test_header_blocks_over_kestrels_limits_get_431(
    client: Client, name: str, lines: list[str], status: int
) -> None:
    payload = sms_payload(new_key("hdrsize"), new_phone())
    try:
        reply = await client.post("sms", payload, headers=_head_block(lines))
        got = reply.status
    except aiohttp.ClientResponseError as exc:  # aiohttp's client may refuse the 431 it reads
        got = exc.status
    assert got == status
