"""The upgrade to storage periods, on Azurite: the single table an earlier version wrote (every
order in the base table, no layout row) is still served. Its orders replay, are taken over, are
read and take delivery reports; one past the retention is absent; the first use records `since`
once, and from then on new orders land in the period tables.

In-process workers (tests/support/period_workers.py) run the app's code path (service, order
store, TableRows) against real Table Storage, so the legacy rows are seeded before first use.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from instant.domain.delivery_status import Report
from instant.domain.records import Channel, OrderState, RecipientStatus
from instant.storage.entities import ORDER_ROW, is_link
from instant.storage.order_store import LAYOUT_PARTITION, LAYOUT_ROW
from sandbox.services import AzuriteProcess
from tests.support.legacy_rows import LegacyHistory, legacy_history, shipment, sms, write_legacy
from tests.support.period_workers import AzureWorkers
from tests.support.unit import CALLER

pytestmark = pytest.mark.integration

RETENTION = timedelta(hours=168)
UPGRADE = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # the first use of the new version
FIRST_PERIOD = "202611"  # since = UPGRADE: the first period runs from it to 1 January
MS = timedelta(milliseconds=1)
MINUTE = timedelta(minutes=1)
PRE_PERIODS = datetime(2100, 1, 1, tzinfo=UTC)  # an earlier version: the base table is every order's


@dataclass
class Upgrade:
    """A base table seeded with legacy rows, and workers of the new version on it."""

    workers: AzureWorkers
    history: LegacyHistory
    keys: tuple[str, str, str]

    @property
    def base(self) -> str:
        return self.workers.base


@pytest.fixture
async def upgrade(azurite: AzuriteProcess) -> AsyncIterator[Upgrade]:
    base = f"legacy{uuid.uuid4().hex[:12]}"
    keys = (f"done-{uuid.uuid4().hex[:8]}", f"crashed-{uuid.uuid4().hex[:8]}", f"old-{uuid.uuid4().hex[:8]}")
    history = await legacy_history(UPGRADE, RETENTION, keys)
    await write_legacy(azurite.connection_string, base, history.entities)
    workers = AzureWorkers(azurite.connection_string, base, since=None, retention=RETENTION)
    yield Upgrade(workers, history, keys)
    await workers.close()


async def test_the_first_use_records_since_once_and_new_orders_land_in_period_tables(upgrade: Upgrade) -> None:
    admin, base = upgrade.workers.admin, upgrade.base
    assert await admin.read(base, LAYOUT_PARTITION, LAYOUT_ROW) is None  # as the old version left it
    starting = [upgrade.workers.worker(UPGRADE + i * MS) for i in range(6)]
    layouts = await asyncio.gather(*(w.store.layout() for w in starting))
    written = await admin.read(base, LAYOUT_PARTITION, LAYOUT_ROW)
    assert written is not None
    since = written.entity["Since"]
    assert since in {w.clock.now() for w in starting}
    assert {layout.since for layout in layouts} == {since}
    # A worker started later reads it and writes nothing.
    restarted = upgrade.workers.worker(UPGRADE + timedelta(days=3))
    assert (await restarted.store.layout()).since == since
    again = await admin.read(base, LAYOUT_PARTITION, LAYOUT_ROW)
    assert again is not None and again.etag == written.etag
    # Near the first period's start a new order is claimed in the base table (where a legacy
    # order with its key could live) and linked from the first period's table.
    near = await restarted.send(sms("new-near"), CALLER)
    assert near.status == 201, near.body
    link = await admin.read(base + FIRST_PERIOD, shipment("new-near"), ORDER_ROW)
    assert link is not None and is_link(link.entity) and link.entity["Home"] == base, link
    # Away from it, a new order lives in the period table alone.
    away = upgrade.workers.worker(UPGRADE + RETENTION + timedelta(days=1))
    assert (await away.send(sms("new-away"), CALLER)).status == 201
    row = await admin.read(base + FIRST_PERIOD, shipment("new-away"), ORDER_ROW)
    assert row is not None and not is_link(row.entity) and row.entity["State"] == OrderState.COMPLETED.value
    assert await admin.read(base, shipment("new-away"), ORDER_ROW) is None
    assert len(upgrade.workers.sms.calls) == 2
    assert await upgrade.workers.tables() == [base, base + FIRST_PERIOD]


async def test_a_completed_legacy_order_replays_its_stored_answer_and_sends_nothing(upgrade: Upgrade) -> None:
    worker = upgrade.workers.worker(UPGRADE)
    replay = await worker.send(sms(upgrade.keys[0]), CALLER)
    assert replay.status == 200
    assert replay.body == upgrade.history.completed_answer.body  # byte for byte
    assert upgrade.workers.sms.calls == []


async def test_get_shipment_finds_a_legacy_order(upgrade: Upgrade) -> None:
    worker = upgrade.workers.worker(UPGRADE)
    answer = await worker.get_shipment(CALLER.caller, upgrade.history.completed.shipment_id)
    assert answer.status == 200, answer.body
    shown = json.loads(answer.body)
    assert shown["shipmentId"] == upgrade.history.completed.shipment_id
    assert (shown["status"], shown["recipients"][0]["destination"]) == ("Order_Completed", "+4799999999")
    # Sent two days ago with no report since: read as failed past its time-to-live (and grace).
    assert shown["recipients"][0]["status"] == RecipientStatus.SMS_FAILED_TTL.value


async def test_a_legacy_order_left_in_progress_is_taken_over_and_sent_once(upgrade: Upgrade) -> None:
    key = upgrade.keys[1]
    retries = [upgrade.workers.worker(UPGRADE + i * MS) for i in range(8)]
    answers = await asyncio.wait_for(asyncio.gather(*(w.send(sms(key), CALLER) for w in retries)), 30)
    statuses = Counter(a.status for a in answers)
    assert len(upgrade.workers.sms.calls) == 1, statuses
    assert set(statuses) <= {200, 201, 409} and statuses[201] == 1, statuses
    later = upgrade.workers.worker(UPGRADE + timedelta(seconds=5))
    assert (await later.send(sms(key), CALLER)).status == 200
    assert len(upgrade.workers.sms.calls) == 1
    found = await later.store.get(shipment(key))
    assert found is not None and found.state is OrderState.COMPLETED and found.stored_in == upgrade.base
    assert found.received_at == upgrade.history.in_progress.received_at  # the legacy order, not a new one


async def test_a_delivery_report_for_a_legacy_order_is_applied(upgrade: Upgrade) -> None:
    record = upgrade.history.completed
    assert record.provider_id
    worker = upgrade.workers.worker(UPGRADE)
    report = Report(
        channel=Channel.SMS,
        event_id=f"event-{record.provider_id}",
        event_time=UPGRADE - timedelta(days=2) + timedelta(seconds=3),
        provider_status="Delivered",
        details="No error.",
        message_id=record.provider_id,
        recipient=record.recipient,
        tag=record.shipment_id,
    )
    assert await worker.report(report) == "applied"
    shown = json.loads((await worker.get_shipment(CALLER.caller, record.shipment_id)).body)
    assert shown["recipients"][0]["status"] == RecipientStatus.SMS_DELIVERED.value
    trail = await worker.store.audit_entries(record.shipment_id)
    assert [e.outcome for e in trail] == ["created", "delivery_report"]
    assert await worker.report(report) == "duplicate"


async def test_an_email_report_finds_a_legacy_order_by_its_operation_id(upgrade: Upgrade) -> None:
    # The email path finds its order by a key-range read (orders_with_prefix), not a point read.
    record = upgrade.history.email
    assert record.provider_id
    worker = upgrade.workers.worker(UPGRADE)
    report = Report(
        channel=Channel.EMAIL,
        event_id="event-mail",
        event_time=UPGRADE - timedelta(days=2) + timedelta(seconds=4),
        provider_status="bounced",
        details="MailboxUnavailable",
        message_id=record.provider_id,
        recipient=record.recipient,
    )
    assert await worker.report(report) == "applied"
    found = await worker.store.get(record.shipment_id)
    assert found is not None and found.status is RecipientStatus.EMAIL_FAILED_BOUNCED
    assert found.stored_in == upgrade.base


async def test_a_legacy_order_past_the_retention_is_absent(upgrade: Upgrade) -> None:
    key = upgrade.keys[2]
    worker = upgrade.workers.worker(UPGRADE)
    assert (await worker.get_shipment(CALLER.caller, shipment(key))).status == 404
    fresh = await worker.send(sms(key), CALLER)
    assert fresh.status == 201, fresh.body
    assert len(upgrade.workers.sms.calls) == 1
    found = await worker.store.get(shipment(key))
    assert found is not None and found.received_at == UPGRADE
    assert found.received_at != upgrade.history.expired.received_at
    # It replaced the legacy row (ETag-matched) and is linked from the first period's table.
    link = await upgrade.workers.admin.read(upgrade.base + FIRST_PERIOD, shipment(key), ORDER_ROW)
    assert link is not None and is_link(link.entity) and link.entity["Home"] == upgrade.base


async def test_old_and_new_workers_side_by_side_send_a_key_once(upgrade: Upgrade, azurite: AzuriteProcess) -> None:
    # A rolling upgrade: workers of the earlier version (every order in the base table, no
    # periods: the store with its first period far ahead) still run beside the first ones of
    # the new version, which write `since` and then claim near the first period's start.
    old = AzureWorkers(azurite.connection_string, upgrade.base, since=PRE_PERIODS, retention=RETENTION)
    old.sms = upgrade.workers.sms
    try:
        for round_ in range(3):
            key = f"rolling-{round_}-{uuid.uuid4().hex[:8]}"
            before = len(upgrade.workers.sms.calls)
            side_by_side = [
                (old if i % 2 else upgrade.workers).worker(UPGRADE + timedelta(seconds=round_) + i * MS)
                for i in range(16)
            ]
            answers = await asyncio.wait_for(asyncio.gather(*(w.send(sms(key), CALLER) for w in side_by_side)), 30)
            statuses = Counter(a.status for a in answers)
            assert len(upgrade.workers.sms.calls) - before == 1, statuses
            assert set(statuses) <= {200, 201, 409} and statuses[201] == 1, statuses
            for late in (old.worker(UPGRADE + MINUTE), upgrade.workers.worker(UPGRADE + MINUTE)):
                assert (await late.send(sms(key), CALLER)).status == 200
            assert len(upgrade.workers.sms.calls) - before == 1
    finally:
        await old.close(drop=False)
