"""The Rows contract, continued (tests/contract/test_rows.py): range reads, the purge scan, table
listing and dropping, for the in-memory rows and for Table Storage alike; and the adapter's refusal
to recreate a table that vanished under it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from instant.adapters.table_rows import TableRows
from instant.domain.errors import StorageUnavailable
from instant.storage.rows import Rows
from sandbox.services import AzuriteProcess
from tests.support.stores import table_rows

T = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)


def entity(pk: str, rk: str, **props: Any) -> dict[str, Any]:
    return {"PartitionKey": pk, "RowKey": rk, **props}


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
