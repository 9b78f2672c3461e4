"""The Table Storage entities of order records, links and audit entries, both ways.

In each period's table (instant/storage/periods.py):

PartitionKey = shipmentId, RowKey = "order"               the order record (Kind "order"),
                                                          or a link to the table before (Kind "link")
PartitionKey = shipmentId, RowKey = "audit|<time>|<rand>"  its audit entries (insert-only)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from instant.domain.digests import SHA256
from instant.domain.errors import StorageUnavailable
from instant.domain.fingerprint import Fingerprint
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
AUDIT_ROW_END = AUDIT_ROW_PREFIX[:-1] + "}"  # just past every "audit|..." key
LINK = "link"


def stored(record: OrderRecord, table: str, etag: str) -> OrderRecord:
    """The record as the store now holds it: in ``table``, with its ETag."""
    return replace(record, etag=etag, stored_in=table)


def is_link(entity: Mapping[str, Any]) -> bool:
    """True for a link row: the key's order lives in the table the link names."""
    return entity.get("Kind") == LINK


def link_entity(shipment_id: str, home: str, received_at: datetime) -> dict[str, Any]:
    """A link from a period's table to the order of ``shipment_id`` in the table before it."""
    return {"PartitionKey": shipment_id, "RowKey": ORDER_ROW, "Kind": LINK, "Home": home, "ReceivedAt": received_at}


def order_entity(record: OrderRecord) -> dict[str, Any]:
    """The Table entity of an order record."""
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
        "ReportKeys": ",".join(record.report_keys) or None,
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


def record_from(entity: Mapping[str, Any]) -> OrderRecord:
    """The order record of a Table entity, with its ETag."""
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
        report_keys=tuple(k for k in str(entity.get("ReportKeys") or "").split(",") if k),
    )
    return record


def audit_row_key(audit: AuditEntry) -> str:
    """The row key of an audit entry: sortable by time, unique."""
    # Sortable by time; the random suffix keeps two entries in the same microsecond apart.
    return f"{AUDIT_ROW_PREFIX}{audit.at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}|{secrets.token_hex(4)}"


def audit_entity(audit: AuditEntry) -> dict[str, Any]:
    """The Table entity of an audit entry (never the body: its digest)."""
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
        "ProviderStatus": audit.provider_status,
        "ProviderDetails": audit.provider_details,
        "EventId": audit.event_id,
        "EventTime": audit.event_time,
        "SmsEncoding": audit.sms_encoding,
        "SmsSegments": audit.sms_segments,
    }


def audit_from(entity: Mapping[str, Any]) -> AuditEntry:
    """The audit entry of a Table entity."""
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
        provider_status=entity.get("ProviderStatus"),
        provider_details=entity.get("ProviderDetails"),
        event_id=entity.get("EventId"),
        event_time=_utc(entity.get("EventTime")),
        sms_encoding=entity.get("SmsEncoding"),
        sms_segments=int(segments) if (segments := entity.get("SmsSegments")) is not None else None,
    )
