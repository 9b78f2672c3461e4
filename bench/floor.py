"""The physical floor, measured from the harness process with the same SDKs and adapter code.

What no implementation of the contract can avoid for one new send: the claim (one conditional
insert), the provider hand-off (the very ``AcsSmsGateway.send`` / ``AcsEmailGateway.send`` the
service uses, no service around it), and the final write (one entity-group transaction: the
ETag-matched record update plus the audit insert). The calls are the Table adapter's public
``claim`` / ``update`` and the records and audit entries come from the service's own pure
transitions (instant/idempotency), built outside the timed calls, so the floor cannot drift from
what the service writes. The floor is the sum of the three timed calls. It shares the app's base
table, whose layout row the harness wrote "away" from a period boundary (bench/periods.py), so
its claim is the one insert of a claim away from a boundary, like the app's.

For a replay the floor is one point read on Table Storage plus one HTTP round trip to the local
host (``GET /health``): the least a stateless service could do to answer from storage.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.load import ClosedLoopResult
from bench.payloads import (
    BUDGET_SECONDS,
    CALLER,
    EMAIL_BODY,
    EMAIL_SENDER,
    EMAIL_SUBJECT,
    EMAIL_WAIT_SECONDS,
    SMS_BODY,
    SMS_SENDER,
    new_email,
    new_phone,
)
from instant import bootstrap
from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.table_rows import TableRows
from instant.config import Settings
from instant.domain.clock import SystemClock
from instant.domain.deadline import Deadline
from instant.domain.digests import PLAIN
from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.ports import EmailContentType, EmailMessage, EmailOperationStatus, SmsMessage
from instant.domain.records import (
    AuditEntry,
    Channel,
    OrderRecord,
    RecipientStatus,
    email_operation_id_for,
    provider_token_for,
)
from instant.entrypoints.answers import WireRenderer
from instant.idempotency import transitions
from instant.idempotency.audit import Attempt, AuditWriter
from instant.service.handoffs import email_status
from instant.storage.order_store import PeriodOrderStore

_CLOCK = SystemClock()
_RENDERER = WireRenderer()
_AUDITS = AuditWriter(clock=_CLOCK, digest_kind=PLAIN.kind)


@dataclass(frozen=True)
class FloorSample:
    """One send's three unavoidable calls, in seconds."""

    claim: float
    provider: float
    update: float

    @property
    def total(self) -> float:
        """Their sum: the floor of one send."""
        return self.claim + self.provider + self.update


def draft_record(order: SmsOrder | EmailOrder, now: datetime) -> OrderRecord:
    """The record the service would claim for ``order``: the service's own pure transition."""
    return transitions.draft(
        order,
        caller=CALLER,
        sender=SMS_SENDER if isinstance(order, SmsOrder) else EMAIL_SENDER,
        fingerprint=order.fingerprint(),
        now=now,
        lease_seconds=BUDGET_SECONDS + 5,
        lease_owner=uuid.uuid4().hex,
    )


def final_record(
    held: OrderRecord, order: SmsOrder | EmailOrder, status: RecipientStatus, provider_id: str
) -> tuple[OrderRecord, AuditEntry]:
    """The completed record and its audit entry, built by the service's own transitions."""
    provisional = transitions.with_outcome(held, status=status, provider_id=provider_id, now=_CLOCK.now())
    stored = _RENDERER.created(provisional)
    final = transitions.complete(provisional, stored)
    attempt = Attempt.of(order, caller=CALLER, trace_id=uuid.uuid4().hex, sender=held.sender, digester=PLAIN)
    return final, _AUDITS.answered(final, attempt, status=stored.status, code=stored.code, replay=False)


