"""Storage answers that get lost on the way back (issue "Hardening", points 3 and 7).

These drive the idempotency guard with the in-memory store, wrapped to misbehave exactly where
a real Table Storage call can: a transaction that commits but whose answer never arrives (the
client times out, retries, and meets the new ETag: 412), and a read that fails in the middle of
a takeover. The store's contract suite (tests/contract) keeps the fake honest.
"""

from __future__ import annotations

import json
from datetime import datetime

from instant.domain.digests import PLAIN
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.domain.orders import SmsOrder
from instant.domain.records import AuditEntry, Channel, OrderRecord, OrderState, shipment_id_for
from instant.idempotency import transitions
from tests.support.fakes import InMemoryOrderStore
from tests.support.reliability import figure
from tests.support.unit import CALLER, build_world

BODY = "Your code is 424242."


def order(key: str) -> SmsOrder:
    return SmsOrder(key, None, "+4799999999", 300, None, BODY)


class CommitsThenLosesTheAnswer(InMemoryOrderStore):
    """The final write commits, but its caller sees what a retried request would: 412."""

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        stored = await super().update(record, audit)
        if record.state is OrderState.COMPLETED:
            raise RecordChanged("the retry of a committed transaction met the new ETag")
        return stored


class ReadFailsDuringTakeover(InMemoryOrderStore):
    """A takeover loses its ETag race, and the read that follows finds storage down."""

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if record.attempts > 1:  # a takeover's update
            raise RecordChanged("another request moved the record first")
        return await super().update(record, audit)

    async def get(self, shipment_id: str) -> OrderRecord | None:
        raise StorageUnavailable("storage went down between the takeover and the read")


async def test_a_request_recognises_its_own_committed_final_write() -> None:
    # given: a final write that commits, then reports 412 (its answer was lost)
    world = build_world(store=CommitsThenLosesTheAnswer())
    # when
    answer = await world.send(order("lost-answer"), CALLER)
    # then: the request answers 201 once (it was a 200 replay of itself), with one audit entry
    shipment_id = shipment_id_for("caller-a", Channel.SMS, "lost-answer")
    assert answer.status == 201, answer.body
    assert "Idempotent-Replayed" not in answer.headers
    assert json.loads(answer.body)["notification"]["status"] == "SMS_Accepted"
    entries = world.store.audits[shipment_id]
    assert [(e.outcome, e.http_status, e.replay) for e in entries] == [("created", 201, False)]
    assert len(world.sms.sent) == 1
    # and a retry is an ordinary replay of that answer
    again = await world.send(order("lost-answer"), CALLER)
    assert (again.status, again.body) == (200, answer.body)
    figure("final write committed, answer lost", "201 once, one audit entry (was 200 replayed + a 2nd entry)")


async def test_a_read_that_fails_during_a_takeover_is_storage_unavailable() -> None:
    # given: an order parked after the provider failed transiently, so the next request takes it over
    store = ReadFailsDuringTakeover()
    world = build_world(store=store)
    key = "takeover-read"
    parked = await store.claim(_parked_record(world.clock.now(), key))
    assert parked.state is OrderState.RETRYABLE
    # when the takeover loses its race and the read after it fails
    answer = await world.send(order(key), CALLER)
    # then: 503 storage_unavailable with Retry-After (it was an unhandled error: 500)
    assert (answer.status, json.loads(answer.body)["code"]) == (503, "storage_unavailable"), answer.body
    assert answer.headers["Retry-After"] == "1"
    assert world.sms.sent == []


def _parked_record(now: datetime, key: str) -> OrderRecord:
    """The record a request leaves when every attempt failed transiently (RETRYABLE)."""
    draft = transitions.draft(
        order(key),
        caller="caller-a",
        sender="Instant",
        fingerprint=order(key).fingerprint(PLAIN),
        now=now,
        lease_seconds=13,
        lease_owner="gone",
    )
    return transitions.park(draft, status=draft.status, may_have_reached=False, now=now)
