"""Defects found by the review of the storage periods (issue 14), each a state the exhaustive
interleaving tests do not reach: a configuration change between deployments, a write late in a
lease, the layout row gone, a storage failure between a near claim's two writes, and what a call
costs after the window. On the in-memory rows (tests/support/fake_rows.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from instant.domain.errors import KeyAlreadyClaimed, StorageUnavailable
from instant.domain.records import OrderRecord, OrderState
from instant.storage.order_store import LAYOUT_PARTITION, LAYOUT_ROW, PeriodOrderStore
from instant.storage.rows import Entity
from tests.support.builders import audit_entry, order_record
from tests.support.fake_rows import FakeRows
from tests.support.fakes import FakeClock

BASE = "orders"
SINCE = datetime(2026, 9, 1, tzinfo=UTC)  # periods: 202609 (to Oct 1), 202610, 202611, ...
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
OCTOBER_TABLE, NOVEMBER_TABLE = f"{BASE}202610", f"{BASE}202611"
WEEK, TWO_DAYS, TWO_WEEKS = timedelta(hours=168), timedelta(hours=48), timedelta(hours=336)
AUDIT_RETENTION = timedelta(days=30)


def store(
    rows: FakeRows, now: datetime, retention: timedelta = WEEK, since: datetime | None = SINCE
) -> PeriodOrderStore:
    """A worker whose clock stands at ``now``, on the shared rows."""
    return PeriodOrderStore(rows, base=BASE, retention=retention, clock=FakeClock(now), since=since)


def received(at: datetime, key: str = "k-1") -> OrderRecord:
    """A freshly claimed order for ``key`` received at ``at``."""
    return order_record(key, at=at, first_sent_at=at, updated_at=at)


class FailingInserts(FakeRows):
    """Rows whose inserts into one table fail (storage answers 503 there)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: str | None = None

    async def insert(self, table: str, entity: Entity) -> str:
        """See ``Rows.insert``; a 503 in the failing table."""
        if table == self.failing:
            raise StorageUnavailable("insert failed")
        return await super().insert(table, entity)


async def test_a_shorter_retention_after_a_deploy_keeps_audit_entries_written_under_the_longer_one() -> None:
    # IDEMPOTENCY_RETENTION_HOURS was 336: an order received 13 days into November lives in
    # October's table and is replayed (an audit entry there) 26 days into November.
    rows = FakeRows()
    received_at = NOVEMBER + timedelta(days=13)
    held = await store(rows, received_at, TWO_WEEKS).claim(received(received_at))
    assert held.stored_in == OCTOBER_TABLE
    replayed_at = NOVEMBER + timedelta(days=26)
    await store(rows, replayed_at, TWO_WEEKS).append_audit(audit_entry(held.shipment_id, replayed_at), beside=held)
    # Then a deploy sets it to 48: its retention run drops October's table at Nov 1 + 2 x 48 h
    # + the audit retention, when that entry is 22 days short of the audit retention.
    now = NOVEMBER + 2 * TWO_DAYS + AUDIT_RETENTION
    assert now - replayed_at < AUDIT_RETENTION
    later = store(rows, now, TWO_DAYS)
    await later.drop_expired_periods(now, AUDIT_RETENTION)
    assert OCTOBER_TABLE in rows.tables_, "an audit entry younger than the audit retention was dropped"


async def test_a_final_write_late_in_a_takeovers_lease_is_kept_for_the_whole_audit_retention() -> None:
    # An order received 1 ms before November's window ends (retention 336 h, in October's table)
    # is taken over 1 ms before it expires; the takeover's final write (its audit entry) comes
    # within its lease (budget + 5 s), seconds after end + 2 x retention.
    rows = FakeRows()
    received_at = NOVEMBER + TWO_WEEKS - timedelta(milliseconds=1)
    held = await store(rows, received_at, TWO_WEEKS).claim(received(received_at))
    assert held.stored_in == OCTOBER_TABLE
    written_at = received_at + TWO_WEEKS + timedelta(seconds=30)
    done = replace(held, state=OrderState.COMPLETED)
    await store(rows, written_at, TWO_WEEKS).update(done, audit_entry(held.shipment_id, written_at))
    now = NOVEMBER + 2 * TWO_WEEKS + AUDIT_RETENTION
    assert now - written_at < AUDIT_RETENTION
    await store(rows, now, TWO_WEEKS).drop_expired_periods(now, AUDIT_RETENTION)
    assert OCTOBER_TABLE in rows.tables_, "an audit entry younger than the audit retention was dropped"