class Floor:
    """The floor's calls, through the service's own adapters' public methods."""

    def __init__(self, store: PeriodOrderStore, sms: AcsSmsGateway, email: AcsEmailGateway) -> None:
        self.store = store
        self.sms = sms
        self.email = email

    @classmethod
    def create(cls, config: Settings) -> Floor:
        """The SDK clients built exactly as the app builds them (instant/bootstrap.py), so the floor
        pays for the same client and transport configuration; only the service is left out."""
        credential = bootstrap.acs_credential(config)
        return cls(
            PeriodOrderStore(
                TableRows(bootstrap.table_service(config)),
                base=config.instant_table_name,
                retention=timedelta(hours=config.idempotency_retention_hours),
                clock=SystemClock(),
            ),
            AcsSmsGateway.create(config.acs_endpoint, credential),
            AcsEmailGateway.create(config.acs_endpoint, credential),
        )

    async def ensure_table(self) -> None:
        """The app creates its tables on its first request; the floor may run first."""
        await self.store.prepare_periods(datetime.now(UTC))

    async def close(self) -> None:
        """Close the clients."""
        await self.store.close()
        await self.sms.close()
        await self.email.close()

    async def _claim(self, record: OrderRecord) -> tuple[float, OrderRecord]:
        started = time.perf_counter()
        held = await self.store.claim(record)
        return time.perf_counter() - started, held

    async def _update(self, final: OrderRecord, audit: AuditEntry) -> float:
        started = time.perf_counter()
        await self.store.update(final, audit)
        return time.perf_counter() - started

    async def sms_send(self) -> FloorSample:
        """Claim, SMS hand-off, final write: one new SMS without the service."""
        now = _CLOCK.now()
        order = SmsOrder(uuid.uuid4().hex, "ref-bench", new_phone(), 300, None, SMS_BODY)
        claim, held = await self._claim(draft_record(order, now))
        message = SmsMessage(
            recipient=held.recipient,
            sender=held.sender,
            body=order.body,
            validity_seconds=300,
            token=provider_token_for(CALLER, Channel.SMS, order.idempotency_id, held.received_at),
            first_sent_at=now,
            tag=held.shipment_id,
        )
        started = time.perf_counter()
        receipt = await self.sms.send(message, deadline=Deadline.after(_CLOCK, BUDGET_SECONDS))
        provider = time.perf_counter() - started
        final, audit = final_record(held, order, RecipientStatus.SMS_ACCEPTED, receipt.message_id)
        return FloorSample(claim, provider, await self._update(final, audit))

    async def email_send(self) -> FloorSample:
        """Claim, email hand-off, final write: one new email without the service."""
        now = _CLOCK.now()
        order = EmailOrder(
            uuid.uuid4().hex, "ref-bench", new_email(), EMAIL_SUBJECT, EMAIL_BODY, EmailContentType.PLAIN, None
        )
        claim, held = await self._claim(draft_record(order, now))
        message = EmailMessage(
            recipient=held.recipient,
            sender=held.sender,
            subject=order.subject,
            body=order.body,
            content_type=order.content_type,
            operation_id=email_operation_id_for(CALLER, order.idempotency_id, held.received_at),
        )
        started = time.perf_counter()
        receipt = await self.email.send(
            message, deadline=Deadline.after(_CLOCK, BUDGET_SECONDS), wait=EMAIL_WAIT_SECONDS
        )
        provider = time.perf_counter() - started
        if receipt.status is EmailOperationStatus.FAILED:
            raise RuntimeError(f"floor email ended {receipt.status} ({receipt.error_code})")
        final, audit = final_record(held, order, email_status(receipt), receipt.operation_id)
        return FloorSample(claim, provider, await self._update(final, audit))

    async def point_read(self, shipment_id: str) -> float:
        """One point read of an order record."""
        started = time.perf_counter()
        await self.store.get(shipment_id)
        return time.perf_counter() - started


async def closed_loop_floor(floor: Floor, clients: int, duration: float) -> ClosedLoopResult:
    """The floor under the concurrency run's load: ``clients`` callers in this one process, each
    doing claim + SMS send + final write back to back, new keys, for ``duration`` seconds."""
    result = ClosedLoopResult(clients, duration)
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = started + duration

    async def one_client() -> None:
        answered, last = 0, 0.0
        while loop.time() < end:
            sample = await floor.sms_send()
            result.latencies.append(sample.total)
            answered, last = answered + 1, loop.time() - started
        result.per_client.append((answered, last))

    await asyncio.gather(*(one_client() for _ in range(clients)))
    result.elapsed = loop.time() - started
    return result
