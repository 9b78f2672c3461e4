"""The physical floor, measured from the harness process with the same SDKs and adapter code.

What no implementation of the contract can avoid for one new send: the claim (one conditional
insert), the provider hand-off (the very ``AcsSmsGateway.send`` / ``AcsEmailGateway.send`` the
service uses, no service around it), and the final write (one entity-group transaction: the
ETag-matched record update plus the audit insert). The entities are the adapter's own
(``table_store._order_entity`` / ``_audit_entity``) so their sizes match the service's; they are
built outside the timed calls. The floor is the sum of the three timed calls.

For a replay the floor is one point read on Table Storage plus one HTTP round trip to the local
host (``GET /health``): the least a stateless service could do to answer from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

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
from instant import answers, bootstrap
from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.table_store import _audit_entity, _order_entity
from instant.config import Settings
from instant.idempotency import (
    AuditEntry,
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    order_id_for,
    provider_token_for,
    shipment_id_for,
)
from instant.orders import EmailOrder, SmsOrder, body_digest
from instant.ports import EmailContentType, EmailMessage, EmailOperationStatus, SmsMessage


@dataclass(frozen=True)
class FloorSample:
    claim: float
    provider: float
    update: float

    @property
    def total(self) -> float:
        return self.claim + self.provider + self.update


def _record(order: SmsOrder | EmailOrder, now: datetime) -> OrderRecord:
    """The record the service would claim for ``order`` (same fields, same sizes)."""
    key = order.idempotency_id
    sms = isinstance(order, SmsOrder)
    return OrderRecord(
        shipment_id=shipment_id_for(CALLER, order.channel, key),
        order_id=order_id_for(CALLER, order.channel, key),
        caller=CALLER,
        channel=order.channel,
        idempotency_id=key,
        fingerprint=order.fingerprint(),
        state=OrderState.IN_PROGRESS,
        status=RecipientStatus.SMS_SENDING if sms else RecipientStatus.EMAIL_SENDING,
        received_at=now,
        first_sent_at=now,
        deadline=now + timedelta(seconds=order.ttl_seconds) if isinstance(order, SmsOrder) else None,
        ttl_seconds=order.ttl_seconds if isinstance(order, SmsOrder) else None,
        recipient=order.recipient,
        sender=SMS_SENDER if sms else EMAIL_SENDER,
        senders_reference="ref-bench",
        updated_at=now,
        lease_until=now + timedelta(seconds=BUDGET_SECONDS + 5),
        lease_owner=uuid.uuid4().hex,
        attempts=1,
    )


def _final(record: OrderRecord, status: RecipientStatus, provider_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The completed record and its audit entry, as entities."""
    now = datetime.now(UTC)
    provisional = replace(record, status=status, provider_id=provider_id, updated_at=now)
    stored = answers.created_answer(provisional)
    final = replace(
        provisional,
        state=OrderState.COMPLETED,
        lease_until=None,
        lease_owner=None,
        may_have_reached_provider=True,
        answer=stored,
    )
    body = SMS_BODY if record.channel is Channel.SMS else EMAIL_BODY
    digest, length = body_digest(body)
    audit = AuditEntry(
        shipment_id=record.shipment_id,
        at=now,
        caller=CALLER,
        channel=record.channel,
        idempotency_id=record.idempotency_id,
        recipient=record.recipient,
        sender=record.sender,
        outcome=stored.code,
        http_status=stored.status,
        replay=False,
        provider_id=provider_id,
        ttl_seconds=record.ttl_seconds,
        latency_ms=10,
        trace_id=uuid.uuid4().hex,
        body_sha256=digest,
        body_length=length,
        status=status.value,
    )
    return _order_entity(final), _audit_entity(audit)


class Floor:
    def __init__(self, table: TableClient, sms: AcsSmsGateway, email: AcsEmailGateway) -> None:
        self.table = table
        self.sms = sms
        self.email = email

    @classmethod
    def create(cls, config: Settings) -> Floor:
        """The SDK clients built exactly as the app builds them (instant/bootstrap.py), so the floor
        pays for the same client and transport configuration; only the service is left out."""
        credential = bootstrap.acs_credential(config)
        return cls(
            bootstrap.table_client(config),
            AcsSmsGateway.create(config.acs_endpoint, credential),
            AcsEmailGateway.create(config.acs_endpoint, credential),
        )

    async def ensure_table(self) -> None:
        """The app creates its table on its first request; the floor may run first."""
        with contextlib.suppress(ResourceExistsError):
            await self.table.create_table()

    async def close(self) -> None:
        await self.table.close()
        await self.sms.close()
        await self.email.close()

    async def _claim(self, record: OrderRecord) -> tuple[float, str]:
        entity = _order_entity(record)
        started = time.perf_counter()
        metadata = await self.table.create_entity(entity)
        elapsed = time.perf_counter() - started
        return elapsed, str(metadata["etag"])

    async def _update(self, order_entity: dict[str, Any], audit_entity: dict[str, Any], etag: str) -> float:
        operations: list[Any] = [
            (
                "update",
                order_entity,
                {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified},
            ),
            ("create", audit_entity),
        ]
        started = time.perf_counter()
        await self.table.submit_transaction(operations)
        return time.perf_counter() - started

    async def sms_send(self) -> FloorSample:
        now = datetime.now(UTC)
        order = SmsOrder(uuid.uuid4().hex, "ref-bench", new_phone(), 300, None, SMS_BODY)
        record = _record(order, now)
        claim, etag = await self._claim(record)
        message = SmsMessage(
            recipient=record.recipient,
            sender=record.sender,
            body=order.body,
            validity_seconds=300,
            token=provider_token_for(CALLER, Channel.SMS, order.idempotency_id),
            first_sent_at=now,
        )
        started = time.perf_counter()
        receipt = await self.sms.send(message, timeout=BUDGET_SECONDS)
        provider = time.perf_counter() - started
        order_entity, audit_entity = _final(record, RecipientStatus.SMS_ACCEPTED, receipt.message_id)
        update = await self._update(order_entity, audit_entity, etag)
        return FloorSample(claim, provider, update)

    async def email_send(self) -> FloorSample:
        now = datetime.now(UTC)
        order = EmailOrder(
            uuid.uuid4().hex, "ref-bench", new_email(), EMAIL_SUBJECT, EMAIL_BODY, EmailContentType.PLAIN, None
        )
        record = _record(order, now)
        claim, etag = await self._claim(record)
        message = EmailMessage(
            recipient=record.recipient,
            sender=record.sender,
            subject=order.subject,
            body=order.body,
            content_type=order.content_type,
            operation_id=provider_token_for(CALLER, Channel.EMAIL, order.idempotency_id),
        )
        started = time.perf_counter()
        receipt = await self.email.send(message, timeout=BUDGET_SECONDS, wait=EMAIL_WAIT_SECONDS)
        provider = time.perf_counter() - started
        if receipt.status is not EmailOperationStatus.SUCCEEDED:
            raise RuntimeError(f"floor email ended {receipt.status}: is the emulator's email timer at 0?")
        order_entity, audit_entity = _final(record, RecipientStatus.EMAIL_SUCCEEDED, receipt.operation_id)
        update = await self._update(order_entity, audit_entity, etag)
        return FloorSample(claim, provider, update)

    async def point_read(self, shipment_id: str) -> float:
        started = time.perf_counter()
        await self.table.get_entity(shipment_id, "order")
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
