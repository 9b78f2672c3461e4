"""The Rows contract on a table that does not exist (never created, or dropped by retention):
every read answers empty, a delete answers done, a transaction answers RecordChanged, so a
request that meets a missing period table never gets a 500. Both rows (conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from instant.domain.errors import RecordChanged
from instant.storage.rows import Rows

T = datetime(2026, 11, 1, tzinfo=UTC)


async def test_range_reads_of_a_missing_table_are_empty(rows: Rows, prefix: str) -> None:
    table = f"{prefix}missing"
    assert await rows.partition(table, "p", "audit|", "audit}") == []
    assert await rows.partitions(table, "a", "z", "order") == []
    assert await rows.older(table, "order", "order", "ReceivedAt", T, 10) == []


async def test_a_delete_in_a_missing_table_answers_done(rows: Rows, prefix: str) -> None:
    assert await rows.delete(f"{prefix}missing", "p", "r", None) is True
    assert await rows.delete(f"{prefix}missing", "p", "r", "W/\"datetime'2026-11-01T00%3A00%3A00Z'\"") is True


async def test_a_transaction_in_a_missing_table_raises_record_changed(rows: Rows, prefix: str) -> None:
    # a real ETag, from a table that exists, on a key the missing one would hold
    etag = await rows.insert(f"{prefix}a", {"PartitionKey": "p", "RowKey": "order"})
    with pytest.raises(RecordChanged):
        await rows.replace(
            f"{prefix}missing",
            {"PartitionKey": "p", "RowKey": "order"},
            etag,
            insert={"PartitionKey": "p", "RowKey": "audit|1"},
        )
