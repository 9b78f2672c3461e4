"""Answers that get lost between the service and Table Storage, and races around a held key.

Each test drives the service on the in-memory store, wrapped to misbehave exactly where a real
Table Storage call can (a committed write whose answer is lost, a record that changes or vanishes
in between); the contract suite keeps the fake honest. They came from a review of the send path.
"""

from __future__ import annotations

from dataclasses import replace

from instant.domain.errors import KeyAlreadyClaimed, ProviderUnavailable, RecordChanged
from instant.domain.orders import SmsOrder
from instant.domain.records import AuditEntry, Channel, OrderRecord, OrderState, shipment_id_for
from tests.support.fakes import InMemoryOrderStore
from tests.support.unit import CALLER, build_world

SID = shipment_id_for(CALLER.caller, Channel.SMS, "k")


def sms(key: str, ttl: int = 300) -> SmsOrder:
    return SmsOrder(key, None, "+4799999999", ttl, None, "Your code is 123456.")


class TakeoverAlwaysLoses(InMemoryOrderStore):
    lose = False

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if self.lose and record.state is OrderState.IN_PROGRESS:
            self._touch()
            current = self.records[record.shipment_id]
            self._stamp(current)  # another request moved it (e.g. took it over and parked it on a 429)
            raise RecordChanged("etag mismatch")
        return await super().update(record, audit)


async def test_a_409_after_three_lost_takeover_rounds_is_audited() -> None:
    store = TakeoverAlwaysLoses()
    world = build_world(store=store)
    world.sms.script = [ProviderUnavailable("down")] * 100
    assert (await world.send(sms("k"), CALLER)).status == 503  # parked, retryable
    store.lose = True
    answer = await world.send(sms("k"), CALLER)
    assert answer.status == 409
    outcomes = [(a.outcome, a.http_status) for a in store.audits[SID]]
    assert outcomes == [("provider_unavailable", 503), ("request_in_progress", 409)], outcomes


class PurgedDuringTakeover(InMemoryOrderStore):
    lose = False

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if self.lose and record.state is OrderState.IN_PROGRESS:
            self._touch()
            del self.records[record.shipment_id]  # the retention purge got there in between
            raise RecordChanged("gone")
        return await super().update(record, audit)


async def test_a_409_after_a_purge_during_a_takeover_is_audited() -> None:
    store = PurgedDuringTakeover()
    world = build_world(store=store)
    world.sms.script = [ProviderUnavailable("down")] * 100
    assert (await world.send(sms("k"), CALLER)).status == 503
    store.lose = True
    answer = await world.send(sms("k"), CALLER)
    outcomes = [(a.outcome, a.http_status) for a in store.audits[SID]]
    assert (answer.status, outcomes[-1]) == (409, ("request_in_progress", 409)), (answer.status, outcomes)


class TakenOverBeforeFinalWrite(InMemoryOrderStore):
    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if record.state is OrderState.COMPLETED and record.attempts == 1:
            self._touch()
            current = self.records[record.shipment_id]
            self._stamp(replace(current, lease_owner="someone-else", attempts=2))
            raise RecordChanged("taken over")
        return await super().update(record, audit)


async def test_a_409_from_a_lost_final_write_is_not_audited_as_a_replay() -> None:
    store = TakenOverBeforeFinalWrite()
    world = build_world(store=store)
    answer = await world.send(sms("k"), CALLER)
    entries = [(a.outcome, a.http_status, a.replay) for a in store.audits[SID]]
    assert answer.status == 409
    assert entries == [("request_in_progress", 409, False)], entries


class CommitThenLoseAnswer(InMemoryOrderStore):
    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if record.state is OrderState.COMPLETED:
            await super().update(record, audit)  # commits, with its 'created' entry
            self.available = False  # the client's retry saw 412; the follow-up read fails
            raise RecordChanged("412 on the client's retry")
        return await super().update(record, audit)

    async def append_audit(self, audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        self.audits.setdefault(audit.shipment_id, []).append(audit)  # storage flickers back


async def test_a_committed_final_write_whose_reread_fails_keeps_acs_answer() -> None:
    store = CommitThenLoseAnswer()
    world = build_world(store=store)
    answer = await world.send(sms("k"), CALLER)
    store.available = True
    entries = [(a.outcome, a.http_status, a.replay) for a in store.audits[SID]]
    stored = store.records[SID].answer
    assert (answer.status, entries) == (201, [("created", 201, False)]), (
        answer.status,
        entries,
        stored and stored.status,
    )


async def test_retry_after_zero_does_not_hammer_the_provider() -> None:
    world = build_world()
    world.sms.script = [ProviderUnavailable("busy", retry_after=0.0)] * 500
    answer = await world.send(sms("k"), CALLER)
    assert len(world.sms.calls) <= 10, (answer.status, len(world.sms.calls), world.clock.slept[:5])


class ClaimCommitsThenConflicts(InMemoryOrderStore):
    async def claim(self, record: OrderRecord) -> OrderRecord:
        stored = await super().claim(record)  # committed; the response timed out
        raise KeyAlreadyClaimed(stored)  # what PeriodOrderStore.claim raises when its retried insert meets itself


async def test_an_own_committed_claim_is_recognised() -> None:
    store = ClaimCommitsThenConflicts()
    world = build_world(store=store)
    answer = await world.send(sms("k"), CALLER)
    entries = [(a.outcome, a.http_status) for a in store.audits.get(SID, [])]
    assert (answer.status, len(world.sms.sent)) == (201, 1), (answer.status, entries, store.records[SID].state)


class TakeoverCommitsThenConflicts(InMemoryOrderStore):
    armed = False

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        stored = await super().update(record, audit)
        if self.armed and record.state is OrderState.IN_PROGRESS:
            self.armed = False
            raise RecordChanged("412 on the client's retry of a committed takeover")
        return stored


async def test_an_own_committed_takeover_is_recognised() -> None:
    store = TakeoverCommitsThenConflicts()
    world = build_world(store=store)
    world.sms.script = [ProviderUnavailable("down")] * 100
    assert (await world.send(sms("k"), CALLER)).status == 503  # parked, nothing reached ACS
    world.sms.script = []
    store.armed = True
    answer = await world.send(sms("k"), CALLER)
    entries = [(a.outcome, a.http_status) for a in store.audits.get(SID, [])]
    assert (answer.status, len(world.sms.sent)) == (201, 1), (answer.status, entries, store.records[SID].state)
