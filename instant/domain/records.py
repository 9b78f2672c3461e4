"""The order record, its states and ids, the stored answer and the audit entry: plain values.

An order is identified by (caller, channel, idempotencyId). Its life (the transitions are pure
functions in instant/idempotency/transitions.py):

    (none) --claim--> IN_PROGRESS --provider answered--> COMPLETED   (answer stored, replayed)
                          |   ^
                          |   `--take over (lease ran out: the holder crashed or hung)
                          `--transient failure--> RETRYABLE --next request takes over--> IN_PROGRESS
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from instant.domain.digests import SHA256
from instant.domain.fingerprint import Fingerprint


class Channel(StrEnum):
    """The two channels; each has its own key space."""

    SMS = "sms"
    EMAIL = "email"


class OrderState(StrEnum):
    """Where an order is in the idempotency protocol (not what the recipient sees)."""

    IN_PROGRESS = "in_progress"
    RETRYABLE = "retryable"
    COMPLETED = "completed"


class RecipientStatus(StrEnum):
    """Altinn's recipient status names (docs/api.md, "Recipient statuses")."""

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
    EMAIL_FAILED_SUPPRESSED_RECIPIENT = "Email_Failed_SuppressedRecipient"
    EMAIL_FAILED_TTL = "Email_Failed_TTL"

    @property
    def is_sending(self) -> bool:
        """The provider has not said yet how the hand-off ended."""
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
    """The shipment id (and Table partition) of a key: the same on every worker."""
    return str(uuid.uuid5(_SHIPMENT_NAMESPACE, _scope(caller, channel, idempotency_id)))


def order_id_for(caller: str, channel: Channel, idempotency_id: str) -> str:
    """The notificationOrderId answered for a key."""
    return str(uuid.uuid5(_ORDER_NAMESPACE, _scope(caller, channel, idempotency_id)))


def provider_token_for(caller: str, channel: Channel, idempotency_id: str, received_at: datetime) -> str:
    """ACS SMS repeatabilityRequestId / email Operation-Id: the same for every retry of one order.

    It includes the order's first receipt (whole milliseconds, which every store keeps), so a key
    used again after the retention purge is a new message to ACS, never answered with the old one.
    """
    received_ms = round(received_at.timestamp() * 1000)
    return str(uuid.uuid5(_PROVIDER_TOKEN_NAMESPACE, f"{_scope(caller, channel, idempotency_id)}\n{received_ms}"))


@dataclass(frozen=True)
class StoredAnswer:
    """The first final answer, kept byte-for-byte so that replays are identical."""

    status: int
    body: str
    code: str  # "created" or the problem code: the outcome's stable name, for the audit


@dataclass(frozen=True)
class OrderRecord:
    """The stored state of one order: the idempotency record and what GET shipment shows."""

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
    outcome: str  # "created", a ProblemCode, "abandoned" or "status_refreshed" (idempotency/audit.py)
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
    sms_encoding: str | None = None  # SMS only: "GSM-7" or "UCS-2" (instant/limits/segments.py)
    sms_segments: int | None = None  # SMS only: the parts a carrier bills
