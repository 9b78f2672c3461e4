"""The claim of a key across storage periods: at most one request holds a key, at any moment.

A request at time t claims in the table of t's period. Near a period's start (the first
``retention`` of it) an order with the same key may still be live in the table before, so
there the request claims in the older table, and then writes a link row with the same keys in
the current table. The rules (docs/architecture.md, "Storage periods"):

1. A request away from the start claims in the current table only (one insert). A request near
   it claims in the older table (one insert), then links (one insert): one request more.
2. An order found under a key is live while it is younger than the retention; an older one, or
   a link whose order is not live, is absent, and a new order replaces it (ETag-matched).
3. A request near the start holds the key only after its link is written (an insert, or an
   ETag-matched rewrite of an existing link); a request away from it that replaces a link does
   so with the ETag it read before looking at the older table. So of a link writer and a link
   replacer, exactly one conditional write succeeds, and the loser sees the winner's order.
4. An order in the current table wins over one in the older table (the older one is then an
   orphan, never sent: its creator yielded before the hand-off).

Every step is one call on the Rows port, so tests/unit/test_period_interleavings.py can run
every interleaving of the steps of concurrent requests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from instant.domain.errors import KeyAlreadyClaimed, RecordChanged, StorageUnavailable
from instant.domain.records import OrderRecord
from instant.storage.entities import ORDER_ROW, is_link, link_entity, order_entity, record_from, stored
from instant.storage.periods import PeriodLayout, Where
from instant.storage.rows import Row, RowExists, Rows

# Rounds of a claim that lost an ETag race and starts over (each lost round means another
# request changed the key's rows, so the next round sees a newer state).
_ROUNDS = 8


class _Again(Exception):
    """The rows changed under this claim between two steps: start over."""


class PeriodClaims:
    """Claims keys in the tables of a ``PeriodLayout``."""

    def __init__(self, rows: Rows) -> None:
        self._rows = rows

    async def claim(self, layout: PeriodLayout, draft: OrderRecord) -> OrderRecord:
        """The draft, now held in its table; or KeyAlreadyClaimed with the live order."""
        where = layout.where(draft.received_at)
        for _ in range(_ROUNDS):
            try:
                if where.older is None:
                    return await self._claim_away(layout, where, draft)
                return await self._claim_near(layout, where, draft)
            except _Again:
                continue
        raise StorageUnavailable("a claim lost its race too often")

    async def _claim_away(self, layout: PeriodLayout, where: Where, draft: OrderRecord) -> OrderRecord:
        table = where.current.table
        try:
            return stored(draft, table, await self._rows.insert(table, order_entity(draft)))
        except RowExists:
            pass
        found = await self._read(table, draft.shipment_id)
        if is_link(found.entity):
            home = str(found.entity["Home"])
            linked = await self.live_order(layout, home, draft.shipment_id, draft.received_at)
            if linked is not None:
                raise KeyAlreadyClaimed(linked)
        else:
            existing = record_of(table, found)
            if live(layout, existing, draft.received_at):
                raise KeyAlreadyClaimed(existing)
        # Absent (an order past its retention, or a link to one): ours replaces it, if the row
        # is still the one read. That ETag is what a near request's link write races against.
        return await self._replace(table, draft, found.etag)

    async def _claim_near(self, layout: PeriodLayout, where: Where, draft: OrderRecord) -> OrderRecord:
        assert where.older is not None
        older, current = where.older.table, where.current.table
        try:
            mine = stored(draft, older, await self._rows.insert(older, order_entity(draft)))
        except RowExists:
            mine = await self._resolve_near(layout, where, draft)
        return await self._link(current, older, mine)

    async def _resolve_near(self, layout: PeriodLayout, where: Where, draft: OrderRecord) -> OrderRecord:
        """The older table has a row under the key: find the key's live order, or replace an
        absent one with ours (returned, not linked yet)."""
        assert where.older is not None
        older, current = where.older.table, where.current.table
        in_older, in_current = await asyncio.gather(
            self._rows.read(older, draft.shipment_id, ORDER_ROW),
            self._rows.read(current, draft.shipment_id, ORDER_ROW),
        )
        if in_current is not None and not is_link(in_current.entity):
            raise KeyAlreadyClaimed(record_of(current, in_current))
        if in_older is None:
            raise _Again
        if not is_link(in_older.entity):
            existing = record_of(older, in_older)
            if live(layout, existing, draft.received_at):
                if in_current is None and existing.received_at >= where.current.start:
                    # Received in this window but not linked yet (its holder is about to, or
                    # died before it could): link it, so a request away from the start finds it.
                    await self._insert_link(current, older, existing.shipment_id, existing.received_at)
                raise KeyAlreadyClaimed(existing)
        # A link in the older table is from that table's own start, long past any retention.
        return await self._replace(older, draft, in_older.etag)

    async def _link(self, current: str, older: str, mine: OrderRecord) -> OrderRecord:
        """Hold ``mine`` (created in the older table) by writing the current table's link."""
        for _ in range(_ROUNDS):
            try:
                await self._rows.insert(current, link_entity(mine.shipment_id, older, mine.received_at))
                return mine
            except RowExists:
                pass
            found = await self._rows.read(current, mine.shipment_id, ORDER_ROW)
            if found is None:
                continue
            if not is_link(found.entity):
                # An order created in the current table won the key: ours stays an orphan.
                raise KeyAlreadyClaimed(record_of(current, found))
            try:
                # Rewrite the link: a request that read it before our order existed, and is
                # about to replace it with an order of its own, now fails its ETag match.
                await self._rows.replace(current, link_entity(mine.shipment_id, older, mine.received_at), found.etag)
                return mine
            except RecordChanged:
                continue
        raise StorageUnavailable("a link lost its race too often")

    async def _insert_link(self, current: str, older: str, shipment_id: str, received_at: datetime) -> None:
        try:
            await self._rows.insert(current, link_entity(shipment_id, older, received_at))
        except RowExists:
            raise _Again from None  # someone wrote the current table's row first: look again

    async def _replace(self, table: str, draft: OrderRecord, etag: str) -> OrderRecord:
        try:
            return stored(draft, table, await self._rows.replace(table, order_entity(draft), etag))
        except RecordChanged:
            raise _Again from None

    async def _read(self, table: str, shipment_id: str) -> Row:
        found = await self._rows.read(table, shipment_id, ORDER_ROW)
        if found is None:
            raise _Again  # gone between our insert and our read
        return found

    async def live_order(self, layout: PeriodLayout, table: str, shipment_id: str, at: datetime) -> OrderRecord | None:
        """The order under the key in ``table`` if it is live at ``at`` (a link there: None)."""
        found = await self._rows.read(table, shipment_id, ORDER_ROW)
        return None if found is None or is_link(found.entity) else live_record(layout, table, found, at)

    async def live_row(self, layout: PeriodLayout, table: str, found: Row | None, at: datetime) -> OrderRecord | None:
        """The live order a row of ``table`` stands for: itself, or the one its link names."""
        if found is None:
            return None
        if is_link(found.entity):
            return await self.live_order(layout, str(found.entity["Home"]), str(found.entity["PartitionKey"]), at)
        return live_record(layout, table, found, at)


def record_of(table: str, row: Row) -> OrderRecord:
    """The order row as a record held in ``table``, with its ETag."""
    return stored(record_from(row.entity), table, row.etag)


def live_record(layout: PeriodLayout, table: str, found: Row, at: datetime) -> OrderRecord | None:
    """The order row as a record held in ``table``, if it is live at ``at``."""
    record = record_of(table, found)
    return record if live(layout, record, at) else None


def live(layout: PeriodLayout, record: OrderRecord, at: datetime) -> bool:
    """An order counts until it is ``retention`` old; after that its key is free again."""
    return at < record.received_at + layout.retention
