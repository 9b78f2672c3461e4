"""OrderStore on Azure Table Storage (azure-data-tables, async client).

Layout: one partition per order (no hot partition, no secondary index); the entities are
built and read in table_entities.py. Record change + audit entry are one entity-group
transaction because they share the partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient

from instant.adapters.lazy_table import LazyTable
from instant.adapters.table_entities import (
    AUDIT_ROW_PREFIX,
    ORDER_ROW,
    audit_entity,
    audit_from,
    order_entity,
    record_from,
    with_etag,
)
from instant.domain.errors import KeyAlreadyClaimed, RecordChanged, StorageUnavailable
from instant.domain.ports import purge_cutoff
from instant.domain.records import (
    AuditEntry,
    OrderRecord,
)

# Retention purge: rows per query page, and deletes in flight at once.
PURGE_PAGE_SIZE = 100
PURGE_CONCURRENCY = 16

# Bounded storage calls: a request must fail fast (503 storage_unavailable) rather than wait
# through azure-core's default of 10 retries with long backoff. This policy is the one retry
# owner for Table Storage: the service makes one call per step (instant/idempotency/guard.py).
TABLE_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.1,
    "retry_backoff_max": 1,
    "connection_timeout": 2,
    "read_timeout": 5,
}


class TableOrderStore:
    """OrderStore on one Azure table: a partition per order, audit entries beside the record."""

    def __init__(self, client: TableClient, *, create_table: bool = False) -> None:
        self._client = client
        self._table = LazyTable(client, create=create_table)

    async def ensure_table(self) -> None:
        """Create the table if it is missing (local runs; Bicep creates it in Azure)."""
        await self._table.create()

    async def _ready(self) -> None:
        await self._table.ready()

    async def claim(self, record: OrderRecord) -> OrderRecord:
        """Conditional insert; see ``OrderStore.claim``."""
        await self._ready()
        for _ in range(3):
            try:
                metadata = await self._client.create_entity(order_entity(record))
                return with_etag(record, metadata)
            except ResourceExistsError:
                existing = await self.get(record.shipment_id)
                if existing is not None:
                    raise KeyAlreadyClaimed(existing) from None
                # Purged between our insert and our read: the key is free again, try once more.
            except AzureError as exc:
                raise StorageUnavailable("claim failed") from exc
        raise StorageUnavailable("claim raced with purge repeatedly")

    async def get(self, shipment_id: str) -> OrderRecord | None:
        """Point read of the order row."""
        await self._ready()
        try:
            entity = await self._client.get_entity(shipment_id, ORDER_ROW)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StorageUnavailable("read failed") from exc
        return record_from(entity)

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """ETag-matched replace plus the audit insert, as one entity-group transaction."""
        await self._ready()
        if record.etag is None:
            raise RecordChanged("the record has no ETag to match")
        try:
            if audit is None:
                metadata = await self._client.update_entity(
                    order_entity(record),
                    mode=UpdateMode.REPLACE,
                    etag=record.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            else:
                results = await self._client.submit_transaction(
                    [
                        (
                            "update",
                            order_entity(record),
                            {
                                "mode": UpdateMode.REPLACE,
                                "etag": record.etag,
                                "match_condition": MatchConditions.IfNotModified,
                            },
                        ),
                        ("create", audit_entity(audit)),
                    ]
                )
                metadata = results[0]
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise RecordChanged("the record changed or vanished") from exc
        except TableTransactionError as exc:
            if exc.status_code in (404, 409, 412):
                raise RecordChanged("the record changed or vanished") from exc
            raise StorageUnavailable("transaction failed") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise RecordChanged("the record changed") from exc
            raise StorageUnavailable("update failed") from exc
        except AzureError as exc:
            raise StorageUnavailable("update failed") from exc
        return with_etag(record, metadata)

    async def append_audit(self, audit: AuditEntry) -> None:
        """Insert one audit entry."""
        await self._ready()
        try:
            await self._client.create_entity(audit_entity(audit))
        except AzureError as exc:
            raise StorageUnavailable("audit insert failed") from exc

    async def orders_with_prefix(self, shipment_prefix: str) -> list[OrderRecord]:
        """See ``OrderStore.orders_with_prefix``: a PartitionKey range, served by the key index."""
        await self._ready()
        query = "PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @row"
        params = {"lo": shipment_prefix, "hi": shipment_prefix + "~", "row": ORDER_ROW}
        try:
            return [record_from(e) async for e in self._client.query_entities(query, parameters=params)]
        except AzureError as exc:
            raise StorageUnavailable("order range read failed") from exc

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        """All audit entries of an order, oldest first (for GET-side tools and the tests)."""
        await self._ready()
        query = "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi"
        params = {"pk": shipment_id, "lo": AUDIT_ROW_PREFIX, "hi": AUDIT_ROW_PREFIX[:-1] + "}"}
        try:
            entries = [audit_from(e) async for e in self._client.query_entities(query, parameters=params)]
        except AzureError as exc:
            raise StorageUnavailable("audit query failed") from exc
        return sorted(entries, key=lambda a: a.at)

    # -- retention ---------------------------------------------------------------------------
    # Both purges filter on a non-key property (ReceivedAt / At), which Table Storage answers
    # with a scan of the whole table (there is no secondary index and no TTL). That is
    # acceptable for a purge that runs once an hour off the request path; the scan is paged
    # (PURGE_PAGE_SIZE) and stops after ``limit`` rows, so one run's cost is bounded too. If
    # the table grows beyond what an hourly scan can cover, keep audit rows in a table per
    # month and drop whole tables instead.

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        """See ``OrderStore.purge_orders``."""
        await self._ready()
        return await self._purge(
            "RowKey eq @row and ReceivedAt lt @cutoff",
            {"row": ORDER_ROW, "cutoff": purge_cutoff(received_before)},
            limit,
            match_etag=True,
        )

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        """See ``OrderStore.purge_audit``."""
        await self._ready()
        # Audit rows are insert-only, so no ETag is needed to delete them safely.
        return await self._purge(
            "RowKey gt @lo and RowKey lt @hi and At lt @cutoff",
            {"lo": AUDIT_ROW_PREFIX, "hi": AUDIT_ROW_PREFIX[:-1] + "}", "cutoff": purge_cutoff(before)},
            limit,
            match_etag=False,
        )

    async def _purge(self, query: str, parameters: dict[str, Any], limit: int, *, match_etag: bool) -> int:
        """Point deletes, page by page, at most PURGE_CONCURRENCY at a time. Point deletes rather
        than entity-group transactions: an order partition holds one order row, and one 404 (a
        concurrent purge got there first) would fail a whole transaction."""
        if limit <= 0:
            return 0
        gate = asyncio.Semaphore(PURGE_CONCURRENCY)

        async def delete(entity: Mapping[str, Any]) -> bool:
            async with gate:
                return await self._delete_found(entity, match_etag=match_etag)

        found = deleted = 0
        try:
            pages = self._client.query_entities(
                query,
                parameters=parameters,
                select=["PartitionKey", "RowKey"],
                results_per_page=min(limit, PURGE_PAGE_SIZE),
            ).by_page()
            async for page in pages:
                batch = [entity async for entity in page][: limit - found]
                found += len(batch)
                deleted += sum(await asyncio.gather(*(delete(entity) for entity in batch)))
                if found >= limit:
                    break
        except AzureError as exc:
            raise StorageUnavailable("purge failed") from exc
        return deleted

    async def _delete_found(self, entity: Mapping[str, Any], *, match_etag: bool) -> bool:
        options: dict[str, Any] = {}
        if match_etag:
            etag = entity.metadata.get("etag") if hasattr(entity, "metadata") else None
            if not isinstance(etag, str):
                return False
            options = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        try:
            # A 404 (a concurrent purge deleted it first) returns quietly: the row is gone either way.
            await self._client.delete_entity(entity["PartitionKey"], entity["RowKey"], **options)
        except ResourceModifiedError:
            return False  # a request changed the record since the query: the next run decides again
        except HttpResponseError as exc:
            if exc.status_code == 412:
                return False
            raise
        return True

    async def close(self) -> None:
        """Close the Table client."""
        await self._client.close()
