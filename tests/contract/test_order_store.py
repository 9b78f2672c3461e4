"""One contract for every OrderStore: the in-memory fake may never drift from Table Storage."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from instant.errors import KeyAlreadyClaimed, RecordChanged
from instant.idempotency import (
    AuditEntry,
    Channel,
    Fingerprint,
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
    order_id_for,
    shipment_id_for,
)
from instant.ports import OrderStore

T0 = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)


def record(key: str, **changes: object) -> OrderRecord:
    base = OrderRecord(
        shipment_id=shipment_id_for("caller-a", Channel.SMS, key),
        order_id=order_id_for("caller-a", Channel.SMS, key),
        caller="caller-a",
        channel=Channel.SMS,
        idempotency_id=key,
        fingerprint=Fingerprint.of({"recipientSms.phoneNumber": "+4799999999", "recipientSms.smsSettings.body": "b"}),
        state=OrderState.IN_PROGRESS,
        status=RecipientStatus.SMS_SENDING,
        received_at=T0,
        first_sent_at=T0,
        deadline=T0 + timedelta(seconds=300),
        ttl_seconds=300,
        recipient="+4799999999",
        sender="Instant",
        senders_reference=None,
        updated_at=T0,
        lease_until=T0 + timedelta(seconds=13),
        lease_owner="owner-1",
        attempts=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def audit(shipment_id: str, at: datetime, outcome: str = "created") -> AuditEntry:
    return AuditEntry(
        shipment_id=shipment_id,
        at=at,
        caller="caller-a",
        channel=Channel.SMS,
        idempotency_id="k",
        recipient="+4799999999",
        sender="Instant",
        outcome=outcome,
        http_status=201,
        replay=False,
        provider_id="msg-1",
        ttl_seconds=300,
        latency_ms=12,
        trace_id="0" * 32,
        body_sha256="a" * 64,
        body_length=10,
        status="SMS_Accepted",
    )


async def test_claim_returns_the_record_with_an_etag(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    assert claimed.etag
    assert claimed == record(key)  # etag is not part of equality
    assert await store.get(claimed.shipment_id) == record(key)


async def test_second_claim_raises_with_the_existing_record(store: OrderStore, key: str) -> None:
    await store.claim(record(key))
    with pytest.raises(KeyAlreadyClaimed) as raised:
        await store.claim(record(key, lease_owner="owner-2"))
    assert raised.value.existing.lease_owner == "owner-1"
    assert raised.value.existing.etag


async def test_concurrent_claims_have_exactly_one_winner(store: OrderStore, key: str) -> None:
    results = await asyncio.gather(
        *(store.claim(record(key, lease_owner=f"owner-{i}")) for i in range(10)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, OrderRecord)]
    losers = [r for r in results if isinstance(r, KeyAlreadyClaimed)]
    assert len(winners) == 1
    assert len(losers) == 9


async def test_get_of_unknown_id_is_none(store: OrderStore, key: str) -> None:
    assert await store.get(shipment_id_for("nobody", Channel.SMS, key)) is None


async def test_update_with_current_etag_writes_state_and_audit_together(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    answer = StoredAnswer(201, '{"x":1}', "created")
    done = replace(claimed, state=OrderState.COMPLETED, status=RecipientStatus.SMS_ACCEPTED, answer=answer)
    # when
    updated = await store.update(done, audit(claimed.shipment_id, T0))
    # then
    assert updated.etag and updated.etag != claimed.etag
    stored = await store.get(claimed.shipment_id)
    assert stored is not None
    assert stored.state is OrderState.COMPLETED
    assert stored.answer == answer
    assert stored.etag == updated.etag
    assert await store.audit_entries(claimed.shipment_id) == [audit(claimed.shipment_id, T0)]


async def test_update_with_stale_etag_changes_nothing(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    moved = await store.update(replace(claimed, lease_owner="owner-2"), None)
    # when the first holder writes with its old ETag
    with pytest.raises(RecordChanged):
        await store.update(replace(claimed, state=OrderState.COMPLETED), audit(claimed.shipment_id, T0))
    # then neither the state nor an audit entry was written
    stored = await store.get(claimed.shipment_id)
    assert stored is not None
    assert stored.lease_owner == "owner-2"
    assert stored.state is OrderState.IN_PROGRESS
    assert stored.etag == moved.etag
    assert await store.audit_entries(claimed.shipment_id) == []


async def test_concurrent_takeovers_have_exactly_one_winner(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    results = await asyncio.gather(
        *(store.update(replace(claimed, lease_owner=f"taker-{i}"), None) for i in range(8)), return_exceptions=True
    )
    assert sum(isinstance(r, OrderRecord) for r in results) == 1
    assert sum(isinstance(r, RecordChanged) for r in results) == 7


async def test_update_of_a_missing_record_is_record_changed(store: OrderStore, key: str) -> None:
    with pytest.raises(RecordChanged):
        await store.update(replace(record(key), etag="W/\"datetime'2020-01-01T00%3A00%3A00Z'\""), None)


async def test_audit_entries_are_kept_in_time_order(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    later, earlier = audit(claimed.shipment_id, T0 + timedelta(seconds=2), "replay"), audit(claimed.shipment_id, T0)
    await store.append_audit(later)
    await store.append_audit(earlier)
    await store.append_audit(earlier)  # two entries at the same instant are both kept
    assert await store.audit_entries(claimed.shipment_id) == [earlier, earlier, later]


async def test_every_field_round_trips(store: OrderStore, key: str) -> None:
    full = record(
        key,
        channel=Channel.EMAIL,
        deadline=None,
        ttl_seconds=None,
        senders_reference="ref-ÆØÅ",
        lease_until=None,
        lease_owner=None,
        may_have_reached_provider=True,
        provider_id="op-1",
        attempts=3,
        state=OrderState.RETRYABLE,
        status=RecipientStatus.EMAIL_SENDING,
        recipient="user@example.com",
        answer=StoredAnswer(422, '{"code":"recipient_rejected","detail":"æ"}', "recipient_rejected"),
    )
    await store.claim(full)
    assert await store.get(full.shipment_id) == full
