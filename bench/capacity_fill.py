"""The capacity bench's scaled model: orders (an order row and two audit entries each, in the
shapes of instant/storage/entities.py) written straight into the tables a layout puts them in,
one entity-group transaction per order partition, as the service would have left them."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables.aio import TableClient, TableServiceClient

from bench.floor import draft_record, final_record
from bench.payloads import SMS_BODY, new_phone
from instant.domain.orders import SmsOrder
from instant.domain.records import AuditEntry, OrderRecord, RecipientStatus
from instant.storage.entities import audit_entity, order_entity
from instant.storage.periods import Period, PeriodLayout

AUDITS_PER_ORDER = 2  # the answer of the new send and its delivery report
ROWS_PER_ORDER = 1 + AUDITS_PER_ORDER
_CONCURRENCY = 16


def _template(now: datetime) -> tuple[OrderRecord, AuditEntry]:
    order = SmsOrder(uuid.uuid4().hex, "ref-bench", new_phone(), 300, None, SMS_BODY)
    held = replace(draft_record(order, now), etag="*", stored_in="template")
    return final_record(held, order, RecipientStatus.SMS_ACCEPTED, uuid.uuid4().hex)


def order_rows(record: OrderRecord, audit: AuditEntry, received_at: datetime) -> list[dict[str, Any]]:
    """One order partition received at ``received_at``: its order row and its audit entries."""
    shipment = str(uuid.uuid4())
    moved = replace(
        record, shipment_id=shipment, received_at=received_at, first_sent_at=received_at, updated_at=received_at
    )
    audits = [
        audit_entity(replace(audit, shipment_id=shipment, at=received_at + timedelta(milliseconds=i + 1)))
        for i in range(AUDITS_PER_ORDER)
    ]
    return [order_entity(moved), *audits]


def spread(periods: Sequence[Period], orders: int, until: datetime) -> Iterator[tuple[str, datetime]]:
    """``orders`` receipt times spread evenly over ``periods`` (none after ``until``), with
    the table each one belongs in."""
    if not periods:
        return
    for index in range(orders):
        period = periods[index % len(periods)]
        end = min(period.end, until)
        step = (end - period.start) / (-(-orders // len(periods)) + 1)  # strictly inside the period
        yield period.table, period.start + step * (index // len(periods) + 1)


def expired_periods(layout: PeriodLayout, now: datetime, audit_retention: timedelta) -> list[Period]:
    """The period tables a retention run at ``now`` drops (their audit entries all expired)."""
    return [p for p in _periods(layout, now) if layout.last_write(p) + audit_retention <= now]


def live_periods(layout: PeriodLayout, now: datetime, audit_retention: timedelta) -> list[Period]:
    """The period tables a retention run at ``now`` keeps."""
    return [p for p in _periods(layout, now) if layout.last_write(p) + audit_retention > now]


def _periods(layout: PeriodLayout, now: datetime) -> list[Period]:
    found, period = [], layout.period_of(layout.since)
    while period.start <= now:
        found.append(period)
        period = layout.period_of(period.end)
    return found


@dataclass
class Filler:
    """Writes orders into an account and keeps count of rows per table and of time spent."""

    service: TableServiceClient
    now: datetime
    rows: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    written: int = 0
    _clients: dict[str, TableClient] = field(default_factory=dict)

    async def _client(self, table: str) -> TableClient:
        client = self._clients.get(table)
        if client is None:
            with contextlib.suppress(ResourceExistsError):
                await self.service.create_table(table)
            client = self._clients[table] = self.service.get_table_client(table)
        return client

    async def fill(self, placed: Iterator[tuple[str, datetime]]) -> None:
        """One transaction per order, ``_CONCURRENCY`` at a time; tables created as needed."""
        record, audit = _template(self.now)
        started = time.perf_counter()
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(client: TableClient, received_at: datetime) -> None:
            async with gate:
                rows = order_rows(record, audit, received_at)
                await client.submit_transaction([("create", r) for r in rows])
                self.rows[client.table_name] += len(rows)

        tasks = [one(await self._client(table), received_at) for table, received_at in placed]
        await asyncio.gather(*tasks)
        self.seconds += time.perf_counter() - started
        self.written += len(tasks) * ROWS_PER_ORDER

    async def forget(self, tables: Sequence[str]) -> int:
        """Rows in ``tables`` (dropped), no longer counted; how many they were."""
        for table in tables:
            client = self._clients.pop(table, None)
            if client is not None:
                await client.close()
        return sum(self.rows.pop(t, 0) for t in tables)

    async def close(self) -> None:
        """Close the table clients (not the service)."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    @property
    def rate(self) -> float:
        """Rows written per second so far."""
        return self.written / self.seconds if self.seconds else 0.0
