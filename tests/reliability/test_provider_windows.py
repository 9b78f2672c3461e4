"""Provider tokens and ACS's repeatability window (issue "Hardening", points 2 and 6).

Promise: a retry sends at most once, and never falsely: when no earlier attempt can have reached
ACS, a retry after ACS's 5-minute repeatability window is a fresh send (201, one delivery),
not a refused repeat stored as 502; and a key used again after its order was purged is a new
message to ACS, never answered with the old order's message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from sandbox.acs_emulator import RunningEmulator, start_emulator
from sandbox.services import LocalHostProcess
from tests.support.reliability import (
    CALLER,
    figure,
    new_email,
    new_key,
    new_phone,
    payload_for,
    reliability_environment,
    running_app,
    shipment,
    sms_payload,
)
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration

KEY = "d2luZG93LXRlc3Qta2V5LTAxMjM0NTY3ODlhYmNkZWY="
# ACS keeps repeatability 5 minutes; this emulator 4 s, so the test can wait it out.
WINDOW_SECONDS = 4


@dataclass
class WindowRig:
    emulator: RunningEmulator
    app: LocalHostProcess
    client: Client


@pytest.fixture
async def window_rig(
    tables: Tables, http_session: aiohttp.ClientSession, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WindowRig]:
    emulator = await start_emulator(KEY, repeatability_window_seconds=WINDOW_SECONDS)
    env = reliability_environment(
        TABLES_CONNECTION_STRING=tables.connection_string, ACS_ENDPOINT=emulator.base_url, ACS_ACCESS_KEY=KEY
    )
    try:
        async with running_app(env, tmp_path_factory.mktemp("window")) as app:
            yield WindowRig(emulator, app, Client(http_session, lambda: app.base_url, emulator.base_url))
    finally:
        await emulator.stop()  # after the app, which calls it


async def test_a_retry_after_the_window_that_nothing_reached_is_a_fresh_send(window_rig: WindowRig) -> None:
    # given: ACS refuses every attempt unprocessed (503) for the whole first request
    client, key, phone = window_rig.client, new_key("window"), new_phone()
    payload = sms_payload(key, phone)
    window_rig.emulator.state.outage = True
    first = await client.post("sms", payload)
    assert (first.status, first.code) == (503, "provider_unavailable"), first.body
    attempts = len(await client.requests_to("sms", phone))
    # when the retry comes after ACS's repeatability window, with ACS back
    await asyncio.sleep(WINDOW_SECONDS + 0.5)
    window_rig.emulator.state.outage = False
    retry = await client.post("sms", payload)
    # then it is a fresh send: 201 and exactly one delivery (it was 502 outcome_unknown, stored)
    assert retry.status == 201, retry.body
    assert len((await client.inbox(to=phone))["sms"]) == 1
    figure(
        "retry after the repeatability window, nothing reached ACS before",
        f"{attempts} refused attempts, then 201 and 1 delivery (was 502 outcome_unknown)",
    )


@pytest.fixture
async def fresh_worker(
    tables: Tables,
    emulator_env: dict[str, str],
    http_session: aiohttp.ClientSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Client]:
    """A second worker on the session's storage and emulator. Its replay cache is empty, as every
    worker's is for a purged order (the cache never outlives the purge: instant/idempotency)."""
    env = reliability_environment(TABLES_CONNECTION_STRING=tables.connection_string, **emulator_env)
    async with running_app(env, tmp_path_factory.mktemp("fresh-worker")) as app:
        yield Client(http_session, lambda: app.base_url, emulator_env["ACS_ENDPOINT"])


@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_a_key_used_again_after_the_purge_is_a_new_message(
    client: Client, fresh_worker: Client, tables: Tables, channel: str
) -> None:
    # given: an order that was sent, then purged (its record deleted, as retention does)
    key = new_key("after-purge")
    recipient = new_phone() if channel == "sms" else new_email()
    payload = payload_for(channel, key, recipient)
    first = await client.post(channel, payload)
    assert first.status == 201, first.body
    old_token = await tables.provider_token(CALLER, channel, key)
    await tables.delete_order(shipment(CALLER, channel, key))
    # when the key is used again, within ACS's repeatability window
    again = await fresh_worker.post(channel, payload)
    # then it is a new order, and ACS delivers a new message (it answered the old one: nothing sent)
    assert again.status == 201 and "Idempotent-Replayed" not in again.headers, again.body
    new_token = await tables.provider_token(CALLER, channel, key)
    assert new_token != old_token
    assert len((await client.inbox(to=recipient))[channel]) == 2
    assert len(await client.delivered(channel, new_token)) == 1
