"""3. Crash points: the worker is SIGKILLed at each point of a request, then restarted.

The app runs as ``tests.support.crash_points:app`` (function_app's app with its adapters wrapped in
proxies that SIGKILL the process at the point named by INSTANT_CRASH_AT; production code is
untouched). Promise: after a restart, retries with the same key end with exactly one delivered
message and the right answer, and a crashed worker's lease (budget + 5 s) is taken over only
after it ran out.

All eight crashes (4 points x 2 channels) happen one after another, each followed by a restart
that arms the next one; the retries of all keys then wait out their leases together, so the
suite pays for one lease instead of eight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from sandbox.services import LocalHostProcess
from tests.support.crash_points import CrashPoint
from tests.support.reliability import (
    CALLER,
    FAULTS,
    LEASE_SECONDS,
    figure,
    new_email,
    new_key,
    new_phone,
    payload_for,
    reliability_environment,
    shipment,
    start_app,
    token,
)
from tests.support.reliability_clients import Client, Reply, Tables

pytestmark = pytest.mark.integration

CRASH_APP = "tests.support.crash_points:app"
# "During the provider call" needs a call that lasts: the emulator's slow recipients answer after
# 2 s and deliver nothing if the caller has gone by then (sandbox/README.md).
SLOW = {"sms": "+4790000004", "email": f"slow@{FAULTS}"}
CASES = [(channel, point) for channel in ("sms", "email") for point in CrashPoint]


@dataclass
class Crash:
    channel: str
    point: CrashPoint
    key: str
    recipient: str
    payload: dict[str, object]
    exit_code: int | None = None
    state_after_crash: str | None = None
    lease_until: datetime | None = None
    received_at: datetime | None = None
    provider_requests_at_crash: list[dict[str, object]] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    @property
    def final(self) -> Reply:
        return self.replies[-1]


class CrashHost:
    """The crash app, restarted with another INSTANT_CRASH_AT after each crash."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.host: LocalHostProcess | None = None

    def url(self) -> str:
        assert self.host is not None
        return self.host.base_url

    async def start(self, crash: Crash | None) -> None:
        env = dict(self.env)
        if crash is not None:
            env |= {"INSTANT_CRASH_AT": crash.point.value, "INSTANT_CRASH_MATCH": crash.recipient}
        self.host = await start_app(env, self.workdir, app=CRASH_APP)

    async def stop(self) -> None:
        if self.host is not None:
            await self.host.stop()


