"""Audit entries: one place that decides what an entry holds (never the body: its digest).

Outcomes: "created" or a problem code (an answered request), ``ABANDONED`` (written by a
takeover for a request whose worker died holding the key), ``STATUS_REFRESHED`` (a GET
shipment that stored the email status ACS reported) and ``DELIVERY_REPORT`` (a delivery report
that changed the status, or contradicted a terminal one).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from instant.domain.clock import Clock
from instant.domain.delivery_status import Report
from instant.domain.digests import Digester
from instant.domain.orders import Order, SmsOrder
from instant.domain.records import AuditEntry, OrderRecord

ABANDONED = "abandoned"
STATUS_REFRESHED = "status_refreshed"
DELIVERY_REPORT = "delivery_report"
# The provider's free-text details are kept this long at most (they never hold the body).
_DETAILS_LENGTH = 256


@dataclass(frozen=True)
class Attempt:
    """One request for an order, as its audit entries describe it: who asked, for what, when."""

    caller: str
    trace_id: str
    recipient: str
    sender: str
    ttl_seconds: int | None
    body_digest: str
    body_length: int
    started: float  # time.perf_counter() when the request arrived
    sms_encoding: str | None = None
    sms_segments: int | None = None

    @classmethod
    def of(
        cls,
        order: Order,
        *,
        caller: str,
        trace_id: str,
        sender: str,
        digester: Digester,
        sms_encoding: str | None = None,
        sms_segments: int | None = None,
    ) -> Attempt:
        """What ``order`` asked for, with its body reduced to a digest and a length (and, for an
        SMS, its encoding and segments)."""
        return cls(
            caller=caller,
            trace_id=trace_id,
            recipient=order.recipient,
            sender=sender,
            ttl_seconds=order.ttl_seconds if isinstance(order, SmsOrder) else None,
            body_digest=digester.text(order.body),
            body_length=len(order.body),
            started=time.perf_counter(),
            sms_encoding=sms_encoding,
            sms_segments=sms_segments,
        )


class AuditWriter:
    """Builds the audit entries of the idempotency layer and the shipment reader."""

    def __init__(self, *, clock: Clock, digest_kind: str) -> None:
        self._clock = clock
        self._digest_kind = digest_kind

    def answered(self, record: OrderRecord, attempt: Attempt, *, status: int, code: str, replay: bool) -> AuditEntry:
        """The entry of a request that got an answer: what it asked for (a 422 names what was
        refused), the answer's status and code, and how long it took."""
        return self._entry(
            record,
            attempt,
            outcome=code,
            http_status=status,
            replay=replay,
            latency_ms=round((time.perf_counter() - attempt.started) * 1000),
        )

    def abandoned(self, existing: OrderRecord, taker: Attempt) -> AuditEntry:
        """The entry a takeover writes for the dead holder, which never got to write its own.
        Same fingerprint as the taker's request, so the same recipient, sender and body digest;
        status 0: nobody was answered."""
        return self._entry(existing, taker, outcome=ABANDONED, http_status=0, replay=False, latency_ms=0)

    def refreshed(self, record: OrderRecord, trace_id: str) -> AuditEntry:
        """The entry of a read that stored a newer status: the record's own values, no body."""
        reader = Attempt(
            caller=record.caller,
            trace_id=trace_id,
            recipient=record.recipient,
            sender=record.sender,
            ttl_seconds=record.ttl_seconds,
            body_digest="",
            body_length=0,
            started=time.perf_counter(),
        )
        return self._entry(record, reader, outcome=STATUS_REFRESHED, http_status=200, replay=False, latency_ms=0)

    def reported(self, record: OrderRecord, report: Report, trace_id: str) -> AuditEntry:
        """The entry of a delivery report: the record's status after it (unchanged when the report
        contradicted a terminal one), what the provider said, and the event; no body."""
        return replace(
            self.refreshed(record, trace_id),
            outcome=DELIVERY_REPORT,
            http_status=0,
            provider_status=report.provider_status,
            provider_details=report.details[:_DETAILS_LENGTH] if report.details else None,
            event_id=report.event_id,
            event_time=report.event_time,
        )

    def _entry(
        self, record: OrderRecord, attempt: Attempt, *, outcome: str, http_status: int, replay: bool, latency_ms: int
    ) -> AuditEntry:
        return AuditEntry(
            shipment_id=record.shipment_id,
            at=self._clock.now(),
            caller=record.caller,
            channel=record.channel,
            idempotency_id=record.idempotency_id,
            recipient=attempt.recipient,
            sender=attempt.sender,
            outcome=outcome,
            http_status=http_status,
            replay=replay,
            provider_id=record.provider_id,
            ttl_seconds=attempt.ttl_seconds,
            latency_ms=latency_ms,
            trace_id=attempt.trace_id,
            body_sha256=attempt.body_digest,
            body_length=attempt.body_length,
            status=record.status.value,
            digest_kind=self._digest_kind,
            sms_encoding=attempt.sms_encoding,
            sms_segments=attempt.sms_segments,
        )
