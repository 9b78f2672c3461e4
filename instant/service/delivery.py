"""Hand-off to the provider: one request's attempts on one channel, inside its deadline.

This ladder is the one owner of provider retries (the adapters make one attempt per call). It
retries a transient failure with the same provider token (so the provider never sends twice),
waits as the provider asks (Retry-After) or backs off, and never starts an attempt that could
not finish before the deadline. What differs between SMS and email (the time-to-live, how a
message is built, what a refusal means) is a channel's hand-off (handoffs.py); the ladder is shared.
"""

from __future__ import annotations

import logging

from instant.domain.clock import Clock
from instant.domain.deadline import Deadline
from instant.domain.errors import ProviderMisconfigured, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from instant.domain.orders import Order, SmsOrder
from instant.domain.outcome import Outcome
from instant.domain.ports import EmailGateway, SmsGateway
from instant.domain.records import OrderRecord
from instant.service.handoffs import EmailHandOff, HandOff, SmsHandOff
from instant.service.outcomes import failed_status, not_configured, outcome_unknown, unavailable

log = logging.getLogger("instant.delivery")

# Backoff between attempts when the provider gave no Retry-After.
_BACKOFF_SECONDS = (0.2, 0.5, 1.0, 2.0)


class Delivery:
    """Runs one request's hand-off on its channel."""

    def __init__(self, *, sms: SmsGateway, email: EmailGateway, clock: Clock, email_wait_seconds: float) -> None:
        self._sms = sms
        self._email = email
        self._clock = clock
        self._email_wait_seconds = email_wait_seconds

    async def hand_off(self, record: OrderRecord, order: Order, budget: Deadline) -> Outcome:
        """Hand ``order`` (held as ``record``) to the provider, retrying transient failures."""
        channel: HandOff = (
            SmsHandOff(self._sms, self._clock, order)
            if isinstance(order, SmsOrder)
            else EmailHandOff(self._email, order, self._email_wait_seconds)
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
                return unavailable(channel.sending, last_error, may_have_reached)
            try:
                return await channel.attempt(record, deadline, may_have_reached)
            except ProviderRejected as exc:
                return channel.rejected(record, exc)
            except ProviderOutcomeUnknown as exc:
                return outcome_unknown(failed_status(channel.sending), f"The provider's outcome is unknown: {exc}")
            except ProviderMisconfigured as exc:
                # Never retried: the same credentials or sender would be refused again. The log
                # line is what the operators' alert rule looks for.
                log.error(
                    "provider configuration error",
                    extra={"configuration_error": True, "channel": record.channel.value, "error": str(exc)},
                )
                return not_configured(channel.sending, record.sender, may_have_reached)
            except ProviderUnavailable as exc:
                may_have_reached = may_have_reached or exc.may_have_reached
                last_error = exc
                if not await self._wait_before_retry(exc, attempt, deadline):
                    return unavailable(channel.sending, exc, may_have_reached)
                attempt += 1

    async def _wait_before_retry(self, error: ProviderUnavailable, attempt: int, deadline: Deadline) -> bool:
        """Sleep before the next attempt if it can still start before ``deadline``."""
        backoff = _BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS) - 1)]
        # The provider's Retry-After, but never shorter than our own backoff: a Retry-After of 0
        # must not become a tight loop on the provider.
        delay = max(error.retry_after, backoff) if error.retry_after is not None else backoff
        if delay >= deadline.remaining():
            return False
        await self._clock.sleep(delay)
        return True