async def retry_until_answered(client: Client, crash: Crash, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await client.post(crash.channel, crash.payload)
        crash.replies.append(reply)
        if reply.status != 409:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{crash.channel} {crash.point}: still 409 after {timeout} s")


@pytest.fixture(scope="module")
async def crashes(
    tables: Tables,
    emulator_env: dict[str, str],
    http_session: aiohttp.ClientSession,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[tuple[str, CrashPoint], Crash]]:
    env = reliability_environment(TABLES_CONNECTION_STRING=tables.connection_string, **emulator_env)
    runner = CrashHost(env, tmp_path_factory.mktemp("crash-points"))
    client = Client(http_session, runner.url, emulator_env["ACS_ENDPOINT"])
    plan: list[Crash] = []
    for channel, point in CASES:
        recipient = SLOW[channel] if point is CrashPoint.DURING_PROVIDER_CALL else None
        recipient = recipient or (new_phone() if channel == "sms" else new_email())
        key = new_key(f"crash-{point.value}")
        plan.append(Crash(channel, point, key, recipient, payload_for(channel, key, recipient)))
    started = time.monotonic()
    try:
        await runner.start(plan[0])
        for index, crash in enumerate(plan):
            # warm the worker with a recipient that does not match, then the request that crashes it
            warm = await client.post(crash.channel, payload_for(crash.channel, new_key("warm"), new_phone()))
            if crash.channel == "email":
                warm = await client.post("email", payload_for("email", new_key("warm"), new_email()))
            assert warm.status == 201, warm.body
            with pytest.raises(aiohttp.ClientError):
                await client.post(crash.channel, crash.payload)
            assert runner.host is not None
            crash.exit_code = await asyncio.wait_for(runner.host.wait(), 10)
            record = await tables.order(shipment(CALLER, crash.channel, crash.key))
            assert record is not None, f"{crash.channel} {crash.point}: no record after the crash"
            crash.state_after_crash, crash.lease_until = record.state.value, record.lease_until
            crash.received_at = record.received_at
            crash.provider_requests_at_crash = await client.requests_for(
                crash.channel, token(CALLER, crash.channel, crash.key, record.received_at)
            )
            # restart, armed for the next crash; retry this key at once: its lease still holds
            await runner.start(plan[index + 1] if index + 1 < len(plan) else None)
            crash.replies.append(await client.post(crash.channel, crash.payload))
        # then every key until it is answered: each waits for its own lease
        await asyncio.gather(*(retry_until_answered(client, c, LEASE_SECONDS + 15) for c in plan))
        elapsed = time.monotonic() - started
        figure("crash points", f"{len(plan)} SIGKILLs and restarts, every key retried to its end in {elapsed:.1f} s")
        yield {(c.channel, c.point): c for c in plan}
    finally:
        await runner.stop()


@pytest.mark.parametrize(("channel", "point"), CASES, ids=[f"{c}-{p.value}" for c, p in CASES])
async def test_crash_then_retries_send_exactly_once(
    crashes: dict[tuple[str, CrashPoint], Crash], client: Client, tables: Tables, channel: str, point: CrashPoint
) -> None:
    crash = crashes[(channel, point)]
    assert crash.exit_code == -9  # SIGKILL
    # the crash happened where it was meant to
    before = crash.provider_requests_at_crash
    if point is CrashPoint.AFTER_CLAIM:
        assert before == []
    elif point is CrashPoint.DURING_PROVIDER_CALL:
        assert [r["status"] for r in before] == [None]  # sent, never answered
    else:
        assert [r["status"] for r in before if r["method"] == "POST"] == [202]
    # exactly one message under the key, whatever the point
    assert crash.received_at is not None
    assert len(await client.delivered(channel, token(CALLER, channel, crash.key, crash.received_at))) == 1
    final = crash.final
    if point is CrashPoint.AFTER_STATE_UPDATE:
        # the outcome was stored before the crash: every retry is its replay, at once
        assert crash.state_after_crash == "completed"
        assert {r.status for r in crash.replies} == {200}
        record = await tables.order(shipment(CALLER, channel, crash.key))
        assert record is not None and record.answer is not None
        assert final.body == record.answer.body.encode() and final.headers["Idempotent-Replayed"] == "true"
        # its audit entry was written with the state: the crashed request is on record
        audit = await tables.audit(shipment(CALLER, channel, crash.key))
        assert [a.http_status for a in audit] == [201] + [200] * len(crash.replies)
        return
    # the crashed worker's lease is respected, and taken over once it ran out
    assert crash.state_after_crash == "in_progress" and crash.lease_until is not None
    assert crash.lease_until - crash.received_at == timedelta(seconds=LEASE_SECONDS)  # budget + 5 s
    assert crash.replies[0].status == 409, "the retry right after the restart must wait for the lease"
    for reply in crash.replies[:-1]:
        assert reply.status == 409 and reply.sent_at < crash.lease_until
    assert final.received_at >= crash.lease_until
    assert final.status == 201, final.body
    created = final.json()["notification"]
    assert created["shipmentId"] == shipment(CALLER, channel, crash.key)
    assert created["status"] in ("SMS_Accepted", "Email_Sending", "Email_Succeeded")
    # The crashed request never reached its final write; the takeover (a state change) wrote an
    # entry for it ("abandoned", status 0) just before the taker's own. Every retry has its entry.
    audit = await tables.audit(shipment(CALLER, channel, crash.key))
    statuses = [r.status for r in crash.replies]
    assert [a.http_status for a in audit] == [*statuses[:-1], 0, statuses[-1]]
    assert audit[-2].outcome == "abandoned"
    # and the answer is stored: a further retry replays it
    again = await client.post(channel, crash.payload)
    assert (again.status, again.body) == (200, final.body)
    assert len(await client.delivered(channel, token(CALLER, channel, crash.key, crash.received_at))) == 1
