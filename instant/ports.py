"""The seams between the service and the outside world. No SDK type appears here.

Adapters (instant/adapters) implement these; fakes for unit tests live in tests/fakes.py and
are kept honest by the contract suite in tests/contract.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from instant.idempotency import AuditEntry, OrderRecord


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC time."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Closeable(Protocol):
    """Something the service owns and closes on shutdown (e.g. the credential its adapters share)."""

    async def close(self) -> None: ...


def purge_cutoff(moment: datetime) -> datetime:
    """A purge cutoff truncated to whole milliseconds. Azure Table Storage compares times to
    100 ns, Azurite to 1 ms; with the cutoff on a millisecond boundary "before the cutoff" means
    the same on both, and truncating only ever spares a record, never deletes a younger one."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class OrderStore(Protocol):
    async def claim(self, record: OrderRecord) -> OrderRecord:
        """Insert the record only if its key is new; return it with its ETag.

        Raises KeyAlreadyClaimed (carrying the existing record) or StorageUnavailable.
        """
        ...

    async def get(self, shipment_id: str) -> OrderRecord | None: ...

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """Replace the record if its stored ETag still equals ``record.etag``, and insert the
        audit entry in the same transaction. Returns the record with its new ETag.

        Raises RecordChanged or StorageUnavailable.
        """
        ...

    async def append_audit(self, audit: AuditEntry) -> None:
        """Audit entry of a request that changed no state (a replay, a 409, a 422)."""
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

    async def close(self) -> None: ...


@dataclass(frozen=True)
class SmsMessage:
    recipient: str  # E.164
    sender: str
    body: str
    validity_seconds: int  # ACS smsSendOptions.validityPeriodSeconds, already clamped
    token: str  # repeatabilityRequestId
    first_sent_at: datetime  # repeatabilityFirstSent


@dataclass(frozen=True)
class SmsReceipt:
    message_id: str


class SmsGateway(Protocol):
    async def send(self, message: SmsMessage, *, timeout: float) -> SmsReceipt:
        """Hand one SMS to the provider, retrying transient failures for at most ``timeout`` s.

        Raises ProviderRejected, ProviderUnavailable or ProviderOutcomeUnknown.
        """
        ...

    async def close(self) -> None: ...


class EmailContentType(StrEnum):
    PLAIN = "Plain"
    HTML = "Html"


@dataclass(frozen=True)
class EmailMessage:
    recipient: str
    sender: str
    subject: str
    body: str
    content_type: EmailContentType
    operation_id: str  # ACS Operation-Id


class EmailOperationStatus(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


@dataclass(frozen=True)
class EmailReceipt:
    operation_id: str
    status: EmailOperationStatus


class EmailGateway(Protocol):
    async def send(self, message: EmailMessage, *, timeout: float, wait: float) -> EmailReceipt:
        """Post the email and wait at most ``wait`` s for a terminal status.

        Raises ProviderRejected (incl. an operation that ended Failed), ProviderUnavailable or
        ProviderOutcomeUnknown.
        """
        ...

    async def status(self, operation_id: str, *, timeout: float) -> EmailReceipt | None:
        """The operation's status (Failed included), or None if the provider does not know it.

        Raises ProviderUnavailable when the provider cannot be asked right now.
        """
        ...

    async def close(self) -> None: ...
