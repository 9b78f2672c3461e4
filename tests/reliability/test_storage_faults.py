"""4. Storage faults: Azurite stopped before the claim, stopped between the claim and the final
write, frozen, and restarted.

Promise: nothing is sent without a claim, nothing is sent twice, and the answers are the
contract's (503 storage_unavailable, "nothing was sent").

This module runs its own Azurite, with its data in a temporary folder (``--location``), so a
stop and a restart behave like a storage outage: what was written before is there afterwards.
(The session's other Azurites run with --inMemoryPersistence, where a restart is the loss of
every table; ``test_storage_that_lost_everything`` shows what that means.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from sandbox.services import AzuriteProcess, LocalHostProcess, start_azurite
from tests.support.reliability import (
    BUDGET_SECONDS,
    CALLER,
    FAULTS,
    LEASE_SECONDS,
    MARGIN_SECONDS,
    WATCHED,
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

SLOW = {"sms": "+4790000004", "email": f"slow@{FAULTS}"}


@dataclass
class StorageRig:
    workdir: Path
    location: Path
    azurite: AzuriteProcess
    app: LocalHostProcess
    client: Client
    tables: Tables
    env: dict[str, str]

    async def stop_storage(self) -> None:
        await self.azurite.stop()  # SIGINT: Azurite saves its data and exits

    async def start_storage(self, *, in_memory: bool = False) -> None:
        self.azurite = await start_azurite(
            self.workdir, port=self.azurite.port, location=None if in_memory else self.location
        )

    async def restart_app(self) -> None:
        await self.app.stop()
        self.app = await start_app(self.env, self.workdir)


@pytest.fixture(scope="session")  # kept up until the secrets scan at the end has read it
async def rig(
    emulator_env: dict[str, str], http_session: aiohttp.ClientSession, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[StorageRig]:
    workdir = tmp_path_factory.mktemp("storage-faults")
    location = workdir / "azurite-data"
    location.mkdir()
    azurite = await start_azurite(workdir, location=location)
    env = reliability_environment(TABLES_CONNECTION_STRING=azurite.connection_string, **emulator_env)
    app = await start_app(env, workdir)
    rig = StorageRig(workdir, location, azurite, app, None, Tables(azurite.connection_string), env)  # type: ignore[arg-type]
    rig.client = Client(http_session, lambda: rig.app.base_url, emulator_env["ACS_ENDPOINT"])
    WATCHED.azurites["storage-faults"] = azurite.connection_string
    try:
        # warm: the table exists and the SDK clients are built before any fault
        assert (await rig.client.post("sms", payload_for("sms", new_key("warm"), new_phone()))).status == 201
        assert (await rig.client.post("email", payload_for("email", new_key("warm"), new_email()))).status == 201
        yield rig
    finally:
        await rig.app.stop()
        if rig.azurite.returncode is None:
            await rig.azurite.stop()


def same_order(reply: Reply, first: Reply) -> bool:
    """The same order in both answers (an email's status may have moved from Sending to Succeeded)."""
    a, b = reply.json(), first.json()
    return bool(
        a["notificationOrderId"] == b["notificationOrderId"]
        and a["notification"]["shipmentId"] == b["notification"]["shipmentId"]
    )


async def storage_is_back(rig: StorageRig) -> None:
    if rig.azurite.returncode is not None:
        await rig.start_storage()


def recipient_of(payload: dict[str, object]) -> str:
    """The phone number or email address an order is for."""
    recipient = payload.get("recipientSms") or payload.get("recipientEmail")
    assert isinstance(recipient, dict)
    return str(recipient.get("phoneNumber") or recipient.get("emailAddress"))


async def send_both(client: Client) -> dict[str, tuple[str, dict[str, object], Reply]]:
    """A new SMS and a new email order, at the same time."""
    orders = {
        channel: (new_key("storage"), recipient)
        for channel, recipient in (("sms", new_phone()), ("email", new_email()))
    }
    payloads = {channel: payload_for(channel, key, recipient) for channel, (key, recipient) in orders.items()}
    replies = await asyncio.gather(*(client.post(channel, payloads[channel]) for channel in orders))
    return {
        channel: (orders[channel][0], payloads[channel], reply) for channel, reply in zip(orders, replies, strict=True)
    }


async def test_storage_down_before_the_claim_sends_nothing(rig: StorageRig) -> None:
    await rig.stop_storage()
    try:
        sent = await send_both(rig.client)
        for channel, (_, payload, reply) in sent.items():
            assert (reply.status, reply.code) == (503, "storage_unavailable"), reply.body
            assert reply.headers["Retry-After"] == "1"
            assert reply.elapsed < BUDGET_SECONDS + MARGIN_SECONDS
            assert (await rig.client.inbox(to=recipient_of(payload)))[channel] == []
        worst = max(reply.elapsed for *_, reply in sent.values())
        figure("storage down before the claim", f"503 storage_unavailable in {worst:.2f} s")
    finally:
        await storage_is_back(rig)
    # when storage is back, the same keys go through, once
    for channel, (key, payload, _) in sent.items():
        reply = await rig.client.post(channel, payload)
        assert reply.status == 201, reply.body
        assert len(await rig.client.delivered(channel, await rig.tables.provider_token(CALLER, channel, key))) == 1


async def test_frozen_storage_answers_in_time(rig: StorageRig) -> None:
    # SIGSTOP: connections are accepted by the kernel and never answered, as a storage account
    # that hangs would; a stopped process only refuses connections.
    os.kill(rig.azurite.pid, signal.SIGSTOP)
    try:
        sent = await send_both(rig.client)
    finally:
        os.kill(rig.azurite.pid, signal.SIGCONT)
    worst = max(reply.elapsed for *_, reply in sent.values())
    figure("storage frozen before the claim", f"503 storage_unavailable in {worst:.2f} s")
    for channel, (_, payload, reply) in sent.items():
        assert (reply.status, reply.code) == (503, "storage_unavailable"), reply.body
        assert (await rig.client.inbox(to=recipient_of(payload)))[channel] == []
    # Storage calls are not part of the provider budget; a request still ends within its lease.
    assert worst < LEASE_SECONDS + MARGIN_SECONDS


async def test_storage_lost_between_claim_and_final_write(rig: StorageRig) -> None:
    cases = {}
    for channel in ("sms", "email"):
        key = new_key("lost-write")
        payload = payload_for(channel, key, SLOW[channel])
        cases[channel] = (key, payload, asyncio.ensure_future(rig.client.post(channel, payload)))
    # the claims are stored once the provider sees the requests; it answers 2 s later
    for channel, (key, _, _) in cases.items():
        await rig.client.wait_for_provider_request(channel, await rig.tables.provider_token(CALLER, channel, key))
    await rig.stop_storage()
    try:
        firsts = {channel: await task for channel, (_, _, task) in cases.items()}
    finally:
        await rig.start_storage()
    started = time.monotonic()

    async def retry(channel: str, key: str, payload: dict[str, object]) -> None:
        first = firsts[channel]
        # The service's choice: the provider took it, so the caller is told so (201), although
        # the outcome could not be stored; an error is logged.
        assert first.status == 201, first.body
        record = await rig.tables.order(shipment(CALLER, channel, key))
        assert record is not None and record.state.value == "in_progress"  # the claim survived
        # a retry waits for the lease, then takes over, and the provider token prevents a 2nd send
        replies = [await rig.client.post(channel, payload)]
        while replies[-1].status == 409:
            await asyncio.sleep(0.5)
            replies.append(await rig.client.post(channel, payload))
            assert time.monotonic() - started < LEASE_SECONDS + 10
        assert replies[0].status == 409
        final = replies[-1]
        assert final.status == 201 and same_order(final, first)
        assert (await rig.client.post(channel, payload)).status == 200
        assert len(await rig.client.delivered(channel, token(CALLER, channel, key, record.received_at))) == 1
        # the first request's own entry went down with its final write; the takeover wrote one for
        # it ("abandoned", status 0) before the taker's; the retries' are there
        audit = await rig.tables.audit(shipment(CALLER, channel, key))
        statuses = [r.status for r in replies]
        assert [a.http_status for a in audit] == [*statuses[:-1], 0, statuses[-1], 200]

    await asyncio.gather(*(retry(channel, key, payload) for channel, (key, payload, _) in cases.items()))
    worst = max(r.elapsed for r in firsts.values())
    figure("storage down between claim and final write", f"201 (provider's truth) in {worst:.2f} s")
    # the log line that stands in for the lost audit entries names the provider's ids
    lost = [line for line in rig.app.log_path.read_text().splitlines() if "final state of an order could not" in line]
    sms_token = await rig.tables.provider_token(CALLER, "sms", cases["sms"][0])
    sms_id = (await rig.client.delivered("sms", sms_token))[0]["messageId"]
    email_id = await rig.tables.provider_token(CALLER, "email", cases["email"][0])
    assert any(sms_id in line for line in lost) and any(email_id in line for line in lost), lost


async def test_storage_that_lost_everything(rig: StorageRig) -> None:
    # given: orders sent, then an Azurite restart without its data (what --inMemoryPersistence does)
    sent = await send_both(rig.client)
    assert {reply.status for *_, reply in sent.values()} == {201}
    await rig.stop_storage()
    await rig.start_storage(in_memory=True)
    try:
        # the table itself is gone: honest 503s, nothing sent
        lost = await send_both(rig.client)
        for channel, (_, payload, reply) in lost.items():
            assert (reply.status, reply.code) == (503, "storage_unavailable"), reply.body
            assert await rig.client.requests_to(channel, recipient_of(payload)) == []
        # a restarted app creates the table again. The old keys are new orders to it: with the
        # records gone nothing remembers them, and the provider token depends on the order's
        # first receipt (so a key used again after the purge is never answered with an old
        # message), so each is sent once more, under its new token. tests/reliability/README.md
        # names this consequence of losing the table.
        await rig.restart_app()
        for channel, (key, payload, first) in sent.items():
            again = await rig.client.post(channel, payload)
            assert again.status == 201 and same_order(again, first)
            assert len(await rig.client.delivered(channel, await rig.tables.provider_token(CALLER, channel, key))) == 1
    finally:
        await rig.stop_storage()
        await rig.start_storage()  # the persisted data again, for the secrets scan
        await rig.restart_app()


async def test_storage_frozen_between_claim_and_final_write(rig: StorageRig) -> None:
    cases = {}
    for channel in ("sms", "email"):
        key = new_key("frozen-write")
        payload = payload_for(channel, key, SLOW[channel])
        cases[channel] = (key, payload, asyncio.ensure_future(rig.client.post(channel, payload)))
    for channel, (key, _, _) in cases.items():
        await rig.client.wait_for_provider_request(channel, await rig.tables.provider_token(CALLER, channel, key))
    os.kill(rig.azurite.pid, signal.SIGSTOP)
    try:
        firsts = {channel: await task for channel, (_, _, task) in cases.items()}
    finally:
        os.kill(rig.azurite.pid, signal.SIGCONT)
    worst = max(r.elapsed for r in firsts.values())
    figure("storage frozen between claim and final write", f"{[r.status for r in firsts.values()]} in {worst:.2f} s")
    for channel, (key, _, _) in cases.items():
        assert firsts[channel].status == 201
        assert len(await rig.client.delivered(channel, await rig.tables.provider_token(CALLER, channel, key))) == 1
    # The lease margin (lease = budget + 5 s) is there for the final write: a holder is done by then.
    assert worst < LEASE_SECONDS + MARGIN_SECONDS


async def test_storage_slower_than_the_budget_is_not_blamed_on_the_provider(rig: StorageRig) -> None:
    # given: storage that answers, but only after the whole request budget (frozen, then thawed)
    os.kill(rig.azurite.pid, signal.SIGSTOP)
    try:
        sending = asyncio.ensure_future(send_both(rig.client))
        await asyncio.sleep(BUDGET_SECONDS + 0.3)
    finally:
        os.kill(rig.azurite.pid, signal.SIGCONT)
    sent = await sending
    for channel, (key, payload, reply) in sent.items():
        # then the provider was never asked, and the answer does not say it was unavailable
        assert await rig.client.requests_to(channel, recipient_of(payload)) == []
        assert (reply.status, reply.code) == (503, "storage_unavailable"), reply.body
        assert "Retry-After" in reply.headers
        # and the key is free for a retry at once
        again = await rig.client.post(channel, payload)
        assert again.status == 201, again.body
        assert len(await rig.client.delivered(channel, await rig.tables.provider_token(CALLER, channel, key))) == 1


async def test_storage_down_at_start_up_answers_503_then_recovers_by_itself(rig: StorageRig) -> None:
    # given: storage is down while the worker starts and builds its service
    await rig.stop_storage()
    try:
        await rig.restart_app()
        # when requests come in: a POST of each channel and a GET shipment
        sent = await send_both(rig.client)
        read = await rig.client.get(f"/future/shipment/{shipment(CALLER, 'sms', new_key('absent'))}")
    finally:
        await rig.start_storage()
    # then each is an honest 503 with Retry-After (it was 500 internal_error: the build failed)
    for reply in [*(r for *_, r in sent.values()), read]:
        assert (reply.status, reply.code) == (503, "storage_unavailable"), reply.body
        assert reply.headers["Retry-After"] == "1"
    for channel, (_, payload, _) in sent.items():
        assert await rig.client.requests_to(channel, recipient_of(payload)) == []
    # and once storage is back the same worker serves the same keys, without a restart
    for channel, (key, payload, _) in sent.items():
        again = await rig.client.post(channel, payload)
        assert again.status == 201, again.body
        assert len(await rig.client.delivered(channel, await rig.tables.provider_token(CALLER, channel, key))) == 1
    figure("storage down at start-up", "503 storage_unavailable, then 201 once storage is back (no restart)")
