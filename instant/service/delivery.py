"""Hand-off to the provider: one request's attempts on one channel, inside its deadline.

This ladder is the one owner of provider retries (the adapters make one attempt per call). It
retries a transient failure with the same provider token (so the provider never sends twice),
waits as the provider asks (Retry-After) or backs off, and never starts an attempt that could
not finish before the deadline. What differs between SMS and email (the time-to-live, how a
message is built, what a refusal means) is a ``Channel hand-off``; the ladder is shared.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Protocol

from instant.domain.clock import Clock
from instant.domain.deadline import Deadline
from instant.domain.errors import (
    ProblemCode,
    ProblemError,
    ProviderMisconfigured,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from instant.domain.orders import EmailOrder, Order, SmsOrder
from instant.domain.outcome import Outcome, OutcomeKind
from instant.domain.ports import (
    EmailGateway,
    EmailMessage,
    EmailOperationStatus,
    EmailReceipt,
    SmsGateway,
    SmsMessage,
)
from instant.domain.records import Channel, OrderRecord, RecipientStatus, email_operation_id_for, provider_token_for

log = logging.getLogger("instant.delivery")

# ACS smsSendOptions.validityPeriodSeconds range (REST 2024-02-05).
VALIDITY_MIN_SECONDS = 60
VALIDITY_MAX_SECONDS = 43_200
# Backoff between attempts when the provider gave no Retry-After.
_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)
# No SMS attempt starts this close to its deadline: the request would arrive after it.
HAND_OFF_MARGIN = timedelta(seconds=0.05)


class _HandOff(Protocol):
    """What the ladder needs to know about a channel."""

    sending: RecipientStatus

    def expired(self, record: OrderRecord, may_have_reached: bool) -> Outcome | None:
        """A final outcome if no attempt may start any more (the time-to-live ran out)."""
        ...

    def deadline(self, record: OrderRecord, budget: Deadline) -> Deadline:
        """When attempts must end: the budget, or earlier."""
        ...

    async def attempt(self, record: OrderRecord, deadline: Deadline, may_have_reached: bool) -> Outcome:
        """One attempt. Raises the gateway's errors."""
        ...

    def rejected(self, record: OrderRecord, error: ProviderRejected) -> Outcome:
        """The provider refused for good."""
        ...


class Delivery:
    """Runs one request's hand-off on its channel."""

    def __init__(self, *, sms: SmsGateway, email: EmailGateway, clock: Clock, email_wait_seconds: float) -> None:
        self._sms = sms
        self._email = email
        self._clock = clock
        self._email_wait_seconds = email_wait_seconds

    async def hand_off(self, record: OrderRecord, order: Order, budget: Deadline) -> Outcome:
        """Hand ``order`` (held as ``record``) to the provider, retrying transient failures."""
        channel: _HandOff = (
            _SmsHandOff(self._sms, self._clock, order)
            if isinstance(order, SmsOrder)
            else _EmailHandOff(self._email, order, self._email_wait_seconds)
        )
        deadline = channel.deadline(record, budget)
        may_have_reached = record.may_have_reached_provider
        last_error: ProviderUnavailable | None = None
        attempt = 0
        while True:
            expired = channel.expired(record, may_have_reached)
            if expired is not None:
                return expired
            if deadline.expired():
                return _unavailable(channel.sending, last_error, may_have_reached)
            try:
                return await channel.attempt(record, deadline, may_have_reached)
            except ProviderRejected as exc:
                return channel.rejected(record, exc)
            except ProviderOutcomeUnknown as exc:
                return _outcome_unknown(_failed(channel.sending), f"The provider's outcome is unknown: {exc}")
            except ProviderMisconfigured as exc:
                # Never retried: the same credentials or sender would be refused again. The log
                # line is what the operators' alert rule looks for.
                log.error(
                    "provider configuration error",
                    extra={"configuration_error": True, "channel": record.channel.value, "error": str(exc)},
                )
                return _not_configured(channel.sending, record.sender, may_have_reached)
            except ProviderUnavailable as exc:
                may_have_reached = may_have_reached or exc.may_have_reached
                last_error = exc
                if not await self._wait_before_retry(exc, attempt, deadline):
                    return _unavailable(channel.sending, exc, may_have_reached)
                attempt += 1

    async def _wait_before_retry(self, error: ProviderUnavailable, attempt: int, deadline: Deadline) -> bool:
        """Sleep before the next attempt if it can still start before ``deadline``."""
        delay = (
            error.retry_after
            if error.retry_after is not None
            else _BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)]
        )
        if delay >= deadline.remaining():
            return False
        await self._clock.sleep(delay)
        return True


