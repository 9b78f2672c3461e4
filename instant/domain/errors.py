"""One error tree for the whole service.

    Exception
    ├── ProblemError                 an answer to the caller: carries a ProblemCode (see PROBLEMS)
    ├── ProviderError                raised by SmsGateway / EmailGateway adapters
    │   ├── ProviderRejected         definitive refusal of recipient or sender: never retry
    │   ├── ProviderUnavailable      transient: safe to retry with the same provider token
    │   ├── ProviderMisconfigured    our credentials or sender refused: an operator must act
    │   └── ProviderOutcomeUnknown   may or may not have been taken; must not be sent again
    └── StoreError                   raised by OrderStore adapters
        ├── KeyAlreadyClaimed        the conditional insert lost: carries the existing record
        ├── RecordChanged            the ETag no longer matches: someone else moved the record
        └── StorageUnavailable       Table Storage failed; nothing about the record is known

Adapters translate SDK exceptions into this tree at their boundary (``raise ... from exc``);
no ``azure.core`` exception crosses into the service. The service turns Provider/Store errors
into ProblemErrors, and ``PROBLEMS`` is the single table from problem code to HTTP status.

One error style: a refusal that is not stored (400, 403, 404, 409, 422 key reused, 503) is
*raised* as a ProblemError wherever it is found, and the edge (instant/entrypoints/http.py)
turns it into the answer. What the service *returns* is an answer whose bytes are fixed: a
201, a stored problem (410, 422 recipient_rejected, 502), their replays, a shipment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from instant.domain.records import OrderRecord


class ProblemCode(StrEnum):
    """The stable, machine-readable ``code`` of every problem answer (docs/api.md, "Errors")."""

    VALIDATION_FAILED = "validation_failed"
    MALFORMED_JSON = "malformed_json"
    CALLER_MISSING = "caller_missing"
    REQUEST_IN_PROGRESS = "request_in_progress"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    RECIPIENT_REJECTED = "recipient_rejected"
    TTL_EXPIRED = "ttl_expired"
    OUTCOME_UNKNOWN = "outcome_unknown"
    PROVIDER_UNAVAILABLE = "provider_unavailable"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    NOT_FOUND = "not_found"
    CHANNEL_NOT_CONFIGURED = "channel_not_configured"
    RECIPIENT_RATE_LIMITED = "recipient_rate_limited"
    CALLER_BUDGET_EXHAUSTED = "caller_budget_exhausted"
    INTERNAL_ERROR = "internal_error"


@dataclass(frozen=True)
class ProblemKind:
    """A problem code's HTTP status, title, and whether it is stored and replayed."""

    status: int
    title: str
    stored: bool  # kept on the order and replayed byte-for-byte to later requests with the key


# The contract's error table (docs/api.md, "Errors"), in one place.
PROBLEMS: dict[ProblemCode, ProblemKind] = {
    ProblemCode.VALIDATION_FAILED: ProblemKind(400, "The request is not valid", stored=False),
    ProblemCode.MALFORMED_JSON: ProblemKind(400, "The body is not a JSON object", stored=False),
    ProblemCode.CALLER_MISSING: ProblemKind(403, "No caller identity", stored=False),
    ProblemCode.REQUEST_IN_PROGRESS: ProblemKind(409, "The same request is being processed", stored=False),
    ProblemCode.PAYLOAD_TOO_LARGE: ProblemKind(413, "The body is too large", stored=False),
    ProblemCode.UNSUPPORTED_MEDIA_TYPE: ProblemKind(415, "Content-Type must be application/json", stored=False),
    ProblemCode.IDEMPOTENCY_KEY_REUSED: ProblemKind(
        422, "The idempotencyId was used before with a different payload", stored=False
    ),
    ProblemCode.RECIPIENT_REJECTED: ProblemKind(422, "The provider refused the recipient", stored=True),
    ProblemCode.TTL_EXPIRED: ProblemKind(410, "The time-to-live ran out before sending", stored=True),
    ProblemCode.OUTCOME_UNKNOWN: ProblemKind(502, "The provider's outcome is unknown", stored=True),
    ProblemCode.PROVIDER_UNAVAILABLE: ProblemKind(503, "The provider is unavailable", stored=False),
    ProblemCode.STORAGE_UNAVAILABLE: ProblemKind(503, "Storage is unavailable", stored=False),
    ProblemCode.NOT_FOUND: ProblemKind(404, "Not found", stored=False),
    ProblemCode.CHANNEL_NOT_CONFIGURED: ProblemKind(503, "The channel is not configured", stored=False),
    ProblemCode.RECIPIENT_RATE_LIMITED: ProblemKind(429, "The recipient's send limit is reached", stored=False),
    ProblemCode.CALLER_BUDGET_EXHAUSTED: ProblemKind(429, "The caller's daily SMS budget is spent", stored=False),
    ProblemCode.INTERNAL_ERROR: ProblemKind(500, "Internal error", stored=False),
}


