"""One contract for every Rows (instant/storage/rows.py): the in-memory rows the interleaving
proof runs on (tests/support/fake_rows.py) may never drift from Table Storage (Azurite, through
instant/adapters/table_rows.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from instant.adapters.table_rows import TableRows
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.storage.rows import RowExists, Rows
from sandbox.services import AzuriteProcess
from tests.support.fake_rows import FakeRows
from tests.support.stores import table_rows

T = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def prefix() -> str:
    """A table name prefix of this test's own (no other test's tables share it)."""
    return f"rows{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def azure_rows(azurite: AzuriteProcess, prefix: str) -> AsyncIterator[TableRows]:
    rows = table_rows(azurite.connection_string)
    yield rows
    for name in await rows.tables(prefix):
        await rows.drop(name)
    await rows.close()


@pytest.fixture(params=["fake", "azure_rows"])
def rows(request: pytest.FixtureRequest) -> Rows:
    # A sync fixture, so pytest-asyncio can set up the async one it names.
    if request.param == "fake":
        return FakeRows()
    chosen: Rows = request.getfixturevalue(request.param)
    return chosen


def entity(pk: str, rk: str, **props: Any) -> dict[str, Any]:
    return {"PartitionKey": pk, "RowKey": rk, **props}


async def test_an_insert_over_an_existing_row_raises_row_exists_and_keeps_the_first(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    await rows.insert(table, entity("p", "r", Value="first"))
    with pytest.raises(RowExists):
        await rows.insert(table, entity("p", "r", Value="second"))
    found = await rows.read(table, "p", "r")
    assert found is not None and found.entity["Value"] == "first"


async def test_an_insert_into_a_missing_table_creates_it(rows: Rows, prefix: str) -> None:
    table = f"{prefix}new"
    assert await rows.tables(prefix) == []
    etag = await rows.insert(table, entity("p", "r", Value="v", At=T))
    found = await rows.read(table, "p", "r")
    assert found is not None and found.etag == etag
    assert (found.entity["PartitionKey"], found.entity["RowKey"], found.entity["Value"]) == ("p", "r", "v")
    assert found.entity["At"] == T
    assert await rows.tables(prefix) == [table]


async def test_a_property_set_to_none_is_not_stored(rows: Rows, prefix: str) -> None:
    # Table Storage has no null: the SDK leaves the property out, so it reads back missing (an
    # entity["Deadline"] on an order without one would fail on Azure, so it must in the fake too).
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "r", Deadline=None, Value="v"))
    found = await rows.read(table, "p", "r")
    assert found is not None and "Deadline" not in found.entity and found.entity["Value"] == "v"
    await rows.replace(table, entity("p", "r", Deadline=T, Value=None), etag)
    found = await rows.read(table, "p", "r")
    assert found is not None and "Value" not in found.entity and found.entity["Deadline"] == T


async def test_a_missing_row_or_table_reads_as_none(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    assert await rows.read(f"{prefix}missing", "p", "r") is None
    await rows.insert(table, entity("p", "r"))
    assert await rows.read(table, "p", "other") is None
    assert await rows.read(table, "other", "r") is None


async def test_a_replace_with_the_current_etag_writes_and_returns_the_new_one(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    first = await rows.insert(table, entity("p", "r", Value="old"))
    second = await rows.replace(table, entity("p", "r", Value="new"), first)
    found = await rows.read(table, "p", "r")
    assert found is not None and (found.entity["Value"], found.etag) == ("new", second)
    assert second != first


async def test_a_replace_with_a_stale_etag_raises_record_changed_and_changes_nothing(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    stale = await rows.insert(table, entity("p", "r", Value="v1"))
    current = await rows.replace(table, entity("p", "r", Value="v2"), stale)
    with pytest.raises(RecordChanged):
        await rows.replace(table, entity("p", "r", Value="v3"), stale)
    found = await rows.read(table, "p", "r")
    assert found is not None and (found.entity["Value"], found.etag) == ("v2", current)


async def test_a_replace_of_a_gone_row_or_table_raises_record_changed(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "r"))
    assert await rows.delete(table, "p", "r", etag)
    with pytest.raises(RecordChanged):
        await rows.replace(table, entity("p", "r", Value="back"), etag)
    with pytest.raises(RecordChanged):
        await rows.replace(f"{prefix}missing", entity("p", "r"), etag)
    assert await rows.read(table, "p", "r") is None


async def test_a_replace_with_an_insert_writes_both_in_one_transaction(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "order", Value="old"))
    new = await rows.replace(table, entity("p", "order", Value="new"), etag, insert=entity("p", "audit|1", Note="a"))
    order, audit = await rows.read(table, "p", "order"), await rows.read(table, "p", "audit|1")
    assert order is not None and (order.entity["Value"], order.etag) == ("new", new)
    assert audit is not None and audit.entity["Note"] == "a"


async def test_a_replace_whose_insert_exists_does_not_replace_either(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "order", Value="old"))
    await rows.insert(table, entity("p", "audit|1", Note="first"))
    with pytest.raises(RecordChanged):
        await rows.replace(table, entity("p", "order", Value="new"), etag, insert=entity("p", "audit|1", Note="2nd"))
    order, audit = await rows.read(table, "p", "order"), await rows.read(table, "p", "audit|1")
    assert order is not None and (order.entity["Value"], order.etag) == ("old", etag)
    assert audit is not None and audit.entity["Note"] == "first"


async def test_a_stale_replace_does_not_insert_either(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    stale = await rows.insert(table, entity("p", "order", Value="v1"))
    await rows.replace(table, entity("p", "order", Value="v2"), stale)
    with pytest.raises(RecordChanged):
        await rows.replace(table, entity("p", "order", Value="v3"), stale, insert=entity("p", "audit|1"))
    assert await rows.read(table, "p", "audit|1") is None


async def test_a_replace_may_insert_only_into_its_own_partition(rows: Rows, prefix: str) -> None:
    # One transaction is one partition: the SDK refuses another before sending anything.
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "order", Value="old"))
    with pytest.raises(ValueError, match="Partition Keys"):
        await rows.replace(table, entity("p", "order", Value="new"), etag, insert=entity("q", "audit|1"))
    found = await rows.read(table, "p", "order")
    assert found is not None and (found.entity["Value"], found.etag) == ("old", etag)
    assert await rows.read(table, "q", "audit|1") is None


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "a#b", "a?b"])
async def test_a_key_with_a_character_table_storage_forbids_is_refused(rows: Rows, prefix: str, bad: str) -> None:
    # Shipment ids are UUIDs and never meet this; the fake must not accept what Azure refuses.
    with pytest.raises(StorageUnavailable):
        await rows.insert(f"{prefix}a", entity(bad, "r"))
    with pytest.raises(StorageUnavailable):
        await rows.insert(f"{prefix}a", entity("p", bad))


async def test_a_delete_with_the_current_etag_or_none_removes_the_row(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "r1"))
    await rows.insert(table, entity("p", "r2"))
    assert await rows.delete(table, "p", "r1", etag) is True
    assert await rows.delete(table, "p", "r2", None) is True
    assert await rows.read(table, "p", "r1") is None and await rows.read(table, "p", "r2") is None


async def test_a_delete_with_a_stale_etag_answers_false_and_keeps_the_row(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    stale = await rows.insert(table, entity("p", "r", Value="v1"))
    await rows.replace(table, entity("p", "r", Value="v2"), stale)
    assert await rows.delete(table, "p", "r", stale) is False
    found = await rows.read(table, "p", "r")
    assert found is not None and found.entity["Value"] == "v2"


async def test_a_delete_of_a_row_already_gone_answers_true(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    etag = await rows.insert(table, entity("p", "r"))
    assert await rows.delete(table, "p", "r", None) is True
    assert await rows.delete(table, "p", "r", etag) is True
    assert await rows.delete(table, "p", "never", None) is True
    assert await rows.delete(f"{prefix}missing", "p", "r", etag) is True


async def test_partition_reads_one_partition_with_both_row_bounds_exclusive(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    for rk in ["audit", "audit|1", "audit|2", "audit}", "order"]:
        await rows.insert(table, entity("p", rk))
    await rows.insert(table, entity("q", "audit|1"))
    found = await rows.partition(table, "p", "audit", "audit}")
    assert [(r.entity["PartitionKey"], r.entity["RowKey"]) for r in found] == [("p", "audit|1"), ("p", "audit|2")]
    assert all(r.etag for r in found)
    assert await rows.partition(f"{prefix}missing", "p", "audit", "audit}") == []


async def test_partitions_reads_one_row_key_in_a_partition_range_first_inclusive_end_exclusive(
    rows: Rows, prefix: str
) -> None:
    table = f"{prefix}a"
    for pk in ["k", "k-1", "k-2", "k~", "l"]:
        await rows.insert(table, entity(pk, "order"))
        await rows.insert(table, entity(pk, "audit|1"))
    found = await rows.partitions(table, "k", "k~", "order")
    assert [(r.entity["PartitionKey"], r.entity["RowKey"]) for r in found] == [
        ("k", "order"),
        ("k-1", "order"),
        ("k-2", "order"),
    ]
    assert await rows.partitions(f"{prefix}missing", "k", "k~", "order") == []


async def test_older_finds_rows_strictly_before_the_cutoff_in_an_inclusive_row_range(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    before, at, after = T - timedelta(microseconds=1), T, T + timedelta(seconds=1)
    await rows.insert(table, entity("a", "order", ReceivedAt=before))  # found
    await rows.insert(table, entity("b", "order", ReceivedAt=at))  # at the cutoff: not before it
    await rows.insert(table, entity("c", "order", ReceivedAt=after))
    await rows.insert(table, entity("d", "order"))  # no time at all
    await rows.insert(table, entity("e", "audit|1", ReceivedAt=before))  # outside the row range
    await rows.insert(table, entity("f", "orders", ReceivedAt=before))  # just past it
    found = await rows.older(table, "order", "order", "ReceivedAt", T, 10)
    assert [(r.entity["PartitionKey"], r.entity["RowKey"]) for r in found] == [("a", "order")]
    assert [r.entity["PartitionKey"] for r in await rows.older(table, "audit|", "order", "ReceivedAt", T, 10)] == [
        "a",
        "e",
    ]
    assert await rows.older(f"{prefix}missing", "order", "order", "ReceivedAt", T, 10) == []


async def test_older_stops_at_the_limit_and_its_etags_delete(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    for i in range(5):
        await rows.insert(table, entity(f"k{i}", "order", ReceivedAt=T - timedelta(days=1)))
    found = await rows.older(table, "order", "order", "ReceivedAt", T, 3)
    assert len(found) == 3 and await rows.older(table, "order", "order", "ReceivedAt", T, 0) == []
    # The legacy purge deletes what it found, ETag-matched: the ETag of a scan must match.
    for row in found:
        assert await rows.delete(table, row.entity["PartitionKey"], row.entity["RowKey"], row.etag) is True
    assert len(await rows.older(table, "order", "order", "ReceivedAt", T, 10)) == 2


async def test_tables_lists_the_names_with_the_prefix(rows: Rows, prefix: str) -> None:
    for name in [prefix, f"{prefix}202611", f"{prefix}202612"]:
        await rows.create(name)
    await rows.create(f"{prefix}202611")  # creating an existing table is fine
    await rows.insert(f"{prefix[:-1]}x{prefix[-1]}", entity("p", "r"))  # a neighbour, not listed
    try:
        assert await rows.tables(prefix) == [prefix, f"{prefix}202611", f"{prefix}202612"]
        assert await rows.tables(f"{prefix}2026") == [f"{prefix}202611", f"{prefix}202612"]
    finally:
        await rows.drop(f"{prefix[:-1]}x{prefix[-1]}")


async def test_a_dropped_table_reads_as_none_and_a_second_drop_is_fine(rows: Rows, prefix: str) -> None:
    table = f"{prefix}a"
    await rows.insert(table, entity("p", "r"))
    await rows.drop(table)
    assert await rows.read(table, "p", "r") is None
    assert await rows.tables(prefix) == []
    await rows.drop(table)
    await rows.drop(f"{prefix}missing")


async def test_a_table_the_adapter_wrote_to_and_finds_gone_is_refused(
    azure_rows: TableRows, azurite: AzuriteProcess, prefix: str
) -> None:
    # TableRows only: a table that vanished under a worker (storage lost its data) stays a 503
    # rather than a new empty table that forgets every key. The fake keeps no such memory.
    table = f"{prefix}a"
    await azure_rows.insert(table, entity("p", "r"))
    other = table_rows(azurite.connection_string)  # another worker, or storage losing its data
    try:
        await other.drop(table)
    finally:
        await other.close()
    with pytest.raises(StorageUnavailable):
        await azure_rows.insert(table, entity("p", "r2"))
    assert await azure_rows.tables(prefix) == []
    # A table it dropped itself is not "vanished": the next insert creates it again.
    await azure_rows.insert(f"{prefix}b", entity("p", "r"))
    await azure_rows.drop(f"{prefix}b")
    await azure_rows.insert(f"{prefix}b", entity("p", "r"))
    assert await azure_rows.read(f"{prefix}b", "p", "r") is not None
