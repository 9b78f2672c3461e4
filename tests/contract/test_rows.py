"""One contract for every Rows (instant/storage/rows.py): the in-memory rows the interleaving
proof runs on (tests/support/fake_rows.py) may never drift from Table Storage (Azurite, through
instant/adapters/table_rows.py). Here the writes; range reads, scans and tables: test_rows_reads.py;
the fixtures (``rows`` runs each test on both): conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.storage.rows import RowExists, Rows

T = datetime(2026, 11, 1, 12, 0, 0, 250000, tzinfo=UTC)


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
