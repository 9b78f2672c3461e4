"""Helpers of the delivery-report unit tests: the orders they send."""

from __future__ import annotations

from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.ports import EmailContentType

TRACE = "f" * 32


def sms_order(key: str = "otp-1") -> SmsOrder:
    return SmsOrder(
        idempotency_id=key,
        senders_reference=None,
        phone_number="+4799999999",
        ttl_seconds=300,
        sender=None,
        body="1234",
    )


def email_order(key: str = "mail-1") -> EmailOrder:
    return EmailOrder(
        idempotency_id=key,
        senders_reference=None,
        email_address="user@example.no",
        subject="s",
        body="b",
        content_type=EmailContentType.PLAIN,
        sender=None,
    )
