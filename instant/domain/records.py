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
    SMS_FAILED_EXPIRED = "SMS_Failed_Expired"
    EMAIL_SENDING = "Email_Sending"
    EMAIL_SUCCEEDED = "Email_Succeeded"
    EMAIL_DELIVERED = "Email_Delivered"
    EMAIL_FAILED = "Email_Failed"
    EMAIL_FAILED_INVALID_EMAIL_FORMAT = "Email_Failed_InvalidEmailFormat"
    EMAIL_FAILED_SUPPRESSED_RECIPIENT = "Email_Failed_SuppressedRecipient"
    EMAIL_FAILED_TTL = "Email_Failed_TTL"
    EMAIL_FAILED_BOUNCED = "Email_Failed_Bounced"
    EMAIL_FAILED_FILTERED_SPAM = "Email_Failed_FilteredSpam"
    EMAIL_FAILED_QUARANTINED = "Email_Failed_Quarantined"

    @property
    def is_sending(self) -> bool:
        """The provider has not said yet how the hand-off ended."""
        return self.value.endswith("_Sending")

    @property
    def is_terminal(self) -> bool:
        """Nothing can change it any more: delivered or failed (a delivery report or the TTL)."""
        return not self.is_sending and self not in (RecipientStatus.SMS_ACCEPTED, RecipientStatus.EMAIL_SUCCEEDED)


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


# How many leading characters of an email operation id are the shipment id's own
# ("xxxxxxxx-xxxx-5xxx-": 60 random bits of it, docs/architecture.md, "Delivery reports").
OPERATION_PREFIX_LENGTH = 19


def email_operation_id_for(caller: str, idempotency_id: str, received_at: datetime) -> str:
    """ACS email Operation-Id: the shipment id's first three groups, then the provider token's rest.

    A delivery report carries only this id (``messageId``), so its prefix leads back to the
    shipment with one key-range read and no index row; the token's part still makes a key used
    again after the retention purge a new operation. Still a version-5 UUID (the token's variant).
    """
    shipment_id = shipment_id_for(caller, Channel.EMAIL, idempotency_id)
    token = provider_token_for(caller, Channel.EMAIL, idempotency_id, received_at)
    return shipment_id[:OPERATION_PREFIX_LENGTH] + token[OPERATION_PREFIX_LENGTH:]


def operation_prefix(operation_id: str) -> str | None:
    """The shipment id prefix an email operation id carries, or None if it is not one of ours."""
    try:
        canonical = str(uuid.UUID(operation_id))
    except ValueError:
        return None
    return canonical[:OPERATION_PREFIX_LENGTH]


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
    # Keys of the delivery reports already written (instant/domain/delivery_status.py): a
    # redelivered report finds its key here and writes nothing.
    report_keys: tuple[str, ...] = ()
    etag: str | None = field(default=None, compare=False)
    # Where the store keeps it (a table name, instant/storage/periods.py); set by the store.
    stored_in: str | None = field(default=None, compare=False)


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
    outcome: str  # "created", a ProblemCode, "abandoned", "status_refreshed" or "delivery_report"
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
    # A delivery report's entry (outcome "delivery_report"): what the provider said, and which event.
    provider_status: str | None = None
    provider_details: str | None = None
    event_id: str | None = None
    event_time: datetime | None = None
    sms_encoding: str | None = None  # SMS only: "GSM-7" or "UCS-2" (instant/limits/segments.py)
    sms_segments: int | None = None  # SMS only: the parts a carrier bills
