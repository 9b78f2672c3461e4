"""Retention on fakes: the service's purge rule (cutoffs from its Clock, the same expiry as the
replay cache) and the timer-triggered function that runs it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.functions.timer import TimerRequest

from instant import bootstrap
from instant.config import Settings
from instant.domain.orders import SmsOrder
from instant.domain.records import Channel, shipment_id_for
from instant.domain.tallies import Tally, TallyEntry
from instant.entrypoints.retention_timer import PURGE_SCHEDULE
from instant.service.instant_service import InstantService
from instant.service.retention import TALLY_LIMIT_FACTOR, Retention
from instant.storage.order_store import PeriodOrderStore
from instant.storage.periods import LATE_WRITE, MAX_RETENTION
from tests.support.fake_rows import FakeRows
from tests.support.fakes import FakeClock, InMemoryOrderStore, InMemoryTallyStore
from tests.support.unit import CALLER, SETTINGS, World, build_world

RETENTION = timedelta(hours=SETTINGS.retention_hours)
SHIPMENT = shipment_id_for("caller-a", Channel.SMS, "login-1")


def sms(body: str = "Your code is 123456.") -> SmsOrder:
    return SmsOrder(
        idempotency_id="login-1",
        senders_reference=None,
        phone_number="+4799999999",
        ttl_seconds=300,
        sender=None,
        body=body,
    )


async def test_a_record_younger_than_the_retention_is_never_purged(world: World) -> None:
    await world.send(sms(), CALLER)
    world.clock.advance(RETENTION.total_seconds() - 1)
    # when
    report = await world.service.purge_expired()
    # then: kept, and a retry is still a replay that sends nothing
    assert report.orders == 0
    assert SHIPMENT in world.store.records
    again = await world.send(sms(), CALLER)
    assert again.status == 200
    assert len(world.sms.sent) == 1


async def test_an_expired_record_is_purged_and_its_key_is_free_again(world: World) -> None:
    await world.send(sms(), CALLER)
    world.clock.advance(RETENTION.total_seconds() + 1)
    # when
    report = await world.service.purge_expired()
    # then: the record is gone; its audit trail stays for AUDIT_RETENTION_DAYS
    assert report.orders == 1
    assert report.order_cutoff == world.clock.now() - RETENTION
    assert SHIPMENT not in world.store.records
    assert len(world.store.audits[SHIPMENT]) == 1
    # and the key starts a new order (the replay cache expired at the same moment): no replay
    again = await world.send(sms(), CALLER)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers
    assert len(world.sms.calls) == 2
    assert world.store.records[SHIPMENT].received_at == world.clock.now()  # a fresh record


async def test_the_replay_cache_expires_no_later_than_the_purge() -> None:
    # The cache holds an order until received_at + retention; the purge deletes it only after.
    world = build_world()
    await world.send(sms(), CALLER)
    world.clock.advance(RETENTION.total_seconds())
    assert world.service._guard._replays.get(SHIPMENT, world.clock.now()) is None
    assert (await world.service.purge_expired()).orders == 0  # exactly at the cutoff: kept


async def test_audit_entries_are_purged_after_their_own_retention() -> None:
    world = build_world(replace(SETTINGS, audit_retention_days=2))
    await world.send(sms(), CALLER)
    world.clock.advance(timedelta(days=2, seconds=1).total_seconds())
    report = await world.service.purge_expired()
    # the audit entry is gone; the order record (168 h) is not old enough yet
    assert (report.orders, report.audit_entries) == (0, 1)
    assert world.store.audits == {}
    assert SHIPMENT in world.store.records


async def test_each_run_is_bounded_by_the_purge_limit() -> None:
    world = build_world(replace(SETTINGS, purge_limit=2))
    for i in range(5):
        await world.send(replace(sms(), idempotency_id=f"k-{i}"), CALLER)
    world.clock.advance(RETENTION.total_seconds() + 1)
    reports = [await world.service.purge_expired() for _ in range(4)]
    assert [r.orders for r in reports] == [2, 2, 1, 0]
    assert [r.more_left for r in reports] == [True, True, False, False]
    assert world.store.records == {}


# -- the timer-triggered function -----------------------------------------------------------------


@pytest.fixture
def installed() -> Iterator[World]:
    world = build_world()

    async def factory(_: Settings) -> InstantService:
        return world.service

    bootstrap.use_factory(factory)
    yield world
    bootstrap.use_factory(None)


def timer_function() -> object:
    import function_app

    # get_functions() refuses to index twice (it remembers the names); forget them around the call.
    function_app.app.functions_bindings = None
    try:
        functions = function_app.app.get_functions()
    finally:
        function_app.app.functions_bindings = None
    (function,) = [f for f in functions if f.get_function_name() == "purge_expired"]
    return function


def test_the_purge_is_registered_as_an_hourly_timer() -> None:
    function = timer_function()
    trigger = function.get_trigger()  # type: ignore[attr-defined]
    assert trigger.type == "timerTrigger"
    assert trigger.schedule == PURGE_SCHEDULE
    assert PURGE_SCHEDULE.split()[2:] == ["*", "*", "*", "*"]  # every hour of every day
    assert trigger.run_on_startup is False


async def test_the_timer_function_purges_through_the_service(installed: World) -> None:
    await installed.send(sms(), CALLER)
    installed.clock.advance(RETENTION.total_seconds() + 60)
    handler = timer_function().get_user_function()  # type: ignore[attr-defined]
    # when
    await handler(TimerRequest(past_due=True))
    # then
    assert installed.store.records == {}


async def test_on_period_tables_an_expired_order_is_absent_and_its_month_goes_whole_after_audit_retention() -> None:
    # given: the production store over the in-memory rows, periods since September
    rows = FakeRows()
    clock = FakeClock(datetime(2026, 10, 20, tzinfo=UTC))
    store = PeriodOrderStore(
        rows, base="orders", retention=RETENTION, clock=clock, since=datetime(2026, 9, 1, tzinfo=UTC)
    )
    world = build_world(store=store, clock=clock)  # type: ignore[arg-type]
    retention = Retention(store=store, clock=clock, retention_hours=168, audit_retention_days=365, limit=100)
    first = await world.send(sms(), CALLER)
    assert first.status == 201 and ("orders202610" in rows.tables_)
    # when: a retention later, the key is free again without any delete
    clock.advance(RETENTION.total_seconds())
    report = await retention.purge()
    assert (report.orders, report.dropped) == (0, ())
    assert report.prepared == ("orders202610", "orders202611")
    # then: October's table goes whole once its last audit entry is a year old, not before
    end_of_october_writes = datetime(2026, 11, 1, tzinfo=UTC) + 2 * MAX_RETENTION + LATE_WRITE
    clock.current = end_of_october_writes + timedelta(days=365) - timedelta(seconds=1)
    assert (await retention.purge()).dropped == ()
    clock.current += timedelta(seconds=1)
    assert (await retention.purge()).dropped == ("orders202610",)
    assert "orders202610" not in rows.tables_


async def test_a_run_deletes_many_times_its_row_limit_of_tallies() -> None:
    # A day's expired tallies at national volume (a million recipients) must fit in 24 runs of
    # a limit sized for the base table's legacy rows.
    clock = FakeClock(datetime(2026, 11, 29, tzinfo=UTC))
    tallies = InMemoryTallyStore()
    old = clock.now() - timedelta(days=2)
    for n in range(2 * TALLY_LIMIT_FACTOR + 3):
        await tallies.write(Tally(f"recipient|sms|{n}", (TallyEntry(f"s{n}", old),), 1))
    retention = Retention(
        store=InMemoryOrderStore(), clock=clock, retention_hours=168, audit_retention_days=365, limit=2, tallies=tallies
    )
    first, second = await retention.purge(), await retention.purge()
    assert (first.tallies, first.more_left) == (2 * TALLY_LIMIT_FACTOR, True)
    assert (second.tallies, second.more_left) == (3, False)
