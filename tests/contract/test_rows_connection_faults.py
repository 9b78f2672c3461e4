"""Writes whose connection breaks (tests/support/connection_faults.py), on Azurite.

A pooled keep-alive connection can break under a write: closed by the server as it was reused,
or dropped by a load balancer. azure-core retries a broken GET, but not a broken POST, PUT or
MERGE, as it cannot know whether the server carried it out. Every write here is conditional (an
insert, an ETag match), so retrying one is safe, and TableRows does (instant/adapters/table_rows.py):

- broken before it reached storage: the retry does the write, and the caller never knows;
- carried out, its answer lost: the retry meets the write, and reports what any later request
  would (the row exists, the ETag moved); the callers already take that as "look again".

Before that, a write on a broken connection was a 503 storage_unavailable: a caller retrying a
passcode got a 503 between its 503 provider_unavailable answers (tests/reliability/test_ttl.py).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables.aio import TableClient

from instant.adapters.table_retry import TABLE_CLIENT_OPTIONS
from instant.adapters.table_rows import TableRows
from instant.adapters.table_tallies import TableTallyStore
from instant.domain.errors import KeyAlreadyClaimed, RecordChanged
from instant.domain.tallies import Tally, TallyEntry
from instant.storage.rows import RowExists
from sandbox.services import AzuriteProcess
from tests.support.builders import T0, audit_entry, order_record
from tests.support.connection_faults import ConnectionFaults, Moment, connection_faults
from tests.support.fakes import FakeClock
from tests.support.stores import period_store, table_rows


@pytest.fixture
async def proxy(azurite: AzuriteProcess) -> AsyncIterator[ConnectionFaults]:
    async with connection_faults(azurite.connection_string) as running:
        yield running


@pytest.fixture
async def broken(proxy: ConnectionFaults, azurite: AzuriteProcess) -> AsyncIterator[TableRows]:
    """Rows whose connections go through the proxy."""
    rows = table_rows(proxy.connection_string)
    yield rows
    await rows.close()


@pytest.fixture
async def direct(azurite: AzuriteProcess) -> AsyncIterator[TableRows]:
    """Rows straight to Azurite, to look at what was written."""
    rows = table_rows(azurite.connection_string)
    yield rows
    await rows.close()


@pytest.fixture
async def table(direct: TableRows) -> str:
    name = f"broken{uuid.uuid4().hex[:12]}"
    await direct.create(name)
    return name


def entity(value: str, pk: str = "p", rk: str = "r") -> dict[str, Any]:
    return {"PartitionKey": pk, "RowKey": rk, "Value": value}


async def test_an_insert_broken_before_storage_is_written_once(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str
) -> None:
    proxy.break_next("POST", "before")
    etag = await broken.insert(table, entity("v"))
    assert [moment for _, moment in proxy.broken] == ["before"]
    found = await direct.read(table, "p", "r")
    assert found is not None and (found.entity["Value"], found.etag) == ("v", etag)


async def test_an_insert_whose_answer_is_lost_meets_itself_as_an_existing_row(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str
) -> None:
    proxy.break_next("POST", "after")
    with pytest.raises(RowExists):
        await broken.insert(table, entity("v"))
    assert [moment for _, moment in proxy.broken] == ["after"]
    found = await direct.read(table, "p", "r")
    assert found is not None and found.entity["Value"] == "v"


async def test_two_broken_connections_in_a_row_are_still_retried(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str
) -> None:
    # Several pooled connections can break at once (the server closed them all).
    proxy.break_next("POST", "before", count=2)
    await broken.insert(table, entity("v"))
    assert len(proxy.broken) == 2
    assert await direct.read(table, "p", "r") is not None


async def test_a_replace_broken_before_storage_is_written(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str
) -> None:
    etag = await direct.insert(table, entity("old"))
    proxy.break_next("PUT", "before")
    new_etag = await broken.replace(table, entity("new"), etag)
    found = await direct.read(table, "p", "r")
    assert found is not None and (found.entity["Value"], found.etag) == ("new", new_etag)
    assert len(proxy.broken) == 1


async def test_a_replace_whose_answer_is_lost_reports_the_moved_etag(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str
) -> None:
    etag = await direct.insert(table, entity("old"))
    proxy.break_next("PUT", "after")
    with pytest.raises(RecordChanged):
        await broken.replace(table, entity("new"), etag)
    found = await direct.read(table, "p", "r")
    assert found is not None and found.entity["Value"] == "new"


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_transaction_on_a_broken_connection_is_carried_out_once(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str, moment: Moment
) -> None:
    etag = await direct.insert(table, entity("old"))
    proxy.break_next("POST", moment)
    if moment == "before":
        await broken.replace(table, entity("new"), etag, insert=entity("audit", rk="audit|1"))
    else:
        with pytest.raises(RecordChanged):
            await broken.replace(table, entity("new"), etag, insert=entity("audit", rk="audit|1"))
    order, audit = await direct.read(table, "p", "r"), await direct.read(table, "p", "audit|1")
    assert order is not None and order.entity["Value"] == "new"
    assert audit is not None and audit.entity["Value"] == "audit"
    assert len(proxy.broken) == 1


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_delete_on_a_broken_connection_deletes(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows, table: str, moment: Moment
) -> None:
    etag = await direct.insert(table, entity("v"))
    proxy.break_next("DELETE", moment)
    assert await broken.delete(table, "p", "r", etag) is True
    assert await direct.read(table, "p", "r") is None
    assert len(proxy.broken) == 1


async def test_a_table_create_on_a_broken_connection_creates_it(
    proxy: ConnectionFaults, broken: TableRows, direct: TableRows
) -> None:
    name = f"broken{uuid.uuid4().hex[:12]}"
    proxy.break_next("POST", "after")
    await broken.create(name)
    assert name in await direct.tables(name)


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_tally_written_on_a_broken_connection_is_counted_once(
    proxy: ConnectionFaults, azurite: AzuriteProcess, table: str, moment: Moment
) -> None:
    client = TableClient.from_connection_string(proxy.connection_string, table, **TABLE_CLIENT_OPTIONS)
    tallies = TableTallyStore(client)
    try:
        key = f"recipient|sms|{uuid.uuid4().hex}"
        entry = TallyEntry("shipment-1", datetime(2026, 11, 29, 12, tzinfo=UTC), 1)
        proxy.break_next("POST", moment)
        if moment == "before":
            await tallies.write(Tally(key, (entry,), 1))
        else:
            # as for any lost write: the gate reads the tally again and finds its entry there
            with pytest.raises(RecordChanged):
                await tallies.write(Tally(key, (entry,), 1))
        found = await tallies.read(key)
        assert (found.entries, found.total) == ((entry,), 1)
        assert len(proxy.broken) == 1
    finally:
        await client.close()


@pytest.mark.parametrize("moment", ["before", "after"])
async def test_a_claim_and_an_audit_entry_on_broken_connections_are_stored_once(
    proxy: ConnectionFaults, azurite: AzuriteProcess, moment: Moment
) -> None:
    base = f"broken{uuid.uuid4().hex[:12]}"
    store = period_store(proxy.connection_string, base, since=T0 - timedelta(days=40), clock=FakeClock(T0))
    try:
        await store.claim(order_record("an earlier order"))  # its table exists: the next POST is the claim
        record = order_record(f"key-{uuid.uuid4().hex}")
        proxy.break_next("POST", moment)
        if moment == "before":
            held = await store.claim(record)
        else:
            # the retried insert meets the claim: the store answers with the order it holds,
            # which the guard recognises as its own (the same lease owner)
            with pytest.raises(KeyAlreadyClaimed) as claimed:
                await store.claim(record)
            held = claimed.value.existing
        assert (held.shipment_id, held.lease_owner) == (record.shipment_id, record.lease_owner)
        # an audit entry's row key is its own (time and a random suffix): meeting it means it was written
        proxy.break_next("POST", moment)
        await store.append_audit(audit_entry(record.shipment_id, T0), beside=held)
        assert len(await store.audit_entries(record.shipment_id)) == 1
        assert len(proxy.broken) == 2
    finally:
        await store.close()
