"""Completed orders kept in this worker's memory, so a replay costs one Table Storage request
(its audit entry) instead of three (the failed claim, the read, the audit entry).

Safe because a completed order's answer never changes: it is final by definition and replayed
byte-for-byte. An entry lives no longer than the order's retention, so it cannot outlive the
purge that frees the key for reuse. Each worker has its own cache; a miss just takes the
normal path through storage.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from instant.domain.records import OrderRecord, OrderState


class ReplayCache:
    """This worker's completed orders, most recently used last."""

    def __init__(self, *, capacity: int, retention: timedelta) -> None:
        self._capacity = capacity
        self._retention = retention
        self._entries: OrderedDict[str, OrderRecord] = OrderedDict()

    def get(self, shipment_id: str, now: datetime) -> OrderRecord | None:
        """The completed order, unless it is unknown or past its retention."""
        record = self._entries.get(shipment_id)
        if record is None:
            return None
        if record.received_at + self._retention <= now:
            del self._entries[shipment_id]
            return None
        self._entries.move_to_end(shipment_id)
        return record

    def remember(self, record: OrderRecord) -> None:
        """Keep a completed order (anything else is ignored)."""
        if self._capacity <= 0 or record.state is not OrderState.COMPLETED or record.answer is None:
            return
        self._entries[record.shipment_id] = record
        self._entries.move_to_end(record.shipment_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
