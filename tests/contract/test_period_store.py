"""What the period order store promises beyond the OrderStore contract, on the in-memory rows
and on Azurite alike: where orders land, what a read costs, that an order past the retention is
absent without a delete, and that whole tables are dropped once their audit is past retention."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from instant.domain.errors import KeyAlreadyClaimed
from instant.domain.records import OrderRecord, OrderState
from instant.storage.entities import ORDER_ROW, is_link
from instant.storage.order_store import PeriodOrderStore
from instant.storage.periods import LATE_WRITE, MAX_RETENTION
from instant.storage.rows import Rows
from sandbox.services import AzuriteProcess
from tests.support.builders import audit_entry, order_record
from tests.support.fake_rows import FakeRows
from tests.support.fakes import FakeClock
from tests.support.stores import table_rows

RETENTION = timedelta(days=7)
SINCE = datetime(2026, 9, 1, tzinfo=UTC)  # periods: 202609 (to Oct 1), 202610, 202611, ...
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
AWAY = NOVEMBER + timedelta(days=10)
NEAR = NOVEMBER + timedelta(days=2)


class Counting:
    """Rows that count the requests made through them."""

    def __init__(self, inner: Rows) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        method = getattr(self.inner, name)
        if name.startswith("_") or not callable(method):
            return method

        async def counted(*args: object, **kwargs: object) -> object:
            if name != "close":
                self.calls.append(name)
            return await method(*args, **kwargs)

        return counted


Make = Callable[[datetime], PeriodOrderStore]


@pytest.fixture
def memory_rows() -> Counting:
    return Counting(FakeRows())


@pytest.fixture
async def azurite_rows(azurite: AzuriteProcess) -> AsyncIterator[Counting]:
    real = table_rows(azurite.connection_string)
    yield Counting(real)
    await real.close()


@pytest.fixture(params=["memory_rows", "azurite_rows"])
def rows(request: pytest.FixtureRequest) -> Counting:
    # A sync fixture, so pytest-asyncio can set up the async one it names.
    chosen: Counting = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
def base() -> str:
    return f"p{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store_at(rows: Counting, base: str) -> Make:
    """A store (a worker) whose clock stands at the given moment, on the shared rows."""

    def make(now: datetime) -> PeriodOrderStore:
        return PeriodOrderStore(rows, base=base, retention=RETENTION, clock=FakeClock(now), since=SINCE)  # type: ignore[arg-type]

    return make


def received(at: datetime, key: str | None = None) -> OrderRecord:
    return order_record(key or f"k-{uuid.uuid4().hex}", at=at, first_sent_at=at, updated_at=at)


async def test_away_from_a_start_a_claim_is_one_insert_in_the_current_table(
    store_at: Make, rows: Counting, base: str
) -> None:
    rows.calls.clear()
    held = await store_at(AWAY).claim(received(AWAY))
    assert (held.stored_in, rows.calls) == (f"{base}202611", ["insert"])


async def test_near_a_start_a_claim_holds_in_the_older_table_and_links_from_the_current(
    store_at: Make, rows: Counting, base: str
) -> None:
    rows.calls.clear()
    held = await store_at(NEAR).claim(received(NEAR))
    assert (held.stored_in, rows.calls) == (f"{base}202610", ["insert", "insert"])
    link = await rows.inner.read(f"{base}202611", held.shipment_id, ORDER_ROW)
    assert link is not None and is_link(link.entity) and link.entity["Home"] == f"{base}202610"


async def test_an_order_found_through_its_link_after_the_window(store_at: Make, rows: Counting) -> None:
    held = await store_at(NEAR).claim(received(NEAR))
    later = store_at(NEAR + timedelta(days=6))  # away from the start now, the order still live
    rows.calls.clear()
    assert await later.get(held.shipment_id) == held
    assert rows.calls == ["read", "read"]  # the link, then its order
    with pytest.raises(KeyAlreadyClaimed) as claimed:
        await later.claim(replace(received(NEAR + timedelta(days=6)), shipment_id=held.shipment_id))
    assert claimed.value.existing.stored_in == held.stored_in


async def test_a_get_costs_one_read_away_and_two_near(store_at: Make, rows: Counting) -> None:
    away = await store_at(AWAY).claim(received(AWAY))
    rows.calls.clear()
    assert await store_at(AWAY).get(away.shipment_id) == away
    assert await store_at(AWAY).get("no-such-shipment") is None
    assert rows.calls == ["read", "read"]
    near = await store_at(NEAR).claim(received(NEAR))
    rows.calls.clear()
    assert await store_at(NEAR).get(near.shipment_id) == near
    assert rows.calls == ["read", "read"]  # both tables at once


async def test_an_update_is_one_transaction_in_the_orders_own_table(store_at: Make, rows: Counting) -> None:
    held = await store_at(NEAR).claim(received(NEAR))
    rows.calls.clear()
    done = await store_at(NEAR).update(replace(held, state=OrderState.COMPLETED), audit_entry(held.shipment_id, NEAR))
    assert (done.stored_in, rows.calls) == (held.stored_in, ["replace"])
    assert [a.shipment_id for a in await store_at(NEAR).audit_entries(held.shipment_id)] == [held.shipment_id]


async def test_an_order_past_the_retention_is_absent_and_its_key_free_without_a_delete(
    store_at: Make, rows: Counting, base: str
) -> None:
    old = await store_at(AWAY).claim(received(AWAY))
    later = AWAY + RETENTION
    assert await store_at(later).get(old.shipment_id) is None
    again = await store_at(later).claim(replace(received(later), shipment_id=old.shipment_id))
    assert again.received_at == later and again.stored_in == old.stored_in
    assert "delete" not in rows.calls and "drop" not in rows.calls
    assert await store_at(later).get(old.shipment_id) == again


async def test_one_millisecond_short_of_the_retention_the_order_still_counts(store_at: Make) -> None:
    old = await store_at(AWAY).claim(received(AWAY))
    almost = AWAY + RETENTION - timedelta(milliseconds=1)
    with pytest.raises(KeyAlreadyClaimed):
        await store_at(almost).claim(replace(received(almost), shipment_id=old.shipment_id))


async def test_orders_with_a_prefix_are_found_in_both_tables_near_a_start(store_at: Make) -> None:
    prefix = uuid.uuid4().hex[:8]
    october = await store_at(NOVEMBER - timedelta(days=1)).claim(
        replace(received(NOVEMBER - timedelta(days=1)), shipment_id=prefix + "-a")
    )
    near = await store_at(NEAR).claim(replace(received(NEAR), shipment_id=prefix + "-b"))
    found = await store_at(NEAR).orders_with_prefix(prefix)
    assert [(r.shipment_id, r.stored_in) for r in found] == [
        (october.shipment_id, october.stored_in),
        (near.shipment_id, near.stored_in),
    ]
    # after the window the link leads to the near order; the October one is past retention
    later = NEAR + timedelta(days=6)
    assert [r.shipment_id for r in await store_at(later).orders_with_prefix(prefix)] == [near.shipment_id]


async def test_retention_prepares_the_coming_tables_and_drops_only_those_past_audit_retention(
    store_at: Make, rows: Counting, base: str
) -> None:
    audit_retention = timedelta(days=30)
    store = store_at(AWAY)
    assert await store.prepare_periods(AWAY) == [f"{base}202611", f"{base}202612"]
    await store.claim(received(SINCE + timedelta(days=3)))  # the first period (to Oct 1)
    await store.claim(received(NOVEMBER - timedelta(days=3)))  # October
    # The first period's last write is Oct 1 + 2 of the longest retentions (and a late write);
    # its audit is kept 30 days more.
    last_write = datetime(2026, 10, 1, tzinfo=UTC) + 2 * MAX_RETENTION + LATE_WRITE
    assert await store.drop_expired_periods(last_write + audit_retention - timedelta(seconds=1), audit_retention) == []
    dropped = await store.drop_expired_periods(last_write + audit_retention, audit_retention)
    assert dropped == [f"{base}202609"]
    assert sorted(await rows.inner.tables(base)) == [base, f"{base}202610", f"{base}202611", f"{base}202612"]


async def test_the_layout_is_recorded_once_and_every_later_worker_reads_it(rows: Counting, base: str) -> None:
    first_start = datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=UTC)
    first = PeriodOrderStore(rows, base=base, retention=RETENTION, clock=FakeClock(first_start))  # type: ignore[arg-type]
    second = PeriodOrderStore(rows, base=base, retention=RETENTION, clock=FakeClock(first_start + timedelta(days=3)))  # type: ignore[arg-type]
    # in whole seconds, which every store keeps exactly: both workers place boundaries alike
    assert (await first.layout()).since == first_start.replace(microsecond=0)
    assert (await second.layout()).since == first_start.replace(microsecond=0)
