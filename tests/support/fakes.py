"""Fakes of the ports for fast unit tests. They record state, so tests assert outcomes.

InMemoryOrderStore and InMemoryTallyStore are held to the same contract as PeriodOrderStore and
TableTallyStore by tests/contract.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from instant.domain.deadline import Deadline
from instant.domain.errors import KeyAlreadyClaimed, RecordChanged, StorageUnavailable
from instant.domain.ports import EmailMessage, EmailOperationStatus, EmailReceipt, SmsMessage, SmsReceipt, purge_cutoff
from instant.domain.records import AuditEntry, OrderRecord
from instant.domain.tallies import Tally


class WorkerCrash(BaseException):
    """Raised by a fake to stop the service mid-request like a killed process: nothing after
    that point runs (the service catches Exception, never BaseException)."""


ACCEPT_THEN_CRASH = "accept-then-crash"


# Where every FakeClock starts: orders sent before the clock moves are received at this time.
START = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


class FakeClock:
    """Time moves only when told to, or when the service sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or START
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.current += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class InMemoryOrderStore:
    """The OrderStore port in memory, with the Table store's ETag and conflict rules."""

    def __init__(self) -> None:
        self.records: dict[str, OrderRecord] = {}
        self.audits: dict[str, list[AuditEntry]] = {}
        self.available = True
        self.requests = 0
        self._etags = itertools.count(1)

    def _touch(self) -> None:
        self.requests += 1
        if not self.available:
            raise StorageUnavailable("the fake store is down")

    def _stamp(self, record: OrderRecord) -> OrderRecord:
        stored = replace(record, etag=f'W/"{next(self._etags)}"')
        self.records[record.shipment_id] = stored
        return stored

    async def claim(self, record: OrderRecord) -> OrderRecord:
        self._touch()
        existing = self.records.get(record.shipment_id)
        if existing is not None:
            raise KeyAlreadyClaimed(existing)
        return self._stamp(record)

    async def get(self, shipment_id: str) -> OrderRecord | None:
        self._touch()
        return self.records.get(shipment_id)

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        self._touch()
        current = self.records.get(record.shipment_id)
        if current is None or record.etag is None or current.etag != record.etag:
            raise RecordChanged("etag mismatch")
        stored = self._stamp(record)
        if audit is not None:
            self.audits.setdefault(audit.shipment_id, []).append(audit)
        return stored

    async def append_audit(self, audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        self._touch()
        self.audits.setdefault(audit.shipment_id, []).append(audit)

    async def orders_with_prefix(self, shipment_prefix: str) -> list[OrderRecord]:
        self._touch()
        return [r for sid, r in sorted(self.records.items()) if sid.startswith(shipment_prefix)]

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        self._touch()
        return sorted(self.audits.get(shipment_id, []), key=lambda a: a.at)

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        self._touch()
        cutoff = purge_cutoff(received_before)
        found = [(sid, r.etag) for sid, r in self.records.items() if r.received_at < cutoff][: max(limit, 0)]
        deleted = 0
        for shipment_id, etag in found:
            # Like the Table store's separate query and delete requests: a request or another
            # purge may run in between.
            await asyncio.sleep(0)
            current = self.records.get(shipment_id)
            if current is not None and current.etag != etag:
                continue  # changed since found: left for the next run
            self.records.pop(shipment_id, None)
            deleted += 1  # deleted now, or already gone (a 404 on delete is success)
        return deleted

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        self._touch()
        cutoff = purge_cutoff(before)
        found = [(sid, a) for sid, entries in self.audits.items() for a in entries if a.at < cutoff][: max(limit, 0)]
        for shipment_id, entry in found:
            await asyncio.sleep(0)
            remaining = [a for a in self.audits.get(shipment_id, []) if a is not entry]
            if remaining:
                self.audits[shipment_id] = remaining
            else:
                self.audits.pop(shipment_id, None)
        return len(found)

    async def prepare_periods(self, now: datetime) -> list[str]:
        return []  # one dict: no periods

    async def drop_expired_periods(self, now: datetime, audit_retention: timedelta) -> list[str]:
        return []

    async def close(self) -> None:
        return None


SmsStep = SmsReceipt | BaseException | str | Callable[[SmsMessage], SmsReceipt]


@dataclass
class FakeSmsGateway:
    """Answers from ``script`` in order (then accepts). Honours the repeatability token like ACS:
    a token that was accepted before returns the same message id and sends nothing new."""

    script: list[SmsStep] = field(default_factory=list)
    delay: float = 0.0
    calls: list[SmsMessage] = field(default_factory=list)
    sent: list[SmsMessage] = field(default_factory=list)
    _accepted: dict[str, str] = field(default_factory=dict)

    async def send(self, message: SmsMessage, *, deadline: Deadline) -> SmsReceipt:
        self.calls.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if message.token in self._accepted:
            return SmsReceipt(self._accepted[message.token])
        step: SmsStep = self.script.pop(0) if self.script else SmsReceipt(f"msg-{len(self.sent) + 1}")
        if isinstance(step, BaseException):
            raise step
        if step == ACCEPT_THEN_CRASH:
            self.sent.append(message)
            self._accepted[message.token] = f"msg-{len(self.sent)}"
            raise WorkerCrash()
        assert not isinstance(step, str)
        receipt = step(message) if callable(step) else step
        self.sent.append(message)
        self._accepted[message.token] = receipt.message_id
        return receipt

    async def close(self) -> None:
        return None


EmailStep = EmailReceipt | BaseException | str


@dataclass
class FakeEmailGateway:
    """Operation-Id is honoured like ACS: a known operation is never sent twice."""

    script: list[EmailStep] = field(default_factory=list)
    final_status: EmailOperationStatus = EmailOperationStatus.SUCCEEDED
    status_script: list[EmailReceipt | Exception | None] = field(default_factory=list)
    calls: list[EmailMessage] = field(default_factory=list)
    status_calls: list[str] = field(default_factory=list)
    sent: list[EmailMessage] = field(default_factory=list)
    operations: dict[str, EmailOperationStatus] = field(default_factory=dict)

    async def send(self, message: EmailMessage, *, deadline: Deadline, wait: float) -> EmailReceipt:
        self.calls.append(message)
        if message.operation_id in self.operations:
            return EmailReceipt(message.operation_id, self.operations[message.operation_id])
        step: EmailStep = self.script.pop(0) if self.script else EmailReceipt(message.operation_id, self.final_status)
        if isinstance(step, BaseException):
            raise step
        if step == ACCEPT_THEN_CRASH:
            self.sent.append(message)
            self.operations[message.operation_id] = self.final_status
            raise WorkerCrash()
        assert not isinstance(step, str)
        self.sent.append(message)
        self.operations[message.operation_id] = step.status
        return step

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        self.status_calls.append(operation_id)
        if self.status_script:
            step = self.status_script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        if operation_id not in self.operations:
            return None
        return EmailReceipt(operation_id, self.operations[operation_id])

    async def close(self) -> None:
        return None


class InMemoryTallyStore:
    """The TallyStore port in memory, with the Table store's ETag rules."""

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}
        self.available = True
        self.reads = 0
        self.writes = 0
        self._etags = itertools.count(1)

    async def read(self, key: str) -> Tally:
        self.reads += 1
        await asyncio.sleep(0)  # a real read yields to other requests
        if not self.available:
            raise StorageUnavailable("the fake tally store is down")
        return self.tallies.get(key, Tally(key))

    async def write(self, tally: Tally) -> Tally:
        self.writes += 1
        if not self.available:
            raise StorageUnavailable("the fake tally store is down")
        current = self.tallies.get(tally.key)
        if (current.etag if current is not None else None) != tally.etag:
            raise RecordChanged("the tally changed")
        stored = replace(tally, etag=f'W/"{next(self._etags)}"')
        self.tallies[tally.key] = stored
        await asyncio.sleep(0)  # the answer travels back while other requests run
        return stored

    async def purge(self, last_before: datetime, *, limit: int) -> int:
        if not self.available:
            raise StorageUnavailable("the fake tally store is down")
        cutoff = purge_cutoff(last_before)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        found = [
            (key, t.etag) for key, t in self.tallies.items() if max((e.at for e in t.entries), default=epoch) < cutoff
        ][: max(limit, 0)]
        deleted = 0
        for key, etag in found:
            await asyncio.sleep(0)  # like the Table store's query, then its deletes
            current = self.tallies.get(key)
            if current is not None and current.etag != etag:
                continue
            self.tallies.pop(key, None)
            deleted += 1
        return deleted

    async def close(self) -> None:
        return None
