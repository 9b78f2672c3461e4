"""OrderStore on Azure Table Storage (azure-data-tables, async client).

Layout: one partition per order (no hot partition, no secondary index).
    PartitionKey = shipmentId, RowKey = "order"               the order record
    PartitionKey = shipmentId, RowKey = "audit|<time>|<rand>"  its audit entries (insert-only)
Record change + audit entry are one entity-group transaction because they share the partition.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
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

from instant.domain.digests import SHA256
from instant.domain.errors import KeyAlreadyClaimed, RecordChanged, StorageUnavailable
from instant.domain.fingerprint import Fingerprint
from instant.domain.ports import purge_cutoff
from instant.domain.records import (
    AuditEntry,
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
)

ORDER_ROW = "order"
AUDIT_ROW_PREFIX = "audit|"

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

    def __init__(self, client: TableClient) -> None:
        self._client = client

    async def ensure_table(self) -> None:
        """Create the table if it is missing (local runs; Bicep creates it in Azure)."""
        try:
            await self._client.create_table()
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise StorageUnavailable("cannot create the table") from exc

    async def claim(self, record: OrderRecord) -> OrderRecord:
        """Conditional insert; see ``OrderStore.claim``."""
        for _ in range(3):
            try:
                metadata = await self._client.create_entity(_order_entity(record))
                return _with_etag(record, metadata)
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
        try:
            entity = await self._client.get_entity(shipment_id, ORDER_ROW)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StorageUnavailable("read failed") from exc
        return _record_from(entity)

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """ETag-matched replace plus the audit insert, as one entity-group transaction."""
        if record.etag is None:
            raise RecordChanged("the record has no ETag to match")
        try:
            if audit is None:
                metadata = await self._client.update_entity(
                    _order_entity(record),
                    mode=UpdateMode.REPLACE,
                    etag=record.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
            else:
                results = await self._client.submit_transaction(
                    [
                        (
                            "update",
                            _order_entity(record),
                            {
                                "mode": UpdateMode.REPLACE,
                                "etag": record.etag,
                                "match_condition": MatchConditions.IfNotModified,
                            },
                        ),
                        ("create", _audit_entity(audit)),
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
        return _with_etag(record, metadata)

    async def append_audit(self, audit: AuditEntry) -> None:
        """Insert one audit entry."""
        try:
            await self._client.create_entity(_audit_entity(audit))
        except AzureError as exc:
            raise StorageUnavailable("audit insert failed") from exc

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        """All audit entries of an order, oldest first (for GET-side tools and the tests)."""
        query = "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi"
        params = {"pk": shipment_id, "lo": AUDIT_ROW_PREFIX, "hi": AUDIT_ROW_PREFIX[:-1] + "}"}
        try:
            entries = [_audit_from(e) async for e in self._client.query_entities(query, parameters=params)]
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
        return await self._purge(
            "RowKey eq @row and ReceivedAt lt @cutoff",
            {"row": ORDER_ROW, "cutoff": purge_cutoff(received_before)},
            limit,
            match_etag=True,
        )

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        """See ``OrderStore.purge_audit``."""
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


def _with_etag(record: OrderRecord, metadata: Mapping[str, Any]) -> OrderRecord:
    etag = metadata.get("etag")
    if not isinstance(etag, str):
        raise StorageUnavailable("the store answered without an ETag")
    return _replace_etag(record, etag)


def _replace_etag(record: OrderRecord, etag: str) -> OrderRecord:
    return replace(record, etag=etag)


def _order_entity(record: OrderRecord) -> dict[str, Any]:
    answer = record.answer
    return {
        "PartitionKey": record.shipment_id,
        "RowKey": ORDER_ROW,
        "Kind": "order",
        "OrderId": record.order_id,
        "Caller": record.caller,
        "Channel": record.channel.value,
        "IdempotencyId": record.idempotency_id,
        "Fingerprint": record.fingerprint.value,
        "FieldDigests": json.dumps(dict(record.fingerprint.fields), sort_keys=True),
        "State": record.state.value,
        "Status": record.status.value,
        "ReceivedAt": record.received_at,
        "FirstSentAt": record.first_sent_at,
        "Deadline": record.deadline,
        "TtlSeconds": record.ttl_seconds,
        "Recipient": record.recipient,
        "Sender": record.sender,
        "SendersReference": record.senders_reference,
        "UpdatedAt": record.updated_at,
        "LeaseUntil": record.lease_until,
        "LeaseOwner": record.lease_owner,
        "Attempts": record.attempts,
        "MayHaveReachedProvider": record.may_have_reached_provider,
        "ProviderId": record.provider_id,
        "AnswerStatus": answer.status if answer else None,
        "AnswerBody": answer.body if answer else None,
        "AnswerCode": answer.code if answer else None,
    }


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise StorageUnavailable("a stored time is not a time")
    # TablesEntityDatetime is a datetime subclass; compare and hash as a plain aware datetime.
    return datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, tzinfo=UTC
    )


def _required_utc(value: Any) -> datetime:
    moment = _utc(value)
    if moment is None:
        raise StorageUnavailable("a required time is missing")
    return moment


def _record_from(entity: Mapping[str, Any]) -> OrderRecord:
    answer = None
    if entity.get("AnswerStatus") is not None:
        answer = StoredAnswer(int(entity["AnswerStatus"]), str(entity["AnswerBody"]), str(entity["AnswerCode"]))
    ttl = entity.get("TtlSeconds")
    record = OrderRecord(
        shipment_id=entity["PartitionKey"],
        order_id=entity["OrderId"],
        caller=entity["Caller"],
        channel=Channel(entity["Channel"]),
        idempotency_id=entity["IdempotencyId"],
        fingerprint=Fingerprint(entity["Fingerprint"], json.loads(entity["FieldDigests"])),
        state=OrderState(entity["State"]),
        status=RecipientStatus(entity["Status"]),
        received_at=_required_utc(entity["ReceivedAt"]),
        first_sent_at=_required_utc(entity["FirstSentAt"]),
        deadline=_utc(entity.get("Deadline")),
        ttl_seconds=int(ttl) if ttl is not None else None,
        recipient=entity["Recipient"],
        sender=entity["Sender"],
        senders_reference=entity.get("SendersReference"),
        updated_at=_required_utc(entity["UpdatedAt"]),
        lease_until=_utc(entity.get("LeaseUntil")),
        lease_owner=entity.get("LeaseOwner"),
        attempts=int(entity.get("Attempts", 0)),
        may_have_reached_provider=bool(entity.get("MayHaveReachedProvider", False)),
        provider_id=entity.get("ProviderId"),
        answer=answer,
    )
    etag = entity.metadata.get("etag") if hasattr(entity, "metadata") else None
    return _replace_etag(record, etag) if isinstance(etag, str) else record


def audit_row_key(audit: AuditEntry) -> str:
    """The row key of an audit entry: sortable by time, unique."""
    # Sortable by time; the random suffix keeps two entries in the same microsecond apart.
    return f"{AUDIT_ROW_PREFIX}{audit.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{secrets.token_hex(4)}"


def _audit_entity(audit: AuditEntry) -> dict[str, Any]:
    return {
        "PartitionKey": audit.shipment_id,
        "RowKey": audit_row_key(audit),
        "Kind": "audit",
        "At": audit.at,
        "Caller": audit.caller,
        "Channel": audit.channel.value,
        "IdempotencyId": audit.idempotency_id,
        "Recipient": audit.recipient,
        "Sender": audit.sender,
        "Outcome": audit.outcome,
        "HttpStatus": audit.http_status,
        "Replay": audit.replay,
        "ProviderId": audit.provider_id,
        "TtlSeconds": audit.ttl_seconds,
        "LatencyMs": audit.latency_ms,
        "TraceId": audit.trace_id,
        "BodySha256": audit.body_sha256,
        "BodyLength": audit.body_length,
        "BodyDigestKind": audit.digest_kind,
        "Status": audit.status,
    }


def _audit_from(entity: Mapping[str, Any]) -> AuditEntry:
    ttl = entity.get("TtlSeconds")
    return AuditEntry(
        shipment_id=entity["PartitionKey"],
        at=_required_utc(entity["At"]),
        caller=entity["Caller"],
        channel=Channel(entity["Channel"]),
        idempotency_id=entity["IdempotencyId"],
        recipient=entity["Recipient"],
        sender=entity["Sender"],
        outcome=entity["Outcome"],
        http_status=int(entity["HttpStatus"]),
        replay=bool(entity["Replay"]),
        provider_id=entity.get("ProviderId"),
        ttl_seconds=int(ttl) if ttl is not None else None,
        latency_ms=int(entity["LatencyMs"]),
        trace_id=entity["TraceId"],
        body_sha256=entity["BodySha256"],
        body_length=int(entity["BodyLength"]),
        status=entity["Status"],
        digest_kind=entity.get("BodyDigestKind", SHA256),
    )
