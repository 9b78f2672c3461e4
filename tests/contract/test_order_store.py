"""One contract for every OrderStore: the in-memory fake may never drift from Table Storage."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from instant.domain.errors import KeyAlreadyClaimed, RecordChanged
from instant.domain.ports import OrderStore
from instant.domain.records import (
    AuditEntry,
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
    shipment_id_for,
)
from instant.storage.order_store import PeriodOrderStore
from tests.support.builders import T0, audit_entry, order_record


def record(key: str, **changes: Any) -> OrderRecord:
    return order_record(key, **changes)


def audit(shipment_id: str, at: datetime, outcome: str = "created") -> AuditEntry:
    return audit_entry(shipment_id, at, outcome=outcome)


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


async def test_an_sms_audit_keeps_its_encoding_and_segments(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    sms = audit_entry(claimed.shipment_id, T0, sms_encoding="UCS-2", sms_segments=3)
    email = audit_entry(claimed.shipment_id, T0 + timedelta(seconds=1), channel=Channel.EMAIL)
    await store.append_audit(sms)
    await store.append_audit(email)
    entries = await store.audit_entries(claimed.shipment_id)
    assert [(e.sms_encoding, e.sms_segments) for e in entries] == [("UCS-2", 3), (None, None)]


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
        report_keys=("0123456789abcdef", "fedcba9876543210"),
    )
    await store.claim(full)
    assert await store.get(full.shipment_id) == full


async def test_a_delivery_report_audit_entry_round_trips(store: OrderStore, key: str) -> None:
    claimed = await store.claim(record(key))
    entry = audit_entry(
        claimed.shipment_id,
        T0,
        outcome="delivery_report",
        provider_status="Delivered",
        provider_details="No error.",
        event_id="Outgoing_20261126_1",
        event_time=T0 + timedelta(seconds=3),
    )
    await store.update(replace(claimed, status=RecipientStatus.SMS_DELIVERED), entry)
    assert await store.audit_entries(claimed.shipment_id) == [entry]


async def test_orders_with_prefix_finds_exactly_the_orders_in_the_key_range(store: OrderStore, key: str) -> None:
    mine = await store.claim(record(key))
    other = await store.claim(record(key + "-other"))
    prefix = mine.shipment_id[:19]
    found = await store.orders_with_prefix(prefix)
    assert [r.shipment_id for r in found] == [mine.shipment_id]
    assert found[0].etag == mine.etag
    assert other.shipment_id[:19] != prefix
    assert await store.orders_with_prefix("ffffffff-ffff-5fff-") == []


# -- retention ----------------------------------------------------------------------------------
# The purge takes its cutoff as an argument (the service computes it from its Clock), so these
# tests choose "now" freely. They run on a store of their own (empty_store): they count rows.

CUTOFF = T0  # has microseconds: the stores truncate it to whole milliseconds


async def claim_at(store: OrderStore, received_at: datetime) -> OrderRecord:
    key = f"purge-{uuid.uuid4().hex}"
    return await store.claim(record(key, received_at=received_at, first_sent_at=received_at, updated_at=received_at))


async def kept(store: OrderStore, records: list[OrderRecord]) -> list[bool]:
    return [await store.get(r.shipment_id) is not None for r in records]


async def test_purge_deletes_orders_before_the_cutoff_and_never_younger_ones(empty_store: OrderStore) -> None:
    # given
    old = [
        await claim_at(empty_store, CUTOFF - timedelta(days=30)),
        await claim_at(empty_store, CUTOFF - timedelta(milliseconds=1)),
    ]
    young = [
        await claim_at(empty_store, CUTOFF),
        await claim_at(empty_store, CUTOFF + timedelta(microseconds=1)),
        await claim_at(empty_store, CUTOFF + timedelta(hours=1)),
    ]
    # when
    deleted = await empty_store.purge_orders(CUTOFF, limit=100)
    # then
    assert deleted == 2
    assert await kept(empty_store, old) == [False, False]
    assert await kept(empty_store, young) == [True, True, True]
    assert await empty_store.purge_orders(CUTOFF, limit=100) == 0


async def test_purge_of_orders_keeps_their_audit_entries(empty_store: OrderStore) -> None:
    claimed = await claim_at(empty_store, CUTOFF - timedelta(hours=1))
    done = await empty_store.update(replace(claimed, state=OrderState.COMPLETED), audit(claimed.shipment_id, T0))
    assert await empty_store.purge_orders(CUTOFF, limit=10) == 1
    assert await empty_store.get(done.shipment_id) is None
    assert await empty_store.audit_entries(done.shipment_id) == [audit(done.shipment_id, T0)]


async def test_a_purged_key_can_be_claimed_again(empty_store: OrderStore) -> None:
    old = await claim_at(empty_store, CUTOFF - timedelta(hours=1))
    await empty_store.purge_orders(CUTOFF, limit=10)
    again = await empty_store.claim(replace(old, received_at=CUTOFF, etag=None))
    assert again.etag
    assert await empty_store.get(old.shipment_id) == again


async def test_purge_deletes_old_orders_in_bounded_batches(empty_store: OrderStore) -> None:
    old = [await claim_at(empty_store, CUTOFF - timedelta(hours=i + 1)) for i in range(7)]
    young = [await claim_at(empty_store, CUTOFF + timedelta(seconds=1)) for _ in range(2)]
    # each run deletes at most `limit`; the rest wait for the next run
    assert [await empty_store.purge_orders(CUTOFF, limit=3) for _ in range(4)] == [3, 3, 1, 0]
    assert not any(await kept(empty_store, old))
    assert all(await kept(empty_store, young))


async def test_purge_audit_deletes_entries_before_the_cutoff_only(empty_store: OrderStore, key: str) -> None:
    claimed = await claim_at(empty_store, CUTOFF - timedelta(days=1))
    sid = claimed.shipment_id
    entries = [
        audit(sid, CUTOFF - timedelta(days=1)),
        audit(sid, CUTOFF - timedelta(milliseconds=1)),
        audit(sid, CUTOFF, "at-cutoff"),
        audit(sid, CUTOFF + timedelta(microseconds=1), "after"),
    ]
    for entry in entries:
        await empty_store.append_audit(entry)
    # when
    assert await empty_store.purge_audit(CUTOFF, limit=100) == 2
    # then: younger entries and the order record itself are untouched
    assert await empty_store.audit_entries(sid) == entries[2:]
    assert await empty_store.get(sid) == claimed
    assert await empty_store.purge_audit(CUTOFF, limit=100) == 0


async def test_purge_audit_is_bounded(empty_store: OrderStore) -> None:
    claimed = await claim_at(empty_store, CUTOFF)
    for i in range(5):
        await empty_store.append_audit(audit(claimed.shipment_id, CUTOFF - timedelta(minutes=i + 1)))
    assert [await empty_store.purge_audit(CUTOFF, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    assert await empty_store.audit_entries(claimed.shipment_id) == []


async def test_two_purges_at_once_both_succeed_and_agree(empty_store: OrderStore) -> None:
    # given
    old = [await claim_at(empty_store, CUTOFF - timedelta(minutes=i + 1)) for i in range(12)]
    young = [await claim_at(empty_store, CUTOFF + timedelta(minutes=1)) for _ in range(3)]
    for r in old[:4]:
        for minutes in (1, 2):
            await empty_store.append_audit(audit(r.shipment_id, CUTOFF - timedelta(minutes=minutes)))
    # when
    orders = await asyncio.gather(
        empty_store.purge_orders(CUTOFF, limit=100), empty_store.purge_orders(CUTOFF, limit=100)
    )
    audits = await asyncio.gather(
        empty_store.purge_audit(CUTOFF, limit=100), empty_store.purge_audit(CUTOFF, limit=100)
    )
    # then: no error, the same end state as one purge; a row the other run deleted first counts as done
    assert all(0 <= n <= 12 for n in orders) and sum(orders) >= 12
    assert all(0 <= n <= 8 for n in audits) and sum(audits) >= 8
    assert not any(await kept(empty_store, old))
    assert all(await kept(empty_store, young))
    assert [await empty_store.audit_entries(r.shipment_id) for r in old[:4]] == [[]] * 4


async def test_purge_leaves_a_record_changed_after_it_was_found(memory_store: OrderStore) -> None:
    # The fake yields between finding a record and deleting it, as the Table store's two
    # requests do; an update that lands in between changes the ETag.
    claimed = await claim_at(memory_store, CUTOFF - timedelta(hours=1))
    deleted, updated = await asyncio.gather(
        memory_store.purge_orders(CUTOFF, limit=10),
        memory_store.update(replace(claimed, lease_owner="taker"), None),
    )
    assert deleted == 0
    assert await memory_store.get(claimed.shipment_id) == updated


async def test_table_purge_deletes_with_an_etag_match(
    empty_table_store: OrderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a request updates the record between the purge's query and its delete
    assert isinstance(empty_table_store, PeriodOrderStore)
    claimed = await claim_at(empty_table_store, CUTOFF - timedelta(hours=1))
    rows = empty_table_store._rows
    real_delete = rows.delete
    updated: list[OrderRecord] = []

    async def delete_after_an_update(*args: Any, **kwargs: Any) -> bool:
        if not updated:
            updated.append(await empty_table_store.update(replace(claimed, lease_owner="taker"), None))
        return await real_delete(*args, **kwargs)

    monkeypatch.setattr(rows, "delete", delete_after_an_update)
    # when
    deleted = await empty_table_store.purge_orders(CUTOFF, limit=10)
    # then: the 412 leaves the record for the next run
    assert deleted == 0
    assert await empty_table_store.get(claimed.shipment_id) == updated[0]
    monkeypatch.undo()
    assert await empty_table_store.purge_orders(CUTOFF, limit=10) == 1
