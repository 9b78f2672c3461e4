"""Storage connections that break under a write (tests/support/connection_faults.py).

A CI run once answered a passcode's retry with 503 storage_unavailable in the middle of its
503 provider_unavailable answers: the claim's insert went out on a pooled connection that broke
with no answer, and azure-core never sends a POST again. Promise: a write whose connection breaks
is sent again and carried out once, whether storage had carried it out or not, so the caller sees
its ordinary answer and one message is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest

from tests.support.connection_faults import ConnectionFaults, Moment, connection_faults
from tests.support.reliability import figure, new_key, new_phone, reliability_environment, running_app, sms_payload
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration


@dataclass
class BrokenRig:
    proxy: ConnectionFaults
    client: Client


@pytest.fixture
async def broken_rig(
    tables: Tables,
    emulator_env: dict[str, str],
    http_session: aiohttp.ClientSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[BrokenRig]:
    """A worker whose storage connections go through the proxy, on the session's Azurite."""
    async with connection_faults(tables.connection_string) as proxy:
        env = reliability_environment(TABLES_CONNECTION_STRING=proxy.connection_string, **emulator_env)
        async with running_app(env, tmp_path_factory.mktemp("broken-connections")) as app:
            yield BrokenRig(proxy, Client(http_session, lambda: app.base_url, emulator_env["ACS_ENDPOINT"]))


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_send_whose_storage_writes_break_is_answered_and_sent_once(
    broken_rig: BrokenRig, moment: Moment
) -> None:
    client, proxy = broken_rig.client, broken_rig.proxy
    warm = await client.post("sms", sms_payload(new_key("warm"), new_phone()))
    assert warm.status == 201, warm.body  # the worker has its layout and tables: next come the writes
    # given: each storage write of the next send breaks once (the claim, a link near a storage
    # period's start, the final transaction)
    phone = new_phone()
    payload = sms_payload(new_key("broken"), phone)
    proxy.break_next("POST", moment, count=3, each_once=True)
    # when
    reply = await client.post("sms", payload)
    proxy.disarm()
    # then: its ordinary answer, one message, and a retry replays it
    assert reply.status == 201, reply.body
    lines = [line for line, _ in proxy.broken]
    assert any("$batch" in line for line in lines) and len(lines) >= 2, lines  # the claim and the final write
    assert len((await client.inbox(to=phone))["sms"]) == 1
    again = await client.post("sms", payload)
    assert (again.status, again.body) == (200, reply.body)
    figure(
        f"storage writes broken {moment} storage",
        f"{len(lines)} writes broken once each ({', '.join(line.split()[1] for line in lines)}): 201 in "
        f"{reply.elapsed * 1000:.0f} ms, 1 delivery",
    )
