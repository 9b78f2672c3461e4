"""Delivery reports: find the order a report names and write what it says, once.

    SMS    the report's tag is the shipment id                   -> one point read
    email  the operation id starts with the shipment id's prefix -> one key-range read
           (records.email_operation_id_for)
    then   decide (domain/delivery_status.py) -> at most one transaction: record + audit entry

Event Grid delivers at least once, in any order, and delivers again when the function raises.
So this raises only when a later delivery can succeed: storage is unavailable, the record kept
changing under us, or a request holds the order right now (its lease is live). Everything else (unknown, purged or
mismatched, a duplicate) is logged and answered as done, so it is never retried forever.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace

from instant.domain.clock import Clock
from instant.domain.delivery_status import Report, Verdict, decide, remember
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.domain.ports import OrderStore
from instant.domain.records import AuditEntry, Channel, OrderRecord, email_operation_id_for, operation_prefix
from instant.idempotency.audit import AuditWriter

log = logging.getLogger("instant.delivery_reports")

UNKNOWN = "unknown"
# Writes lost to a concurrent change before the report gives up (Event Grid delivers it again).
MAX_WRITE_ATTEMPTS = 5


class ReportNotReady(Exception):
    """The report cannot be written yet; raised so that Event Grid delivers it again later."""


class DeliveryReports:
    """Writes delivery reports onto their orders (the ``delivery_report`` function's service)."""

    def __init__(self, *, store: OrderStore, clock: Clock, audits: AuditWriter) -> None:
        self._store = store
        self._clock = clock
        self._audits = audits

    async def receive(self, report: Report, trace_id: str) -> str:
        """Write ``report`` if it changes anything; the outcome's name (a Verdict or "unknown").

        Raises StorageUnavailable or ReportNotReady: Event Grid should deliver it again.
        """
        record = await self._find(report)
        for _ in range(MAX_WRITE_ATTEMPTS):
            if record is None:
                log.info("delivery report for an unknown or purged order dropped", extra=_fields(report, UNKNOWN))
                return UNKNOWN
            verdict = decide(record, report, self._clock.now())
            if verdict is Verdict.NOT_YET:
                raise ReportNotReady("a request still holds the order; deliver the report again later")
            if verdict in (Verdict.MISMATCH, Verdict.DUPLICATE):
                log.info("delivery report not written", extra=_fields(report, verdict.value))
                return verdict.value
            try:
                written = self._written(record, report, verdict)
                await self._store.update(written, self._audit(record, report, verdict, trace_id))
            except RecordChanged:
                # A read refreshed it, or another delivery of a report won: decide again on what is there now.
                record = await self._store.get(record.shipment_id)
                continue
            log.info("delivery report written", extra=_fields(report, verdict.value))
            return verdict.value
        raise StorageUnavailable("the order kept changing while the report was written")

    async def _find(self, report: Report) -> OrderRecord | None:
        """The order the report names, with its ETag; None if there is none (any more)."""
        if report.channel is Channel.SMS:
            shipment_id = _canonical(report.tag)
            return await self._store.get(shipment_id) if shipment_id else None
        prefix = operation_prefix(report.message_id)
        if prefix is None:
            return None
        wanted = report.message_id.strip().lower()
        for record in await self._store.orders_with_prefix(prefix):
            if email_operation_id_for(record.caller, record.idempotency_id, record.received_at) == wanted:
                return record
        return None

    def _written(self, record: OrderRecord, report: Report, verdict: Verdict) -> OrderRecord:
        keys = remember(record.report_keys, report.key)
        if verdict is Verdict.AUDIT_ONLY:
            return replace(record, report_keys=keys)  # the status and its lastUpdate stay
        return replace(record, status=report.status, updated_at=self._clock.now(), report_keys=keys)

    def _audit(self, record: OrderRecord, report: Report, verdict: Verdict, trace_id: str) -> AuditEntry:
        after = record if verdict is Verdict.AUDIT_ONLY else replace(record, status=report.status)
        return self._audits.reported(after, report, trace_id)


def _canonical(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def _fields(report: Report, outcome: str) -> dict[str, object]:
    """Log fields: ids and statuses only, never the recipient."""
    return {
        "delivery_outcome": outcome,
        "channel": report.channel.value,
        "event_id": report.event_id,
        "provider_status": report.provider_status,
    }
