"""The Rows port in memory, with Table Storage's conflict, ETag and missing-table rules. Kept
honest against the Azure adapter by tests/contract/test_rows.py.

``step`` is awaited before every operation, which then runs without yielding: the interleaving
scheduler (tests/support/interleavings.py) pauses each request there, so one operation is one
step.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.storage.rows import Entity, Row, RowExists

Step = Callable[[str, str, str], Awaitable[None]]
# Characters Table Storage refuses in a PartitionKey or RowKey.
_FORBIDDEN = set("/\\#?")


def _keys(entity: Entity) -> tuple[str, str]:
    keys = (str(entity["PartitionKey"]), str(entity["RowKey"]))
    if any(c in _FORBIDDEN for key in keys for c in key):
        raise StorageUnavailable("a key has a character Table Storage forbids")
    return keys


class FakeRows:
    """Tables of rows in dicts."""

    def __init__(self, step: Step | None = None) -> None:
        self.tables_: dict[str, dict[tuple[str, str], Row]] = {}
        self.available = True
        self.requests = 0
        self.step = step
        self._etags = itertools.count(1)

    async def _begin(self, op: str, table: str, key: str = "") -> None:
        if self.step is not None:
            await self.step(op, table, key)
        self.requests += 1
        if not self.available:
            raise StorageUnavailable("the fake rows are down")

    def _stamp(self, table: str, entity: Entity) -> str:
        etag = f'W/"{next(self._etags)}"'
        keys = _keys(entity)
        # Table Storage has no null: a property set to None is not stored at all.
        stored = {name: value for name, value in entity.items() if value is not None}
        self.tables_.setdefault(table, {})[keys] = Row(stored, etag)
        return etag

    async def insert(self, table: str, entity: Entity) -> str:
        """See ``Rows.insert``."""
        await self._begin("insert", table, str(entity["PartitionKey"]))
        if _keys(entity) in self.tables_.get(table, {}):
            raise RowExists(table)
        return self._stamp(table, entity)

    async def read(self, table: str, partition: str, row: str) -> Row | None:
        """See ``Rows.read``."""
        await self._begin("read", table, partition)
        return self.tables_.get(table, {}).get((partition, row))

    async def replace(self, table: str, entity: Entity, etag: str, *, insert: Entity | None = None) -> str:
        """See ``Rows.replace``."""
        if insert is not None and insert["PartitionKey"] != entity["PartitionKey"]:
            # The SDK refuses a transaction over two partitions before sending it.
            raise ValueError("Partition Keys in the batch must all be the same.")
        await self._begin("replace", table, str(entity["PartitionKey"]))
        current = self.tables_.get(table, {}).get(_keys(entity))
        if current is None or current.etag != etag:
            raise RecordChanged("etag mismatch")
        if insert is not None and _keys(insert) in self.tables_[table]:
            raise RecordChanged("the inserted row exists")
        new = self._stamp(table, entity)
        if insert is not None:
            self._stamp(table, insert)
        return new

    async def delete(self, table: str, partition: str, row: str, etag: str | None) -> bool:
        """See ``Rows.delete``."""
        await self._begin("delete", table, partition)
        rows = self.tables_.get(table, {})
        current = rows.get((partition, row))
        if current is not None and etag is not None and current.etag != etag:
            return False
        rows.pop((partition, row), None)
        return True

    async def partition(self, table: str, partition: str, row_from: str, row_to: str) -> list[Row]:
        """See ``Rows.partition``."""
        await self._begin("query", table, partition)
        rows = self.tables_.get(table, {})
        return [r for (pk, rk), r in sorted(rows.items()) if pk == partition and row_from < rk < row_to]

    async def partitions(self, table: str, first: str, end: str, row: str) -> list[Row]:
        """See ``Rows.partitions``."""
        await self._begin("query", table, first)
        rows = self.tables_.get(table, {})
        return [r for (pk, rk), r in sorted(rows.items()) if first <= pk < end and rk == row]

    async def older(
        self, table: str, row_from: str, row_to: str, time_property: str, before: datetime, limit: int
    ) -> list[Row]:
        """See ``Rows.older``."""
        await self._begin("scan", table)
        rows = self.tables_.get(table, {})
        found = [
            r
            for (_, rk), r in sorted(rows.items())
            if row_from <= rk <= row_to and isinstance(t := r.entity.get(time_property), datetime) and t < before
        ]
        return found[: max(limit, 0)]

    async def tables(self, prefix: str) -> list[str]:
        """See ``Rows.tables``."""
        await self._begin("tables", prefix)
        return sorted(t for t in self.tables_ if t.startswith(prefix))

    async def create(self, table: str) -> None:
        """See ``Rows.create``."""
        await self._begin("create", table)
        self.tables_.setdefault(table, {})

    async def drop(self, table: str) -> None:
        """See ``Rows.drop``."""
        await self._begin("drop", table)
        self.tables_.pop(table, None)

    async def close(self) -> None:
        """Nothing to release."""
        return None

    def rows_in(self, table: str) -> dict[tuple[str, str], dict[str, Any]]:
        """The entities of one table (for assertions)."""
        return {k: dict(r.entity) for k, r in self.tables_.get(table, {}).items()}
