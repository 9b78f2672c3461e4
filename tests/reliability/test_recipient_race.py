"""Per-recipient limit under a race: 40 distinct keys to one phone number from 8 concurrent
clients, against one app process and against two sharing one Azurite.

Promise: exactly the limit (5 in 10 minutes) is accepted and delivered, every other request is
429 recipient_rate_limited with Retry-After, and nothing is sent twice or lost: the count lives
in Table Storage behind conditional writes, not in a worker's memory.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.support.reliability import figure, new_key, new_phone, reliability_environment, sms_payload, start_app
from tests.support.reliability_clients import Client, Reply, Tables

pytestmark = pytest.mark.integration

KEYS = 40
CLIENTS = 8
LIMIT = 5


@pytest.fixture
async def limited_apps(
    tables: Tables,
    emulator_env: dict[str, str],
    http_session: aiohttp.ClientSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[list[Client]]:
    """Two app processes with the default SMS limits, on the session's Azurite and emulator."""
    env = reliability_environment(
        TABLES_CONNECTION_STRING=tables.connection_string, SMS_RECIPIENT_LIMITS="5/600,20/86400", **emulator_env
    )
    apps = await asyncio.gather(*(start_app(env, tmp_path_factory.mktemp(f"limited-{i}")) for i in range(2)))
    try:
        yield [Client(http_session, lambda app=app: app.base_url, emulator_env["ACS_ENDPOINT"]) for app in apps]
    finally:
        await asyncio.gather(*(app.stop() for app in apps))


async def race(apps: list[Client], phone: str) -> list[Reply]:
    """CLIENTS closed-loop clients share KEYS fresh keys to ``phone``; client i uses app i % len(apps)."""
    keys = asyncio.Queue[str]()
    for _ in range(KEYS):
        keys.put_nowait(new_key("race"))
    replies: list[Reply] = []

    async def one_client(app: Client) -> None:
        while not keys.empty():
            replies.append(await app.post("sms", sms_payload(keys.get_nowait(), phone)))

    async with asyncio.timeout(60):
        await asyncio.gather(*(one_client(apps[i % len(apps)]) for i in range(CLIENTS)))
    return replies


async def judge(apps: list[Client], phone: str, label: str) -> None:
    replies = await race(apps, phone)
    statuses = Counter(r.status for r in replies)
    refused = [r for r in replies if r.status == 429]
    delivered = (await apps[0].inbox(to=phone))["sms"]
    figure(f"recipient race, {label}", f"{dict(statuses)}; {len(delivered)} deliveries")
    assert statuses == Counter({201: LIMIT, 429: KEYS - LIMIT})
    assert all(r.code == "recipient_rate_limited" and int(r.headers["Retry-After"]) > 0 for r in refused)
    assert len(delivered) == LIMIT


async def test_forty_keys_to_one_number_from_eight_clients_one_process(limited_apps: list[Client]) -> None:
    await judge(limited_apps[:1], new_phone(), "one process")


async def test_forty_keys_to_one_number_from_eight_clients_two_processes(limited_apps: list[Client]) -> None:
    await judge(limited_apps, new_phone(), "two processes sharing Azurite")
