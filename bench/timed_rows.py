"""A Rows port (instant/storage/rows.py) that times the scans of the legacy purge (``older``)
and passes every call through, so the capacity bench can tell a scan's time from the deletes'."""

from __future__ import annotations

import time
from datetime import datetime

from instant.storage.rows import Entity, Row, Rows


class TimedRows:
    """Rows that add the wall time of each ``older`` call to ``scan_seconds``."""

    def __init__(self, inner: Rows) -> None:
        self.inner = inner
        self.scan_seconds = 0.0

    async def older(
        self, table: str, row_from: str, row_to: str, time_property: str, before: datetime, limit: int
    ) -> list[Row]:
        """See ``Rows.older``; timed."""
        started = time.perf_counter()
        try:
            return await self.inner.older(table, row_from, row_to, time_property, before, limit)
        finally:
            self.scan_seconds += time.perf_counter() - started

    async def insert(self, table: str, entity: Entity) -> str:
        """See ``Rows.insert``."""
        return await self.inner.insert(table, entity)

    async def read(self, table: str, partition: str, row: str) -> Row | None:
        """See ``Rows.read``."""
        return await self.inner.read(table, partition, row)

    async def replace(self, table: str, entity: Entity, etag: str, *, insert: Entity | None = None) -> str:
        """See ``Rows.replace``."""
        return await self.inner.replace(table, entity, etag, insert=insert)

    async def delete(self, table: str, partition: str, row: str, etag: str | None) -> bool:
        """See ``Rows.delete``."""
        return await self.inner.delete(table, partition, row, etag)

    async def partition(self, table: str, partition: str, row_from: str, row_to: str) -> list[Row]:
        """See ``Rows.partition``."""
        return await self.inner.partition(table, partition, row_from, row_to)

    async def partitions(self, table: str, first: str, end: str, row: str) -> list[Row]:
        """See ``Rows.partitions``."""
        return await self.inner.partitions(table, first, end, row)

    async def tables(self, prefix: str) -> list[str]:
        """See ``Rows.tables``."""
        return await self.inner.tables(prefix)

    async def create(self, table: str) -> None:
        """See ``Rows.create``."""
        await self.inner.create(table)

    async def drop(self, table: str) -> None:
        """See ``Rows.drop``."""
        await self.inner.drop(table)

    async def close(self) -> None:
        """See ``Rows.close``."""
        await self.inner.close()
