"""A worker SIGKILLed between counting a send and its end, with the per-recipient limit on.

Promise: the count is taken before the hand-off, under the order's shipment id, so the retry
that takes the crashed order over is not counted a second time and still sends (exactly one
message, never a lost one), while another key to the same number is refused by the limit.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from tests.support.crash_points import CrashPoint
from tests.support.reliability import (
    CALLER,
    LEASE_SECONDS,
    figure,
    new_key,
    reliability_environment,
    shipment,
    sms_payload,
    start_app,
    token,
)
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration

CRASH_APP = "tests.support.crash_points:app"
# The emulator answers this number after 2 s, so the crash lands during the provider call.
SLOW = "+4790000004"


async def test_a_crash_after_counting_is_neither_counted_twice_nor_lost(
    tables: Tables,
    emulator_env: dict[str, str],
    http_session: aiohttp.ClientSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    env = reliability_environment(
        TABLES_CONNECTION_STRING=tables.connection_string, SMS_RECIPIENT_LIMITS="1/600", **emulator_env
    )
    workdir = tmp_path_factory.mktemp("limit-crash")
    host = await start_app(
        {**env, "INSTANT_CRASH_AT": CrashPoint.DURING_PROVIDER_CALL, "INSTANT_CRASH_MATCH": SLOW},
        workdir,
        app=CRASH_APP,
    )
    client = Client(http_session, lambda: host.base_url, emulator_env["ACS_ENDPOINT"])
    key = new_key("limit-crash")
    payload = sms_payload(key, SLOW)  # one body: each call draws a new passcode
    try:
        with pytest.raises(aiohttp.ClientError):
            await client.post("sms", payload)
        await asyncio.wait_for(host.wait(), 10)
        host = await start_app(env, workdir, app=CRASH_APP)
        started = time.monotonic()
        reply = await client.post("sms", payload)
        while reply.status == 409 and time.monotonic() - started < LEASE_SECONDS + 15:
            await asyncio.sleep(0.5)
            reply = await client.post("sms", payload)
        other = await client.post("sms", sms_payload(new_key("limit-crash-other"), SLOW))
        record = await tables.order(shipment(CALLER, "sms", key))
    finally:
        await host.stop()
    assert reply.status == 201, reply.body  # the takeover: counted already, so it may send
    assert (other.status, other.code) == (429, "recipient_rate_limited")  # the one place is taken, once
    assert record is not None
    assert len(await client.delivered("sms", token(CALLER, "sms", key, record.received_at))) == 1
    figure("limit + crash", f"takeover after SIGKILL: {reply.status}, another key: {other.status}, 1 delivery")
