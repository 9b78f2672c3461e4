"""The outcomes a hand-off can end in, built in one place (the ladder and the hand-offs use them)."""

from __future__ import annotations

import math

from instant.domain.errors import ProblemCode, ProblemError, ProviderUnavailable
from instant.domain.outcome import Outcome, OutcomeKind
from instant.domain.records import RecipientStatus


def failed_status(sending: RecipientStatus) -> RecipientStatus:
    """The failed status of the channel whose sending status is ``sending``."""
    return RecipientStatus.SMS_FAILED if sending is RecipientStatus.SMS_SENDING else RecipientStatus.EMAIL_FAILED


def unavailable(status: RecipientStatus, error: ProviderUnavailable | None, may_have_reached: bool) -> Outcome:
    """Not stored: the deadline came. ``error`` is the provider's last transient failure, or None when the
    provider was never asked: storage used up the budget, and the caller must not be told that
    the provider is unavailable."""
    if error is None:
        problem = ProblemError(
            ProblemCode.STORAGE_UNAVAILABLE,
            "Storage answered too slowly to leave time for the provider; this request sent nothing. "
            "Retrying with the same idempotencyId is safe and never sends twice.",
            retry_after=1,
        )
        return Outcome(OutcomeKind.UNAVAILABLE, status, problem=problem, may_have_reached=may_have_reached)
    retry_after = max(1, math.ceil(error.retry_after)) if error.retry_after else 1
    return Outcome(
        OutcomeKind.UNAVAILABLE,
        status,
        problem=ProblemError(
            ProblemCode.PROVIDER_UNAVAILABLE,
            "The provider is unavailable. Retrying with the same idempotencyId is safe and never sends twice.",
            retry_after=retry_after,
        ),
        may_have_reached=may_have_reached,
    )


def not_configured(status: RecipientStatus, sender: str, may_have_reached: bool) -> Outcome:
    """ACS refused our sender or credentials: 503 channel_not_configured, not stored."""
    problem = ProblemError(
        ProblemCode.CHANNEL_NOT_CONFIGURED,
        f"The provider refused the sender {sender!r} or our credentials: a configuration error on our side "
        "that an operator has been alerted to. Nothing was sent; retrying with the same idempotencyId is safe.",
        retry_after=60,
    )
    return Outcome(OutcomeKind.UNAVAILABLE, status, problem=problem, may_have_reached=may_have_reached)


def outcome_unknown(status: RecipientStatus, detail: str) -> Outcome:
    """A stored 502: the provider may or may not have taken it."""
    return Outcome(OutcomeKind.FAILED, status, problem=ProblemError(ProblemCode.OUTCOME_UNKNOWN, detail))
