"""The order record's transitions, as pure functions: no I/O, no clock, no randomness.

    draft      the record a request would claim for a new key
    decide     what a request does with a record that someone else created first
    take_over  a request takes a retryable record, or one whose holder's lease ran out
    complete   the provider answered for good: the first answer is stored
    park       the provider failed transiently: the next request with the key takes over

The guard (guard.py) applies them and the store persists each result with an ETag check, so two
workers can never both move the same version of a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from instant.domain.answer import Answer
from instant.domain.fingerprint import Fingerprint
from instant.domain.orders import Order, SmsOrder
from instant.domain.records import (
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
    order_id_for,
    shipment_id_for,
)


def draft(
    order: Order,
    *,
    caller: str,
    sender: str,
    fingerprint: Fingerprint,
    now: datetime,
    lease_seconds: float,
    lease_owner: str,
) -> OrderRecord:
    """The record a request claims for a key it has not seen: in progress, leased to it."""
    ttl = order.ttl_seconds if isinstance(order, SmsOrder) else None
    return OrderRecord(
        shipment_id=shipment_id_for(caller, order.channel, order.idempotency_id),
        order_id=order_id_for(caller, order.channel, order.idempotency_id),
        caller=caller,
        channel=order.channel,
        idempotency_id=order.idempotency_id,
        fingerprint=fingerprint,
        state=OrderState.IN_PROGRESS,
        status=RecipientStatus.SMS_SENDING if isinstance(order, SmsOrder) else RecipientStatus.EMAIL_SENDING,
        received_at=now,
        first_sent_at=now,
        deadline=now + timedelta(seconds=ttl) if ttl is not None else None,
        ttl_seconds=ttl,
        recipient=order.recipient,
        sender=sender,
        senders_reference=order.senders_reference,
        updated_at=now,
        lease_until=now + timedelta(seconds=lease_seconds),
        lease_owner=lease_owner,
        attempts=1,
    )


class DecisionKind(StrEnum):
    """The four things a request can do with a record it did not create."""

    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_FLIGHT = "in_flight"
    TAKE_OVER = "take_over"


@dataclass(frozen=True)
class Decision:
    """A decision, with the differing fields of a mismatch."""

    kind: DecisionKind
    differing_fields: list[str] = field(default_factory=list)


def decide(existing: OrderRecord, fingerprint: Fingerprint, now: datetime) -> Decision:
    """What a request does with a record that someone else created first."""
    if existing.fingerprint.value != fingerprint.value:
        return Decision(DecisionKind.MISMATCH, fingerprint.differing_fields(existing.fingerprint))
    if existing.state is OrderState.COMPLETED:
        return Decision(DecisionKind.REPLAY)
    if existing.state is OrderState.IN_PROGRESS and existing.lease_until is not None and existing.lease_until > now:
        return Decision(DecisionKind.IN_FLIGHT)
    # RETRYABLE, or IN_PROGRESS whose holder let its lease run out (crashed or hung).
    return Decision(DecisionKind.TAKE_OVER)


def take_over(existing: OrderRecord, *, now: datetime, lease_seconds: float, lease_owner: str) -> OrderRecord:
    """The record leased to a new holder. A holder that vanished mid-flight may have reached
    the provider, so the new one must rely on the provider token. When no earlier attempt can
    have reached the provider, the hand-off starts afresh: a new ``first_sent_at``, so a retry
    that comes after ACS's 5-minute repeatability window is a new send, not a refused repeat."""
    may_have_reached = existing.may_have_reached_provider or existing.state is OrderState.IN_PROGRESS
    return replace(
        existing,
        state=OrderState.IN_PROGRESS,
        lease_until=now + timedelta(seconds=lease_seconds),
        lease_owner=lease_owner,
        attempts=existing.attempts + 1,
        may_have_reached_provider=may_have_reached,
        first_sent_at=existing.first_sent_at if may_have_reached else now,
        updated_at=now,
    )


def with_outcome(
    record: OrderRecord, *, status: RecipientStatus, provider_id: str | None, now: datetime
) -> OrderRecord:
    """The held record with what the provider said, before its answer is rendered. A terminal
    status already on the record came from a delivery report while the order was parked: it is
    what happened to the message, so a retry's outcome does not replace it."""
    if record.status.is_terminal:
        return replace(record, provider_id=provider_id or record.provider_id, updated_at=now)
    return replace(record, status=status, provider_id=provider_id, updated_at=now)


def complete(record: OrderRecord, answer: StoredAnswer) -> OrderRecord:
    """Final: the first answer is stored and replayed from now on. The lease owner stays on the
    record, so a holder whose write committed but timed out recognises it as its own."""
    return replace(
        record,
        state=OrderState.COMPLETED,
        lease_until=None,
        may_have_reached_provider=True,
        answer=answer,
    )


def park(record: OrderRecord, *, status: RecipientStatus, may_have_reached: bool, now: datetime) -> OrderRecord:
    """Retryable: nothing final happened; the next request with the key takes the record over.
    The lease owner stays, as in ``complete``."""
    return replace(
        record,
        state=OrderState.RETRYABLE,
        status=status,
        lease_until=None,
        may_have_reached_provider=may_have_reached,
        updated_at=now,
    )


def first_answer(stored: StoredAnswer, location: str) -> Answer:
    """The answer of the request that completed the order."""
    headers = {"Location": location} if stored.status < 400 else {}
    return Answer(stored.status, stored.body, stored.code, headers)


def replay_answer(stored: StoredAnswer, location: str) -> Answer:
    """The first answer's bytes again; a success becomes 200, an error keeps its status."""
    status = 200 if stored.status == 201 else stored.status
    headers = {"Idempotent-Replayed": "true"}
    if stored.status < 400:
        headers["Location"] = location
    return Answer(status, stored.body, stored.code, headers)
