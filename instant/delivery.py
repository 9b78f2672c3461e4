"""Hand-off to the provider: one request's attempts on one channel, inside its budget.

Retries a transient failure with the same provider token (so the provider never sends twice),
waits as the provider asks (Retry-After) or backs off, and never starts an attempt that could
not finish before the request budget or, for SMS, reach ACS before the deadline. The result is
an Outcome; the service records it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from instant.errors import (
    ProblemCode,
    ProblemError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from instant.idempotency import Channel, OrderRecord, RecipientStatus, provider_token_for
from instant.orders import EmailOrder, SmsOrder
from instant.ports import (
    Clock,
    EmailGateway,
    EmailMessage,
    EmailOperationStatus,
    EmailReceipt,
    SmsGateway,
    SmsMessage,
)

# ACS smsSendOptions.validityPeriodSeconds range (REST 2024-02-05).
VALIDITY_MIN_SECONDS = 60
VALIDITY_MAX_SECONDS = 43_200
# Backoff between attempts when the provider gave no Retry-After.
_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
# No SMS attempt starts this close to its deadline: the request would arrive after it. The same
# minimum as a try of the SDK's retry policy (instant/adapters/retry.py).
_HAND_OFF_MARGIN = timedelta(seconds=0.05)


class OutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"  # a stored, replayed problem
    UNAVAILABLE = "unavailable"  # not stored; the next request takes over


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    status: RecipientStatus
    provider_id: str | None = None
    problem: ProblemError | None = None
    may_have_reached: bool = False


class Delivery:
    def __init__(self, *, sms: SmsGateway, email: EmailGateway, clock: Clock, email_wait_seconds: float) -> None:
        self._sms = sms
        self._email = email
        self._clock = clock
        self._email_wait_seconds = email_wait_seconds

    async def sms(self, record: OrderRecord, order: SmsOrder, budget_end: datetime) -> Outcome:
        assert record.deadline is not None
        deadline = record.deadline
        end = min(budget_end, deadline)
        may_have_reached = record.may_have_reached_provider
        last_error: ProviderUnavailable | None = None
        attempt = 0
        while True:
            now = self._clock.now()
            # An attempt started in the last moments would reach the provider after the deadline.
            if now >= deadline - _HAND_OFF_MARGIN:
                if may_have_reached:
                    return _outcome_unknown(
                        RecipientStatus.SMS_FAILED,
                        "The time-to-live ran out after an attempt that may have reached the provider; "
                        "it will not be sent again under this idempotencyId.",
                    )
                return Outcome(
                    OutcomeKind.FAILED,
                    RecipientStatus.SMS_FAILED_TTL,
                    problem=ProblemError(
                        ProblemCode.TTL_EXPIRED,
                        "The time-to-live ran out before the message could be handed to the provider; "
                        "nothing was sent and nothing will be sent under this idempotencyId.",
                    ),
                )
            if now >= end:
                return _unavailable(RecipientStatus.SMS_SENDING, last_error, may_have_reached)
            remaining_ttl = (deadline - now).total_seconds()
            message = SmsMessage(
                recipient=record.recipient,
                sender=record.sender,
                body=order.body,
                validity_seconds=min(VALIDITY_MAX_SECONDS, max(VALIDITY_MIN_SECONDS, math.ceil(remaining_ttl))),
                token=provider_token_for(record.caller, Channel.SMS, record.idempotency_id),
                first_sent_at=record.first_sent_at,
            )
            try:
                receipt = await self._sms.send(message, timeout=(end - now).total_seconds())
            except ProviderRejected as exc:
                return Outcome(
                    OutcomeKind.FAILED,
                    RecipientStatus.SMS_FAILED_INVALID_RECIPIENT,
                    problem=ProblemError(
                        ProblemCode.RECIPIENT_REJECTED, f"The provider refused the recipient or sender: {exc}"
                    ),
                )
            except ProviderOutcomeUnknown as exc:
                return _outcome_unknown(RecipientStatus.SMS_FAILED, f"The provider's outcome is unknown: {exc}")
            except ProviderUnavailable as exc:
                may_have_reached = may_have_reached or exc.may_have_reached
                last_error = exc
                if not await self._wait_before_retry(exc, attempt, end):
                    return _unavailable(RecipientStatus.SMS_SENDING, exc, may_have_reached)
                attempt += 1
                continue
            return Outcome(OutcomeKind.ACCEPTED, RecipientStatus.SMS_ACCEPTED, provider_id=receipt.message_id)

    async def email(self, record: OrderRecord, order: EmailOrder, budget_end: datetime) -> Outcome:
        operation_id = provider_token_for(record.caller, Channel.EMAIL, record.idempotency_id)
        may_have_reached = record.may_have_reached_provider
        last_error: ProviderUnavailable | None = None
        attempt = 0
        while True:
            now = self._clock.now()
            if now >= budget_end:
                return _unavailable(RecipientStatus.EMAIL_SENDING, last_error, may_have_reached)
            timeout = (budget_end - now).total_seconds()
            try:
                receipt: EmailReceipt | None = None
                if may_have_reached:
                    # An earlier attempt may have reached ACS: ask before posting again.
                    receipt = await self._email.status(operation_id, timeout=timeout)
                if receipt is None:
                    message = EmailMessage(
                        recipient=record.recipient,
                        sender=record.sender,
                        subject=order.subject,
                        body=order.body,
                        content_type=order.content_type,
                        operation_id=operation_id,
                    )
                    wait = min(self._email_wait_seconds, timeout / 2)
                    receipt = await self._email.send(message, timeout=timeout, wait=wait)
            except ProviderRejected as exc:
                return _email_failed(operation_id, str(exc))
            except ProviderOutcomeUnknown as exc:
                return _outcome_unknown(RecipientStatus.EMAIL_FAILED, f"The provider's outcome is unknown: {exc}")
            except ProviderUnavailable as exc:
                may_have_reached = may_have_reached or exc.may_have_reached
                last_error = exc
                if not await self._wait_before_retry(exc, attempt, budget_end):
                    return _unavailable(RecipientStatus.EMAIL_SENDING, exc, may_have_reached)
                attempt += 1
                continue
            if receipt.status is EmailOperationStatus.FAILED:
                return _email_failed(operation_id, "the email operation ended Failed")
            status = (
                RecipientStatus.EMAIL_SUCCEEDED
                if receipt.status is EmailOperationStatus.SUCCEEDED
                else RecipientStatus.EMAIL_SENDING
            )
            return Outcome(OutcomeKind.ACCEPTED, status, provider_id=receipt.operation_id)

    async def _wait_before_retry(self, error: ProviderUnavailable, attempt: int, end: datetime) -> bool:
        """Sleep before the next attempt if it can still start before ``end``."""
        delay = (
            error.retry_after
            if error.retry_after is not None
            else _BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)]
        )
        if self._clock.now() + timedelta(seconds=delay) >= end:
            return False
        await self._clock.sleep(delay)
        return True


def _unavailable(status: RecipientStatus, error: ProviderUnavailable | None, may_have_reached: bool) -> Outcome:
    """The request budget ran out. ``error`` is the provider's last transient failure, or None when
    the provider was never asked: storage used up the budget, and the caller must not be told that
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


def _outcome_unknown(status: RecipientStatus, detail: str) -> Outcome:
    return Outcome(OutcomeKind.FAILED, status, problem=ProblemError(ProblemCode.OUTCOME_UNKNOWN, detail))


def _email_failed(operation_id: str, reason: str) -> Outcome:
    return Outcome(
        OutcomeKind.FAILED,
        RecipientStatus.EMAIL_FAILED,
        provider_id=operation_id,
        problem=ProblemError(ProblemCode.RECIPIENT_REJECTED, f"The provider refused the email: {reason}"),
    )