async def test_a_missing_layout_row_is_refused_while_period_tables_exist() -> None:
    # The periods began on Sep 1 (October's and November's tables hold orders); the layout row
    # is then lost (a partial restore, a hand edit). A worker that starts now must not begin a
    # new layout: its since (Dec 5) makes every earlier period table unnamed, so retention never
    # drops them, and places the first new period's orders beside November's.
    rows = FakeRows()
    first = PeriodOrderStore(rows, base=BASE, retention=WEEK, clock=FakeClock(SINCE))
    await first.layout()
    await store(rows, NOVEMBER - timedelta(days=3)).claim(received(NOVEMBER - timedelta(days=3), "k-oct"))
    await store(rows, NOVEMBER + timedelta(days=10)).claim(received(NOVEMBER + timedelta(days=10), "k-nov"))
    del rows.tables_[BASE][(LAYOUT_PARTITION, LAYOUT_ROW)]
    restarted = PeriodOrderStore(rows, base=BASE, retention=WEEK, clock=FakeClock(datetime(2026, 12, 5, tzinfo=UTC)))
    with pytest.raises(StorageUnavailable):
        await restarted.layout()


async def test_the_audit_trail_of_a_linked_order_is_found_after_the_window() -> None:
    rows = FakeRows()
    near = NOVEMBER + timedelta(days=2)
    held = await store(rows, near).claim(received(near))
    await store(rows, near).update(replace(held, state=OrderState.COMPLETED), audit_entry(held.shipment_id, near))
    away = NOVEMBER + timedelta(days=8)  # the order is live until Nov 9, found through its link
    assert await store(rows, away).get(held.shipment_id) is not None
    assert [a.at for a in await store(rows, away).audit_entries(held.shipment_id)] == [near]


async def test_an_email_report_away_from_a_start_for_a_linked_order_costs_a_read_more() -> None:
    # docs/architecture.md, "What a call costs": email delivery report away = range read +
    # transaction (2), 3 for a key with a link. An order received late in the window and
    # reported just after it is found through its link: the range read, then its order.
    rows = FakeRows()
    near = NOVEMBER + WEEK - timedelta(minutes=1)
    held = await store(rows, near).claim(received(near))
    away = store(rows, NOVEMBER + WEEK + timedelta(minutes=1))
    rows.requests = 0
    found = await away.orders_with_prefix(held.shipment_id[:8])
    assert [r.shipment_id for r in found] == [held.shipment_id]
    assert rows.requests == 2


async def test_a_replay_away_from_a_start_of_a_linked_order_costs_a_read_more() -> None:
    # docs/architecture.md: replay from another worker away = claim conflict + read + audit (3),
    # 4 for a key with a link (the link, then its order).
    rows = FakeRows()
    near = NOVEMBER + WEEK - timedelta(minutes=1)
    await store(rows, near).claim(received(near))
    later = NOVEMBER + WEEK + timedelta(minutes=1)
    rows.requests = 0
    with pytest.raises(KeyAlreadyClaimed):
        await store(rows, later).claim(received(later))
    assert rows.requests == 3, "claim conflict + the link + its order (the audit entry is the fourth)"


async def test_a_retry_after_a_failed_link_write_keeps_the_first_receipt_inside_the_window() -> None:
    # A request 1 s before the window's end claims in October's table; storage fails on its
    # link (503, nothing handed off). A retry still inside the window finds the claim and links
    # it: the first receipt (time-to-live, provider token) stands.
    rows = FailingInserts()
    first_at = NOVEMBER + WEEK - timedelta(seconds=1)
    rows.failing = NOVEMBER_TABLE
    with pytest.raises(StorageUnavailable):
        await store(rows, first_at).claim(received(first_at))
    assert (received(first_at).shipment_id, "order") in rows.tables_[OCTOBER_TABLE]
    rows.failing = None
    retry_at = first_at + timedelta(milliseconds=500)
    with pytest.raises(KeyAlreadyClaimed) as claimed:
        await store(rows, retry_at).claim(received(retry_at))
    assert claimed.value.existing.received_at == first_at


async def test_a_retry_after_a_failed_link_write_and_after_the_window_is_a_new_order() -> None:
    # The documented limit (docs/api.md, "Retention"): after the window the unlinked claim is
    # out of sight, so the retry is a new order with a new receipt, as when the first claim
    # itself fails. Nothing was handed off by the first request, so nothing is sent twice.
    rows = FailingInserts()
    first_at = NOVEMBER + WEEK - timedelta(seconds=1)
    rows.failing = NOVEMBER_TABLE
    with pytest.raises(StorageUnavailable):
        await store(rows, first_at).claim(received(first_at))
    rows.failing = None
    retry_at = first_at + timedelta(minutes=1)
    held = await store(rows, retry_at).claim(received(retry_at))
    assert (held.received_at, held.stored_in) == (retry_at, NOVEMBER_TABLE)