class _SmsHandOff:
    sending = RecipientStatus.SMS_SENDING

    def __init__(self, gateway: SmsGateway, clock: Clock, order: SmsOrder) -> None:
        self._gateway = gateway
        self._clock = clock
        self._order = order

    def deadline(self, record: OrderRecord, budget: Deadline) -> Deadline:
        return budget.not_after(record.deadline)

    def expired(self, record: OrderRecord, may_have_reached: bool) -> Outcome | None:
        assert record.deadline is not None, "an SMS order has a time-to-live"
        # An attempt started in the last moments would reach the provider after the deadline.
        if self._clock.now() < record.deadline - HAND_OFF_MARGIN:
            return None
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

    async def attempt(self, record: OrderRecord, deadline: Deadline, may_have_reached: bool) -> Outcome:
        assert record.deadline is not None
        remaining_ttl = (record.deadline - self._clock.now()).total_seconds()
        message = SmsMessage(
            recipient=record.recipient,
            sender=record.sender,
            body=self._order.body,
            validity_seconds=min(VALIDITY_MAX_SECONDS, max(VALIDITY_MIN_SECONDS, math.ceil(remaining_ttl))),
            token=provider_token_for(record.caller, Channel.SMS, record.idempotency_id, record.received_at),
            first_sent_at=record.first_sent_at,
            tag=record.shipment_id,
        )
        receipt = await self._gateway.send(message, deadline=deadline)
        return Outcome(OutcomeKind.ACCEPTED, RecipientStatus.SMS_ACCEPTED, provider_id=receipt.message_id)

    def rejected(self, record: OrderRecord, error: ProviderRejected) -> Outcome:
        return Outcome(
            OutcomeKind.FAILED,
            RecipientStatus.SMS_FAILED_INVALID_RECIPIENT,
            problem=ProblemError(
                ProblemCode.RECIPIENT_REJECTED, f"The provider refused the recipient or sender: {error}"
            ),
        )


class _EmailHandOff:
    sending = RecipientStatus.EMAIL_SENDING

    def __init__(self, gateway: EmailGateway, order: EmailOrder, wait_seconds: float) -> None:
        self._gateway = gateway
        self._order = order
        self._wait_seconds = wait_seconds

    def deadline(self, record: OrderRecord, budget: Deadline) -> Deadline:
        return budget  # email has no time-to-live

    def expired(self, record: OrderRecord, may_have_reached: bool) -> Outcome | None:
        return None

    async def attempt(self, record: OrderRecord, deadline: Deadline, may_have_reached: bool) -> Outcome:
        operation_id = _operation_id(record)
        receipt = None
        if may_have_reached:
            # An earlier attempt may have reached ACS: ask before posting again.
            receipt = await self._gateway.status(operation_id, deadline=deadline)
        if receipt is None:
            message = EmailMessage(
                recipient=record.recipient,
                sender=record.sender,
                subject=self._order.subject,
                body=self._order.body,
                content_type=self._order.content_type,
                operation_id=operation_id,
            )
            wait = min(self._wait_seconds, deadline.remaining() / 2)
            receipt = await self._gateway.send(message, deadline=deadline, wait=wait)
        if receipt.status is EmailOperationStatus.FAILED:
            reason = f"the email operation ended Failed ({receipt.error_code or 'no code'})"
            return self.rejected(record, ProviderRejected(reason), email_status(receipt))
        status = (
            RecipientStatus.EMAIL_SUCCEEDED
            if receipt.status is EmailOperationStatus.SUCCEEDED
            else RecipientStatus.EMAIL_SENDING
        )
        return Outcome(OutcomeKind.ACCEPTED, status, provider_id=receipt.operation_id)

    def rejected(
        self, record: OrderRecord, error: ProviderRejected, status: RecipientStatus = RecipientStatus.EMAIL_FAILED
    ) -> Outcome:
        return Outcome(
            OutcomeKind.FAILED,
            status,
            provider_id=_operation_id(record),
            problem=ProblemError(ProblemCode.RECIPIENT_REJECTED, f"The provider refused the email: {error}"),
        )


# ACS email failure codes that name a finer Altinn status.
_EMAIL_FAILURES = {"emaildroppedallrecipientssuppressed": RecipientStatus.EMAIL_FAILED_SUPPRESSED_RECIPIENT}


def email_status(receipt: EmailReceipt) -> RecipientStatus:
    """The recipient status an email operation's state stands for (GET shipment uses it too)."""
    if receipt.status is EmailOperationStatus.SUCCEEDED:
        return RecipientStatus.EMAIL_SUCCEEDED
    if receipt.status is EmailOperationStatus.RUNNING:
        return RecipientStatus.EMAIL_SENDING
    return _EMAIL_FAILURES.get((receipt.error_code or "").lower(), RecipientStatus.EMAIL_FAILED)


def _operation_id(record: OrderRecord) -> str:
    return email_operation_id_for(record.caller, record.idempotency_id, record.received_at)


def _failed(sending: RecipientStatus) -> RecipientStatus:
    return RecipientStatus.SMS_FAILED if sending is RecipientStatus.SMS_SENDING else RecipientStatus.EMAIL_FAILED


def _unavailable(status: RecipientStatus, error: ProviderUnavailable | None, may_have_reached: bool) -> Outcome:
    """The deadline came. ``error`` is the provider's last transient failure, or None when the
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


def _not_configured(status: RecipientStatus, sender: str, may_have_reached: bool) -> Outcome:
    problem = ProblemError(
        ProblemCode.CHANNEL_NOT_CONFIGURED,
        f"The provider refused the sender {sender!r} or our credentials: a configuration error on our side "
        "that an operator has been alerted to. Nothing was sent; retrying with the same idempotencyId is safe.",
        retry_after=60,
    )
    return Outcome(OutcomeKind.UNAVAILABLE, status, problem=problem, may_have_reached=may_have_reached)


def _outcome_unknown(status: RecipientStatus, detail: str) -> Outcome:
    return Outcome(OutcomeKind.FAILED, status, problem=ProblemError(ProblemCode.OUTCOME_UNKNOWN, detail))
