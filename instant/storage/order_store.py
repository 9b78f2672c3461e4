"""OrderStore over storage periods (instant/storage/periods.py): a table per month, dropped
whole once its audit entries are past retention; the base table of earlier versions is the
period before the first (read until its orders age out, and purged row by row as before).

Requests per call, away from a period's start / near it (the first ``retention`` of a period):
claim 1 / 2 (instant/storage/claims.py); get 1 / 2 reads (2 when the key has a link: the link,
then its order); update 1 transaction; orders_with_prefix 1 / 2 range reads (away, a point read
more per order found through a link).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from instant.domain.clock import Clock
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.domain.ports import purge_cutoff
from instant.domain.records import AuditEntry, OrderRecord
from instant.storage.claims import PeriodClaims
from instant.storage.entities import (
    AUDIT_ROW_END,
    AUDIT_ROW_PREFIX,
    ORDER_ROW,
    audit_entity,
    audit_from,
    is_link,
    order_entity,
    stored,
)
from instant.storage.periods import PeriodLayout
from instant.storage.rows import Row, RowExists, Rows

# Where ``since`` is recorded: a row of its own in the base table.
LAYOUT_PARTITION = "layout"
LAYOUT_ROW = "periods"


class PeriodOrderStore:
    """Orders and their audit entries in a table per period (see the module docstring)."""

    def __init__(
        self, rows: Rows, *, base: str, retention: timedelta, clock: Clock, since: datetime | None = None
    ) -> None:
        self._rows = rows
        self._base = base
        self._retention = retention
        self._clock = clock
        self._claims = PeriodClaims(rows)
        self._layout: PeriodLayout | None = None if since is None else PeriodLayout(base, since, retention)
        self._loading = asyncio.Lock()

    async def layout(self) -> PeriodLayout:
        """The layout; its ``since`` is read once per worker (written by the first one ever)."""
        if self._layout is not None:
            return self._layout
        async with self._loading:
            if self._layout is None:
                self._layout = PeriodLayout(self._base, await self._since(), self._retention)
        return self._layout

    async def _since(self) -> datetime:
        found = await self._rows.read(self._base, LAYOUT_PARTITION, LAYOUT_ROW)
        if found is None and await self._period_tables_exist():
            # Read again: the first worker may have written it, and a table, since our read.
            found = await self._rows.read(self._base, LAYOUT_PARTITION, LAYOUT_ROW)
            if found is None:
                # The row was lost (a restore, a hand edit): a new ``since`` would place orders
                # and name tables differently, and leave the earlier tables undropped forever.
                raise StorageUnavailable("the storage layout row is missing but period tables exist")
        if found is None:
            try:
                # Whole seconds: every store keeps them exactly (Azurite keeps only milliseconds),
                # so this worker and every later one place the boundary at the same instant.
                now = self._clock.now().replace(microsecond=0)
                await self._rows.insert(
                    self._base, {"PartitionKey": LAYOUT_PARTITION, "RowKey": LAYOUT_ROW, "Since": now}
                )
                return now
            except RowExists:
                found = await self._rows.read(self._base, LAYOUT_PARTITION, LAYOUT_ROW)
        if found is None or not isinstance(found.entity.get("Since"), datetime):
            raise StorageUnavailable("the storage layout row is not readable")
        since: datetime = found.entity["Since"]
        return since.astimezone(UTC)

    async def _period_tables_exist(self) -> bool:
        """True when a table named ``<base>YYYYMM`` exists (one listing, only while no layout row)."""
        names = await self._rows.tables(self._base)
        return any(len(n) == len(self._base) + 6 and n[len(self._base) :].isdigit() for n in names)

    async def claim(self, record: OrderRecord) -> OrderRecord:
        """See ``OrderStore.claim``."""
        return await self._claims.claim(await self.layout(), record)

    async def get(self, shipment_id: str) -> OrderRecord | None:
        """The key's live order: the current table first, the older one near a period's start."""
        layout = await self.layout()
        now = self._clock.now()
        where = layout.where(now)
        if where.older is None:
            found = await self._rows.read(where.current.table, shipment_id, ORDER_ROW)
            return await self._claims.live_row(layout, where.current.table, found, now)
        in_current, in_older = await asyncio.gather(
            self._rows.read(where.current.table, shipment_id, ORDER_ROW),
            self._rows.read(where.older.table, shipment_id, ORDER_ROW),
        )
        if in_current is not None and not is_link(in_current.entity):
            return await self._claims.live_row(layout, where.current.table, in_current, now)
        return await self._claims.live_row(layout, where.older.table, in_older, now)

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """ETag-matched replace plus the audit insert, one transaction in the order's table."""
        if record.etag is None or record.stored_in is None:
            raise RecordChanged("the record was not read from this store")
        entry = audit_entity(audit) if audit is not None else None
        etag = await self._rows.replace(record.stored_in, order_entity(record), record.etag, insert=entry)
        return stored(record, record.stored_in, etag)

    async def append_audit(self, audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        """Insert one audit entry, in the table of the order it belongs to."""
        table = beside.stored_in if beside is not None and beside.stored_in else None
        if table is None:
            table = (await self.layout()).period_of(audit.at).table
        # The row key is this entry's own (its time and 32 random bits): a row already there is
        # this insert, sent again after its answer was lost on a broken connection.
        with contextlib.suppress(RowExists):
            await self._rows.insert(table, audit_entity(audit))

    async def orders_with_prefix(self, shipment_prefix: str) -> list[OrderRecord]:
        """See ``OrderStore.orders_with_prefix``: one key-range read per table looked in."""
        layout = await self.layout()
        now = self._clock.now()
        where = layout.where(now)
        tables = [where.current.table] + ([where.older.table] if where.older else [])
        found = await asyncio.gather(
            *(self._rows.partitions(t, shipment_prefix, shipment_prefix + "~", ORDER_ROW) for t in tables)
        )
        orders: dict[str, OrderRecord] = {}
        for table, rows in reversed(list(zip(tables, found, strict=True))):  # the current table wins
            for row in rows:
                if is_link(row.entity) and where.older is not None:
                    continue  # its order is in the older table, read above
                record = await self._claims.live_row(layout, table, row, now)
                if record is not None:
                    orders[record.shipment_id] = record
        return [orders[k] for k in sorted(orders)]

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        """An order's audit trail, oldest first: from the current table, the one before it (a
        live order received in the window lives there after the window too), and the base table."""
        layout = await self.layout()
        current = layout.period_of(self._clock.now())
        previous = layout.previous(current)
        tables = {current.table, self._base} | ({previous.table} if previous else set())
        found = await asyncio.gather(
            *(self._rows.partition(t, shipment_id, AUDIT_ROW_PREFIX, AUDIT_ROW_END) for t in sorted(tables))
        )
        return sorted((audit_from(row.entity) for rows in found for row in rows), key=lambda a: a.at)

    # -- retention ---------------------------------------------------------------------------

    async def prepare_periods(self, now: datetime) -> list[str]:
        """Create the current and the next period's tables ahead of their first order."""
        names = [p.table for p in (await self.layout()).upcoming(now)]
        for name in names:
            await self._rows.create(name)
        return names

    async def drop_expired_periods(self, now: datetime, audit_retention: timedelta) -> list[str]:
        """Drop every period table whose last audit entry is past ``audit_retention``."""
        layout = await self.layout()
        dropped = []
        for name in sorted(await self._rows.tables(self._base)):
            period = layout.named(name)
            if period is not None and layout.last_write(period) + audit_retention <= now:
                await self._rows.drop(name)
                dropped.append(name)
        return dropped

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        """See ``OrderStore.purge_orders``: the base table's orders (period tables are dropped)."""
        found = await self._rows.older(
            self._base, ORDER_ROW, ORDER_ROW, "ReceivedAt", purge_cutoff(received_before), limit
        )
        return await self._delete_all(found, match_etag=True)

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        """See ``OrderStore.purge_audit``: the base table's audit entries."""
        found = await self._rows.older(self._base, AUDIT_ROW_PREFIX, AUDIT_ROW_END, "At", purge_cutoff(before), limit)
        # Audit rows are insert-only, so no ETag is needed to delete them safely.
        return await self._delete_all(found, match_etag=False)

    async def _delete_all(self, found: list[Row], *, match_etag: bool) -> int:
        gate = asyncio.Semaphore(16)

        async def delete(row: Row) -> bool:
            async with gate:
                keys = row.entity["PartitionKey"], row.entity["RowKey"]
                return await self._rows.delete(self._base, *keys, row.etag if match_etag else None)

        return sum(await asyncio.gather(*(delete(row) for row in found)))

    async def close(self) -> None:
        """Close the rows' client."""
        await self._rows.close()
