"""One contract for every TallyStore: the in-memory fake may never drift from Table Storage."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables.aio import TableClient

from instant.adapters.table_retry import TABLE_CLIENT_OPTIONS
from instant.adapters.table_tallies import TableTallyStore, tally_entity
from instant.domain.errors import RecordChanged
from instant.domain.tallies import Tally, TallyEntry, TallyStore
from instant.limits.budget import KEPT_ENTRIES
from sandbox.services import AzuriteProcess
from tests.support.fakes import InMemoryTallyStore

AT = datetime(2026, 11, 26, 10, 0, 0, 123000, tzinfo=UTC)


@pytest.fixture
def memory_tallies() -> TallyStore:
    return InMemoryTallyStore()


@pytest.fixture
async def table_tallies(azurite: AzuriteProcess) -> AsyncIterator[TallyStore]:
    client = TableClient.from_connection_string(azurite.connection_string, "contract", **TABLE_CLIENT_OPTIONS)
    store = TableTallyStore(client, create_table=True)
    yield store
    await store.close()


@pytest.fixture(params=["memory_tallies", "table_tallies"])
def tallies(request: pytest.FixtureRequest) -> TallyStore:
    chosen: TallyStore = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
def tally_key() -> str:
    return f"recipient|sms|{uuid.uuid4().hex}"


async def test_a_missing_tally_reads_empty(tallies: TallyStore, tally_key: str) -> None:
    assert await tallies.read(tally_key) == Tally(tally_key)


async def test_written_entries_read_back_to_the_millisecond(tallies: TallyStore, tally_key: str) -> None:
    entries = (TallyEntry("ship-1", AT, 1), TallyEntry("ship-2", AT, 3))
    written = await tallies.write(Tally(tally_key, entries, 4))
    assert written.etag
    read = await tallies.read(tally_key)
    assert (read.entries, read.total, read.etag) == (entries, 4, written.etag)


async def test_a_second_create_loses(tallies: TallyStore, tally_key: str) -> None:
    await tallies.write(Tally(tally_key, (TallyEntry("a", AT),), 1))
    with pytest.raises(RecordChanged):
        await tallies.write(Tally(tally_key, (TallyEntry("b", AT),), 1))
    assert [e.shipment_id for e in (await tallies.read(tally_key)).entries] == ["a"]


async def test_a_stale_etag_loses(tallies: TallyStore, tally_key: str) -> None:
    first = await tallies.write(Tally(tally_key, (TallyEntry("a", AT),), 1))
    second = await tallies.write(Tally(tally_key, (TallyEntry("a", AT), TallyEntry("b", AT)), 2, first.etag))
    assert second.etag != first.etag
    with pytest.raises(RecordChanged):
        await tallies.write(Tally(tally_key, (TallyEntry("c", AT),), 2, first.etag))
    assert (await tallies.read(tally_key)).total == 2


async def test_concurrent_updates_from_one_read_have_exactly_one_winner(tallies: TallyStore, tally_key: str) -> None:
    base = await tallies.write(Tally(tally_key))
    results = await asyncio.gather(
        *(tallies.write(Tally(tally_key, (TallyEntry(f"s{i}", AT),), 1, base.etag)) for i in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Tally) for r in results) == 1
    assert sum(isinstance(r, RecordChanged) for r in results) == 7


async def test_a_full_budget_tally_fits_one_entity(tallies: TallyStore, tally_key: str) -> None:
    entries = tuple(TallyEntry(str(uuid.uuid4()), AT, 10) for _ in range(KEPT_ENTRIES))
    await tallies.write(Tally(tally_key, entries, 10 * KEPT_ENTRIES))
    assert (await tallies.read(tally_key)).entries == entries
    assert len(tally_entity(Tally(tally_key, entries))["Entries"]) < 32_000  # Table Storage's string limit


async def test_purge_deletes_tallies_by_their_newest_entry(tallies: TallyStore) -> None:
    old, fresh, empty = (f"recipient|sms|{uuid.uuid4().hex}" for _ in range(3))
    await tallies.write(Tally(old, (TallyEntry("a", AT - timedelta(days=3)), TallyEntry("b", AT - timedelta(days=2)))))
    await tallies.write(Tally(fresh, (TallyEntry("a", AT - timedelta(days=3)), TallyEntry("b", AT)), 2))
    await tallies.write(Tally(empty))
    # The cutoff is a moment no other test's tallies are older than: the table is shared.
    deleted = await tallies.purge(AT - timedelta(days=1), limit=1000)
    assert deleted >= 2
    assert (await tallies.read(old)).etag is None
    assert (await tallies.read(empty)).etag is None
    assert (await tallies.read(fresh)).total == 2


async def test_purge_leaves_a_tally_counted_since_it_was_found(memory_tallies: TallyStore, tally_key: str) -> None:
    # The fake yields between finding a tally and deleting it, as the Table store's two
    # requests do; a send counted in between changes the ETag.
    first = await memory_tallies.write(Tally(tally_key, (TallyEntry("a", AT - timedelta(days=2)),), 1))
    deleted, counted = await asyncio.gather(
        memory_tallies.purge(AT, limit=10),
        memory_tallies.write(Tally(tally_key, (TallyEntry("b", AT),), 1, first.etag)),
    )
    assert deleted == 0
    assert await memory_tallies.read(tally_key) == counted
