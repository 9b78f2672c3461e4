"""What differs between the channels in a hand-off: the SMS time-to-live and validity period,
how each message is built, what a refusal means, and the email status check before a re-post.
The ladder (delivery.py) is shared."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Protocol

from instant.domain.clock import Clock
from instant.domain.deadline import Deadline
from instant.domain.errors import ProblemCode, ProblemError, ProviderRejected
from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.outcome import Outcome, OutcomeKind
from instant.domain.ports import EmailGateway, EmailMessage, EmailOperationStatus, EmailReceipt, SmsGateway, SmsMessage
from instant.domain.records import Channel, OrderRecord, RecipientStatus, email_operation_id_for, provider_token_for
from instant.service.outcomes import outcome_unknown

# ACS smsSendOptions.validityPeriodSeconds range (REST 2024-02-05).
VALIDITY_MIN_SECONDS = 60
VALIDITY_MAX_SECONDS = 43_200
# No SMS attempt starts this close to its deadline: the request would arrive after it.
HAND_OFF_MARGIN = timedelta(seconds=0.05)


class HandOff(Protocol):
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


class SmsHandOff:
    """SMS: a time-to-live, a validity period, a repeatability token."""

    sending = RecipientStatus.SMS_SENDING

    def __init__(self, gateway: SmsGateway, clock: Clock, order: SmsOrder) -> None:
        self._gateway = gateway
        self._clock = clock
        self._order = order

    def deadline(self, record: OrderRecord, budget: Deadline) -> Deadline:
        """When attempts must end."""
        return budget.not_after(record.deadline)

    def expired(self, record: OrderRecord, may_have_reached: bool) -> Outcome | None:
        """A final outcome if no attempt may start any more."""
        assert record.deadline is not None, "an SMS order has a time-to-live"
        # An attempt started in the last moments would reach the provider after the deadline.
        if self._clock.now() < record.deadline - HAND_OFF_MARGIN:
            return None
        if may_have_reached:
            return outcome_unknown(
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
        """One attempt; raises the gateway's errors."""
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
        """The outcome of a refusal for good."""
        return Outcome(
            OutcomeKind.FAILED,
            RecipientStatus.SMS_FAILED_INVALID_RECIPIENT,
            problem=ProblemError(
                ProblemCode.RECIPIENT_REJECTED, f"The provider refused the recipient or sender: {error}"
            ),
        )


class EmailHandOff:
    """Email: no time-to-live; a status check before a re-post that may follow a delivery."""

    sending = RecipientStatus.EMAIL_SENDING

    def __init__(self, gateway: EmailGateway, order: EmailOrder, wait_seconds: float) -> None:
        self._gateway = gateway
        self._order = order
        self._wait_seconds = wait_seconds

    def deadline(self, record: OrderRecord, budget: Deadline) -> Deadline:
        """When attempts must end."""
        return budget  # email has no time-to-live

    def expired(self, record: OrderRecord, may_have_reached: bool) -> Outcome | None:
        """A final outcome if no attempt may start any more."""
        return None

    async def attempt(self, record: OrderRecord, deadline: Deadline, may_have_reached: bool) -> Outcome:
        """One attempt; raises the gateway's errors."""
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
        """The outcome of a refusal for good."""
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
