"""The controls inside the service, on fakes: where a send is counted, what never counts, what a
refusal leaves behind, and that a retry after a refusal or a transient failure is not counted
twice."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

from instant.domain.errors import ProviderUnavailable
from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.ports import EmailContentType
from instant.domain.records import Channel, OrderState, shipment_id_for
from instant.limits.policy import LimitSettings
from instant.limits.rates import RateLimit
from tests.support.unit import CALLER, OTHER_CALLER, SETTINGS, World, build_world

FIVE = (RateLimit(5, 600), RateLimit(20, 86400))


def limited(**limits: object) -> World:
    defaults: dict[str, object] = {"sms_recipient_limits": FIVE}
    defaults.update(limits)
    return build_world(replace(SETTINGS, limits=LimitSettings(**defaults)))  # type: ignore[arg-type]


def sms(key: str, phone: str = "+4799999999", body: str = "Your code is 123456.", ttl: int = 300) -> SmsOrder:
    return SmsOrder(key, None, phone, ttl, None, body)


def code(body: str) -> str:
    return str(json.loads(body)["code"])


async def test_the_sixth_new_order_to_a_number_gets_429_with_retry_after_and_nothing_is_sent() -> None:
    world = limited()
    for i in range(5):
        assert (await world.send(sms(f"k{i}"), CALLER if i % 2 else OTHER_CALLER)).status == 201
    world.clock.advance(100)
    refused = await world.send(sms("k5"), CALLER)
    assert (refused.status, code(refused.body)) == (429, "recipient_rate_limited")
    assert dict(refused.headers)["Retry-After"] == "500"  # the first send leaves the window in 500 s
    assert len(world.sms.sent) == 5
    # Audited, not stored: the record is parked for a retry (its first receipt, and so its
    # time-to-live, stay), with no answer kept.
    shipment = shipment_id_for(CALLER.caller, Channel.SMS, "k5")
    assert [(a.outcome, a.http_status) for a in world.store.audits[shipment]] == [("recipient_rate_limited", 429)]
    parked = world.store.records[shipment]
    assert (parked.state, parked.answer) == (OrderState.RETRYABLE, None)


async def test_a_refused_key_may_be_sent_again_once_the_window_has_room() -> None:
    world = limited()
    for i in range(5):
        await world.send(sms(f"k{i}"), CALLER)
    assert (await world.send(sms("late", ttl=3600), CALLER)).status == 429
    world.clock.advance(601)
    assert (await world.send(sms("late", ttl=3600), CALLER)).status == 201
    assert len(world.sms.sent) == 6
    # the retry kept the first receipt: its deadline did not restart
    late = world.store.records[shipment_id_for(CALLER.caller, Channel.SMS, "late")]
    assert late.deadline == late.received_at + timedelta(seconds=3600)
    assert late.received_at == world.clock.now() - timedelta(seconds=601)


async def test_a_refusal_never_restarts_the_time_to_live() -> None:
    world = limited()
    for i in range(5):
        await world.send(sms(f"k{i}"), CALLER)
    assert (await world.send(sms("late", ttl=300), CALLER)).status == 429
    world.clock.advance(601)  # room in the window again, but the key's 300 s have run out
    answer = await world.send(sms("late", ttl=300), CALLER)
    assert (answer.status, code(answer.body)) == (410, "ttl_expired")
    assert len(world.sms.sent) == 5


async def test_a_takeover_refused_by_the_limit_is_parked_with_its_first_receipt() -> None:
    world = limited(sms_recipient_limits=(RateLimit(1, 600),))
    world.tallies.available = False
    assert (await world.send(sms("k0"), CALLER)).status == 503  # not counted, claim given back
    world.tallies.available = True
    await world.send(sms("other"), CALLER)  # fills the window
    world.sms.script = [ProviderUnavailable("down")] * 50
    world.clock.advance(601)
    assert (await world.send(sms("k1"), CALLER)).status == 503  # counted, then parked by the provider
    world.sms.script = []
    await world.send(sms("k2"), CALLER)  # k1's place is still counted: k2 waits
    shipment = shipment_id_for(CALLER.caller, Channel.SMS, "k1")
    assert world.store.records[shipment].state is OrderState.RETRYABLE
    world.clock.advance(601)  # k1's count left the window; a third send fills it
    assert (await world.send(sms("k3"), CALLER)).status == 201
    received = world.store.records[shipment].received_at
    assert (await world.send(sms("k1"), CALLER)).status == 429  # a takeover, now over the limit
    assert world.store.records[shipment].state is OrderState.RETRYABLE
    assert world.store.records[shipment].received_at == received


async def test_replays_409s_422s_and_refusals_never_count() -> None:
    world = limited()
    await world.send(sms("k0"), CALLER)
    for _ in range(10):
        assert (await world.send(sms("k0"), CALLER)).status == 200  # replays
    assert (await world.send(sms("k0", body="another body"), CALLER)).status == 422
    for i in range(1, 5):
        assert (await world.send(sms(f"k{i}"), CALLER)).status == 201
    for i in range(5, 9):
        assert (await world.send(sms(f"k{i}", ttl=3600), CALLER)).status == 429
    world.clock.advance(601)  # the five counted leave the window; the refusals never entered it
    for i in range(5, 10):
        assert (await world.send(sms(f"k{i}", ttl=3600), CALLER)).status == 201


async def test_a_takeover_of_a_counted_order_is_not_counted_twice() -> None:
    world = limited(sms_recipient_limits=(RateLimit(1, 600),))
    world.sms.script = [ProviderUnavailable("down")] * 50
    first = await world.send(sms("k0"), CALLER)
    assert first.status == 503
    world.sms.script = []
    assert (await world.send(sms("k0"), CALLER)).status == 201  # the retry takes over
    tally = next(iter(world.tallies.tallies.values()))
    assert [e.shipment_id for e in tally.entries] == [shipment_id_for(CALLER.caller, Channel.SMS, "k0")]
    assert (await world.send(sms("k1"), CALLER)).status == 429


async def test_forty_concurrent_keys_to_one_number_send_exactly_five() -> None:
    world = limited()
    answers = await asyncio.gather(*(world.send(sms(f"race-{i}"), CALLER) for i in range(40)))
    statuses = sorted(a.status for a in answers)
    assert statuses.count(201) == 5
    assert statuses.count(429) == 35
    assert len(world.sms.sent) == 5


async def test_one_write_and_no_read_per_new_send_and_nothing_per_replay() -> None:
    world = limited()
    await world.send(sms("k0"), CALLER)
    assert (world.tallies.reads, world.tallies.writes) == (0, 1)
    await world.send(sms("k0"), CALLER)
    assert (world.tallies.reads, world.tallies.writes) == (0, 1)
    await world.send(sms("k1"), CALLER)  # the worker remembers the tally it wrote: one replace
    assert (world.tallies.reads, world.tallies.writes) == (0, 2)


async def test_channels_and_numbers_are_counted_apart_and_only_as_digests() -> None:
    world = limited(sms_recipient_limits=(RateLimit(1, 600),), email_recipient_limits=(RateLimit(1, 600),))
    mail = EmailOrder("m0", None, "user@example.no", "s", "b", EmailContentType.PLAIN, None)
    assert (await world.send(sms("k0"), CALLER)).status == 201
    assert (await world.send(sms("k1", phone="+4798765432"), CALLER)).status == 201
    assert (await world.send(mail, CALLER)).status == 201
    assert (await world.send(replace(mail, idempotency_id="m1"), CALLER)).status == 429
    keys = " ".join(world.tallies.tallies)
    assert "99999999" not in keys and "user@" not in keys


async def test_the_daily_budget_counts_segments_and_refuses_until_midnight() -> None:
    world = limited(sms_recipient_limits=(), sms_daily_segment_budget=3)
    two_segments = "a" * 161
    assert (await world.send(sms("k0", body=two_segments), CALLER)).status == 201
    refused = await world.send(sms("k1", body=two_segments), CALLER)
    assert (refused.status, code(refused.body)) == (429, "caller_budget_exhausted")
    assert dict(refused.headers)["Retry-After"] == str(14 * 3600)  # the fake clock starts at 10:00 UTC
    assert (await world.send(sms("k2"), CALLER)).status == 201  # one segment still fits
    assert (await world.send(sms("k3", body=two_segments), OTHER_CALLER)).status == 201


async def test_a_recipient_refusal_takes_the_send_out_of_the_budget_again() -> None:
    world = limited(sms_recipient_limits=(RateLimit(1, 600),), sms_daily_segment_budget=100)
    await world.send(sms("k0"), CALLER)
    assert (await world.send(sms("k1"), CALLER)).status == 429
    budget = next(t for key, t in world.tallies.tallies.items() if key.startswith("budget|"))
    assert budget.total == 1
    assert len(budget.entries) == 1


async def test_counters_down_means_503_and_nothing_sent() -> None:
    world = limited()
    world.tallies.available = False
    answer = await world.send(sms("k0"), CALLER)
    assert (answer.status, code(answer.body)) == (503, "storage_unavailable")
    assert world.sms.sent == []
    world.tallies.available = True
    assert (await world.send(sms("k0"), CALLER)).status == 201  # the same key, later


async def test_refusals_at_validation_touch_no_storage() -> None:
    world = limited(sms_allowed_countries=frozenset({"NO"}), sms_max_segments=1)
    for order in (sms("k0", phone="+46701234567"), sms("k1", body="a" * 161)):
        assert (await world.send(order, CALLER)).status == 400
    assert (world.store.requests, world.tallies.reads, world.tallies.writes) == (0, 0, 0)


async def test_the_audit_records_encoding_and_segments_of_every_sms() -> None:
    world = limited(sms_recipient_limits=())
    await world.send(sms("k0", body="Koden din er 123456 🔐"), CALLER)
    await world.send(sms("k1", body="æ" * 200), CALLER)
    entries = [a for audits in world.store.audits.values() for a in audits]
    assert sorted((a.sms_encoding, a.sms_segments) for a in entries) == [("GSM-7", 2), ("UCS-2", 1)]


async def test_the_purge_drops_tallies_only_once_they_count_for_nothing() -> None:
    world = limited(sms_daily_segment_budget=100)
    await world.send(sms("k0"), CALLER)
    world.clock.advance(86_400 - 1)  # the day limit still counts the send
    report = await world.service.purge_expired()
    assert (report.tallies, len(world.tallies.tallies)) == (0, 2)
    world.clock.advance(2)
    report = await world.service.purge_expired()
    assert (report.tallies, world.tallies.tallies) == (2, {})
