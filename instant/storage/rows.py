"""The row-level seam under the order store: a few Table Storage operations, one request each.

The period protocol (instant/storage/order_store.py, claims.py) is written once against this
port, so the exhaustive interleaving test drives the same code against the in-memory rows
(tests/support/fake_rows.py) that production runs against Azure (instant/adapters/table_rows.py).
Entities are plain mappings in Table Storage's shape (instant/storage/entities.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

Entity = Mapping[str, Any]


class RowExists(Exception):
    """A conditional insert met a row with the same keys."""


@dataclass(frozen=True)
class Row:
    """One stored entity and the ETag it was read or written with."""

    entity: Entity
    etag: str


class Rows(Protocol):
    """Tables of rows keyed by (PartitionKey, RowKey). Every method is one request (a paged read
    one request per page). All raise StorageUnavailable when storage cannot answer."""

    async def insert(self, table: str, entity: Entity) -> str:
        """Insert if no row has its keys (the table is created when missing); the new ETag.
        Raises RowExists."""
        ...

    async def read(self, table: str, partition: str, row: str) -> Row | None:
        """Point read; None when the row or the whole table is missing."""
        ...

    async def replace(self, table: str, entity: Entity, etag: str, *, insert: Entity | None = None) -> str:
        """Replace the row if its ETag still equals ``etag``, and insert ``insert`` (same
        partition) in the same transaction. The new ETag. Raises RecordChanged (changed, gone)."""
        ...

    async def delete(self, table: str, partition: str, row: str, etag: str | None) -> bool:
        """Delete (only if unchanged, with an ETag). True when deleted or already gone, False
        when it changed since ``etag``."""
        ...

    async def partition(self, table: str, partition: str, row_from: str, row_to: str) -> list[Row]:
        """The rows of one partition with row_from < RowKey < row_to; [] for a missing table."""
        ...

    async def partitions(self, table: str, first: str, end: str, row: str) -> list[Row]:
        """The rows with RowKey ``row`` and first <= PartitionKey < end; [] for a missing table."""
        ...

    async def older(
        self, table: str, row_from: str, row_to: str, time_property: str, before: datetime, limit: int
    ) -> list[Row]:
        """At most ``limit`` rows with row_from <= RowKey <= row_to and ``time_property`` before
        ``before`` (a scan: the legacy table's purge only); [] for a missing table."""
        ...

    async def tables(self, prefix: str) -> list[str]:
        """The names of the tables that start with ``prefix``."""
        ...

    async def create(self, table: str) -> None:
        """Create the table if it is missing."""
        ...

    async def drop(self, table: str) -> None:
        """Delete the whole table (gone already is fine)."""
        ...

    async def close(self) -> None:
        """Release the client."""
        ...
