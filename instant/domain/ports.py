"""The seams between the service and the outside world. No SDK type appears here.

Adapters (instant/adapters) implement the store and the gateways; the edge
(instant/entrypoints/answers.py) implements the renderer. Fakes for unit tests live in
tests/support/fakes.py and are kept honest by the contract suite in tests/contract.

Every provider call takes the request's ``Deadline`` as it is: the adapter turns it into the
SDK's own form at its boundary, and nothing in between converts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from instant.domain.answer import Answer
from instant.domain.records import AuditEntry, OrderRecord, StoredAnswer

if TYPE_CHECKING:
    from instant.domain.deadline import Deadline
    from instant.domain.errors import ProblemError


class Closeable(Protocol):
    """Something the service owns and closes on shutdown (e.g. the credential its adapters share)."""

    async def close(self) -> None:
        """Release it."""
        ...


def purge_cutoff(moment: datetime) -> datetime:
    """A purge cutoff truncated to whole milliseconds. Azure Table Storage compares times to
    100 ns, Azurite to 1 ms; with the cutoff on a millisecond boundary "before the cutoff" means
    the same on both, and truncating only ever spares a record, never deletes a younger one."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class OrderStore(Protocol):
    """Orders and their audit entries (Table Storage in Azure, a dict in unit tests)."""

    async def claim(self, record: OrderRecord) -> OrderRecord:
        """Insert the record only if its key is new; return it with its ETag.

        Raises KeyAlreadyClaimed (carrying the existing record) or StorageUnavailable.
        """
        ...

    async def get(self, shipment_id: str) -> OrderRecord | None:
        """The record with its ETag, or None. Raises StorageUnavailable."""
        ...

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """Replace the record if its stored ETag still equals ``record.etag``, and insert the
        audit entry in the same transaction. Returns the record with its new ETag.

        Raises RecordChanged or StorageUnavailable.
        """
        ...

    async def append_audit(self, audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        """Audit entry of a request that changed no state (a replay, a 409, a 422), stored
        beside the order it is about (``beside``, as read from this store)."""
        ...

    async def orders_with_prefix(self, shipment_prefix: str) -> list[OrderRecord]:
        """The order records whose shipment id starts with ``shipment_prefix``, with their
        ETags: one key-range read (an email delivery report finds its order this way,
        records.email_operation_id_for). Raises StorageUnavailable.
        """
        ...

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        """An order's audit trail, oldest first."""
        ...

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` order records received before the cutoff (truncated to whole
        milliseconds, see ``purge_cutoff``), so a record at or after it is never touched.

        Each record is deleted only if it is unchanged since it was found (ETag), so a record a
        request touched meanwhile is left for the next run; one already gone (a concurrent purge)
        counts as deleted. Safe to run twice at once. Audit entries are not touched. Returns the
        number deleted. Raises StorageUnavailable.
        """
        ...

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` audit entries written before the cutoff (truncated to whole
        milliseconds); one already gone counts as deleted. Order records are not touched. Returns
        the number deleted. Raises StorageUnavailable.
        """
        ...

    async def prepare_periods(self, now: datetime) -> list[str]:
        """Make ready the storage of the current and the next period (instant/storage/periods.py);
        their names."""
        ...

    async def drop_expired_periods(self, now: datetime, audit_retention: timedelta) -> list[str]:
        """Drop the storage of every period whose audit entries are all older than
        ``audit_retention``; the names dropped."""
        ...

    async def close(self) -> None:
        """Release the client."""
        ...


@dataclass(frozen=True)
class SmsMessage:
    """One SMS as the provider is asked to send it."""

    recipient: str  # E.164
    sender: str
    body: str
    validity_seconds: int  # ACS smsSendOptions.validityPeriodSeconds, already clamped
    token: str  # repeatabilityRequestId
    first_sent_at: datetime  # repeatabilityFirstSent
    tag: str | None = None  # smsSendOptions.tag: the shipment id, echoed in the delivery report


@dataclass(frozen=True)
class SmsReceipt:
    """The provider took the SMS."""

    message_id: str


class SmsGateway(Protocol):
    """The SMS provider."""

    async def send(self, message: SmsMessage, *, deadline: Deadline) -> SmsReceipt:
        """Hand one SMS to the provider in one attempt that ends by ``deadline``. The caller
        (instant/service/delivery.py) owns retries.

        Raises ProviderRejected, ProviderUnavailable or ProviderOutcomeUnknown.
        """
        ...

    async def close(self) -> None:
        """Release the client."""
        ...


class EmailContentType(StrEnum):
    """How the email body is sent."""

    PLAIN = "Plain"
    HTML = "Html"


@dataclass(frozen=True)
class EmailMessage:
    """One email as the provider is asked to send it."""

    recipient: str
    sender: str
    subject: str
    body: str
    content_type: EmailContentType
    operation_id: str  # ACS Operation-Id


class EmailOperationStatus(StrEnum):
    """ACS's email operation status, reduced to what the service distinguishes."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class EmailReceipt:
    """The provider took the email; where its operation stands."""

    operation_id: str
    status: EmailOperationStatus
    error_code: str | None = None  # ACS's code of a failed operation, e.g. EmailDroppedAllRecipientsSuppressed


class EmailGateway(Protocol):
    """The email provider."""

    async def send(self, message: EmailMessage, *, deadline: Deadline, wait: float) -> EmailReceipt:
        """Post the email in one attempt that ends by ``deadline``, and wait at most ``wait`` s
        for a terminal status. The caller owns retries.

        An operation that ended Failed or Canceled is a receipt with status FAILED and ACS's
        error code. Raises ProviderRejected, ProviderUnavailable, ProviderMisconfigured or
        ProviderOutcomeUnknown.
        """
        ...

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        """The operation's status (Failed included), or None if the provider does not know it.

        Raises ProviderUnavailable when the provider cannot be asked right now.
        """
        ...

    async def close(self) -> None:
        """Release the client."""
        ...


class AnswerRenderer(Protocol):
    """Turns the service's results into the exact bytes of the wire format (the edge implements it)."""

    def created(self, record: OrderRecord) -> StoredAnswer:
        """The 201 body of a new order, stored once and replayed byte for byte."""
        ...

    def problem(self, problem: ProblemError) -> StoredAnswer:
        """A problem+json body (stored when the problem's kind says so)."""
        ...

    def shipment(self, record: OrderRecord) -> Answer:
        """The GET shipment answer."""
        ...

    def location(self, shipment_id: str) -> str:
        """The URL path of a shipment (the Location header)."""
        ...
