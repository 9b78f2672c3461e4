"""Delivery reports as pure rules: what a report's status means, whether it may change a record,
and what a record without a report reads as once its time is up.

Event Grid delivers at least once and in any order. A report is written at most once (its key is
kept on the record), only to the order it names, and never over a terminal status: the first
terminal status wins and a later contradicting report is audited only. Table in docs/api.md,
"Delivery reports".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from instant.domain.records import Channel, OrderRecord, OrderState, RecipientStatus, email_operation_id_for

# An email ACS took but never reported on is failed this long after its first receipt.
EMAIL_REPORT_TTL = timedelta(hours=48)
# How many report keys a record keeps: a message gets one or two reports, so this is ample.
MAX_REPORT_KEYS = 8

_SMS_WAITING = frozenset({RecipientStatus.SMS_SENDING, RecipientStatus.SMS_ACCEPTED})
_EMAIL_WAITING = frozenset({RecipientStatus.EMAIL_SENDING, RecipientStatus.EMAIL_SUCCEEDED})
# The stored answer code of a 502 outcome_unknown (instant/domain/errors.py, ProblemCode).
OUTCOME_UNKNOWN = "outcome_unknown"

_SMS = {"delivered": RecipientStatus.SMS_DELIVERED, "expired": RecipientStatus.SMS_FAILED_EXPIRED}
_EMAIL = {
    "delivered": RecipientStatus.EMAIL_DELIVERED,
    "bounced": RecipientStatus.EMAIL_FAILED_BOUNCED,
    "suppressed": RecipientStatus.EMAIL_FAILED_SUPPRESSED_RECIPIENT,
    "filteredspam": RecipientStatus.EMAIL_FAILED_FILTERED_SPAM,
    "quarantined": RecipientStatus.EMAIL_FAILED_QUARANTINED,
}


@dataclass(frozen=True)
class Report:
    """One delivery report, read from its event (instant/entrypoints/delivery_reports.py)."""

    channel: Channel
    event_id: str
    event_time: datetime | None
    provider_status: str  # as ACS spelled it
    details: str | None  # deliveryStatusDetails (SMS) / statusMessage (email)
    message_id: str  # SMS message id / email operation id
    recipient: str  # SMS "to" / email "recipient"
    tag: str | None = None  # SMS: the shipment id we sent as smsSendOptions.tag

    @property
    def key(self) -> str:
        """The same for every delivery of this report. Not the event id alone: ACS gives an SMS
        report's event the message's id, so two reports on one SMS share it."""
        when = self.event_time.isoformat() if self.event_time else ""
        text = f"{self.event_id}\n{self.provider_status.casefold()}\n{when}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def status(self) -> RecipientStatus:
        """The Altinn status this report stands for."""
        reported = self.provider_status.strip().casefold()
        if self.channel is Channel.SMS:
            if reported == "failed" and "expired" in (self.details or "").casefold():
                return RecipientStatus.SMS_FAILED_EXPIRED  # the only failure detail that is unambiguous
            return _SMS.get(reported, RecipientStatus.SMS_FAILED)
        return _EMAIL.get(reported, RecipientStatus.EMAIL_FAILED)


class Verdict(StrEnum):
    """What a report does to the record it names."""

    APPLY = "applied"  # the status changes; written with its audit entry
    AUDIT_ONLY = "contradicted"  # a terminal status is already there: only the audit entry
    DUPLICATE = "duplicate"  # already written, or says what the record says: nothing
    NOT_YET = "not_yet"  # a request still holds the order: Event Grid delivers again later
    MISMATCH = "mismatched"  # not this order's report: logged and dropped


def decide(record: OrderRecord, report: Report, now: datetime | None = None) -> Verdict:
    """The one decision a report makes; the ordering rules in order. ``now`` tells a holder
    whose lease ran out (a crashed request) from one that still works (without it, any
    request in progress counts as working)."""
    if record.channel is not report.channel or not _same_recipient(record, report):
        return Verdict.MISMATCH
    if not _same_message(record, report):
        return Verdict.MISMATCH  # another generation of the key (reused after the purge), or not ours
    if report.key in record.report_keys:
        return Verdict.DUPLICATE
    if _held(record, now):
        return Verdict.NOT_YET  # the request's final write must not lose its ETag race to us
    if record.status is report.status:
        return Verdict.DUPLICATE
    if record.status.is_terminal and not _guessed(record):
        return Verdict.AUDIT_ONLY
    return Verdict.APPLY


def _held(record: OrderRecord, now: datetime | None) -> bool:
    """A request is working on the order right now. A parked order (RETRYABLE) or one whose
    holder's lease ran out is nobody's: the report is written, and the next request's final
    write keeps it (transitions.with_outcome)."""
    if record.state is not OrderState.IN_PROGRESS:
        return False
    return now is None or record.lease_until is None or record.lease_until > now


def _guessed(record: OrderRecord) -> bool:
    """The terminal status is the service's own "outcome unknown" (502), not the provider's:
    ACS's report is the truth about what happened, so it replaces it."""
    return record.answer is not None and record.answer.code == OUTCOME_UNKNOWN


def remember(keys: tuple[str, ...], key: str) -> tuple[str, ...]:
    """The report keys to store: the newest MAX_REPORT_KEYS."""
    return (*keys, key)[-MAX_REPORT_KEYS:]


def effective_status(record: OrderRecord, now: datetime, grace: timedelta) -> tuple[RecipientStatus, datetime]:
    """The status (and its lastUpdate) a record reads as: a report that did not come in time
    is a failure, derived here when read and never stored, so a late real report still wins."""
    # Also an order still sending: parked after transient failures, or taken by ACS and never
    # finished (no report, and an operation ACS no longer knows): its time is up all the same.
    if record.status in _SMS_WAITING and record.deadline is not None:
        expires = record.deadline + grace
        if now >= expires:
            return RecipientStatus.SMS_FAILED_TTL, expires
    if record.status in _EMAIL_WAITING:
        expires = record.received_at + EMAIL_REPORT_TTL
        if now >= expires:
            return RecipientStatus.EMAIL_FAILED_TTL, expires
    return record.status, record.updated_at


def _same_recipient(record: OrderRecord, report: Report) -> bool:
    if record.channel is Channel.SMS:
        return _digits(record.recipient) == _digits(report.recipient)
    return record.recipient.strip().casefold() == report.recipient.strip().casefold()


def _same_message(record: OrderRecord, report: Report) -> bool:
    if record.channel is Channel.SMS:
        # The message id is known once ACS answered; until then the tag alone names the order.
        return record.provider_id is None or record.provider_id == report.message_id
    expected = email_operation_id_for(record.caller, record.idempotency_id, record.received_at)
    return expected == report.message_id.strip().lower()


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())
