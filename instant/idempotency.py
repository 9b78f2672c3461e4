"""The order record, its states, the fingerprint and the pure rules that move between states.

An order is identified by (caller, channel, idempotencyId). Its life:

    (none) --claim--> IN_PROGRESS --provider answered--> COMPLETED   (answer stored, replayed)
                          |   ^
                          |   `--take over (lease ran out: the holder crashed or hung)
                          `--transient failure--> RETRYABLE --next request takes over--> IN_PROGRESS

Nothing here does I/O; the service applies these rules and the store persists the result
with an ETag check, so two workers can never both move the same version of a record.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from instant.digests import PLAIN, SHA256, Digester


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class OrderState(StrEnum):
    IN_PROGRESS = "in_progress"
    RETRYABLE = "retryable"
    COMPLETED = "completed"


class RecipientStatus(StrEnum):
    """Altinn's recipient status names (instant-api.md, GET shipment)."""

    SMS_SENDING = "SMS_Sending"
    SMS_ACCEPTED = "SMS_Accepted"
    SMS_DELIVERED = "SMS_Delivered"
    SMS_FAILED = "SMS_Failed"
    SMS_FAILED_INVALID_RECIPIENT = "SMS_Failed_InvalidRecipient"
    SMS_FAILED_TTL = "SMS_Failed_TTL"
    EMAIL_SENDING = "Email_Sending"
    EMAIL_SUCCEEDED = "Email_Succeeded"
    EMAIL_DELIVERED = "Email_Delivered"
    EMAIL_FAILED = "Email_Failed"
    EMAIL_FAILED_INVALID_EMAIL_FORMAT = "Email_Failed_InvalidEmailFormat"
    EMAIL_FAILED_TTL = "Email_Failed_TTL"

    @property
    def is_sending(self) -> bool:
        return self.value.endswith("_Sending")


# Fixed namespaces: ids must be the same on every worker and after every restart, so that a
# retry of the same key lands on the same record and carries the same provider token.
_SHIPMENT_NAMESPACE = uuid.UUID("6f1c7a52-9d0e-4b43-8f5e-0c1a2b3c4d5e")
_ORDER_NAMESPACE = uuid.UUID("0b7e2d4c-3f6a-4e1b-9c8d-7a6b5c4d3e2f")
_PROVIDER_TOKEN_NAMESPACE = uuid.UUID("c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f")


def _scope(caller: str, channel: Channel, idempotency_id: str) -> str:
    # The caller id cannot contain "\n" (validated) and the key comes last: unambiguous.
    return f"{caller}\n{channel.value}\n{idempotency_id}"


def shipment_id_for(caller: str, channel: Channel, idempotency_id: str) -> str:
    return str(uuid.uuid5(_SHIPMENT_NAMESPACE, _scope(caller, channel, idempotency_id)))


def order_id_for(caller: str, channel: Channel, idempotency_id: str) -> str:
    return str(uuid.uuid5(_ORDER_NAMESPACE, _scope(caller, channel, idempotency_id)))


def provider_token_for(caller: str, channel: Channel, idempotency_id: str) -> str:
    """ACS SMS repeatabilityRequestId / email Operation-Id: the same for every retry of a key."""
    return str(uuid.uuid5(_PROVIDER_TOKEN_NAMESPACE, _scope(caller, channel, idempotency_id)))


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Fingerprint:
    """A hash of the normalised request, and a hash per field so a mismatch can name fields."""

    value: str
    fields: Mapping[str, str]

    @classmethod
    def of(cls, normalised_fields: Mapping[str, object], digester: Digester = PLAIN) -> Fingerprint:
        per_field = {path: digester.text(_canonical(v)) for path, v in normalised_fields.items() if v is not None}
        return cls(value=digester.text(_canonical(per_field)), fields=per_field)

    def differing_fields(self, other: Fingerprint) -> list[str]:
        paths = set(self.fields) | set(other.fields)
        return sorted(p for p in paths if self.fields.get(p) != other.fields.get(p))


@dataclass(frozen=True)
class StoredAnswer:
    """The first final answer, kept byte-for-byte so that replays are identical."""

    status: int
    body: str
    code: str  # "created" or the problem code: the outcome's stable name, for the audit


@dataclass(frozen=True)
class OrderRecord:
    shipment_id: str
    order_id: str
    caller: str
    channel: Channel
    idempotency_id: str
    fingerprint: Fingerprint
    state: OrderState
    status: RecipientStatus
    received_at: datetime  # first receipt of the key: never moves
    first_sent_at: datetime  # ACS repeatabilityFirstSent: fixed at the first attempt
    deadline: datetime | None  # SMS: received_at + timeToLiveInSeconds
    ttl_seconds: int | None
    recipient: str
    sender: str
    senders_reference: str | None
    updated_at: datetime
    lease_until: datetime | None = None
    lease_owner: str | None = None
    attempts: int = 0
    may_have_reached_provider: bool = False
    provider_id: str | None = None
    answer: StoredAnswer | None = None
    etag: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AuditEntry:
    """One per validated request. Never the body: its SHA-256 and length only."""

    shipment_id: str
    at: datetime
    caller: str
    channel: Channel
    idempotency_id: str
    recipient: str
    sender: str
    outcome: str  # "created", a ProblemCode, or "status_refreshed"
    http_status: int
    replay: bool
    provider_id: str | None
    ttl_seconds: int | None
    latency_ms: int
    trace_id: str
    body_sha256: str
    body_length: int
    status: str
    digest_kind: str = SHA256  # how body_sha256 was made: "sha256", or "hmac-sha256" under INSTANT_DIGEST_KEY


class DecisionKind(StrEnum):
    REPLAY = "replay"
    MISMATCH = "mismatch"
    IN_FLIGHT = "in_flight"
    TAKE_OVER = "take_over"


@dataclass(frozen=True)
class Decision:
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