class ProblemError(Exception):
    """An answer to the caller in the form of an RFC 9457 problem."""

    def __init__(
        self,
        code: ProblemCode,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        errors_omitted: int = 0,
        fields: list[str] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.errors = errors
        # Fields left out of ``errors`` (it names the first 20 only, so a refusal stays small).
        self.errors_omitted = errors_omitted
        self.fields = fields
        self.retry_after = retry_after

    @property
    def kind(self) -> ProblemKind:
        """The code's row of ``PROBLEMS``."""
        return PROBLEMS[self.code]


class ProviderError(Exception):
    """Base of what an SmsGateway or EmailGateway may raise."""


class ProviderRejected(ProviderError):
    """The provider refused this recipient or sender for good."""


class ProviderUnavailable(ProviderError):
    """A transient failure. ``retry_after`` is the provider's hint in seconds, if it gave one.

    ``may_have_reached`` is True when the request may have been received (a timeout after
    sending, a reset connection): a later retry must rely on the provider-side token.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, may_have_reached: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.may_have_reached = may_have_reached


class ProviderMisconfigured(ProviderError):
    """The provider refused our credentials or our sender (ACS answers 401 for a ``from`` the
    resource does not own). Nothing was sent; retrying will not help until an operator acts."""


class ProviderOutcomeUnknown(ProviderError):
    """The provider may or may not have taken the message and cannot be asked again safely."""


class StoreError(Exception):
    """Base of what an OrderStore may raise."""


class KeyAlreadyClaimed(StoreError):
    """The conditional insert lost: another request created the record first."""

    def __init__(self, existing: OrderRecord) -> None:
        super().__init__(f"order {existing.shipment_id} already exists")
        self.existing = existing


class RecordChanged(StoreError):
    """The record's ETag no longer matches: another worker changed it first."""


class StorageUnavailable(StoreError):
    """Table Storage failed or timed out."""


def storage_reason(error: StorageUnavailable) -> str:
    """What failed, for a log line: our own message and the types of its causes (never their
    text, which may quote a request)."""
    causes: list[str] = []
    cause = error.__cause__
    while cause is not None and len(causes) < 4:
        causes.append(type(cause).__name__)
        cause = cause.__cause__
    return f"{error} ({' <- '.join(causes)})" if causes else str(error)


def in_progress() -> ProblemError:
    """409: another request holds the key right now."""
    return ProblemError(
        ProblemCode.REQUEST_IN_PROGRESS,
        "A request with this idempotencyId is being processed; retry shortly.",
        retry_after=1,
    )


def storage_unavailable() -> ProblemError:
    """503: Table Storage failed before anything was sent."""
    return ProblemError(
        ProblemCode.STORAGE_UNAVAILABLE, "Storage is unavailable; nothing was sent. Retry later.", retry_after=1
    )


def not_found() -> ProblemError:
    """404: no shipment with this id for this caller."""
    return ProblemError(ProblemCode.NOT_FOUND, "No shipment with this id.")
