"""Validated, normalised orders as the service sees them (no pydantic past the HTTP edge)."""

from __future__ import annotations

from dataclasses import dataclass

from instant.domain.digests import PLAIN, Digester
from instant.domain.fingerprint import Fingerprint
from instant.domain.ports import EmailContentType
from instant.domain.records import Channel


@dataclass(frozen=True)
class SmsOrder:
    """A validated SMS request."""

    idempotency_id: str
    senders_reference: str | None
    phone_number: str  # E.164
    ttl_seconds: int
    sender: str | None  # as given; None means the default sender
    body: str

    channel = Channel.SMS

    @property
    def recipient(self) -> str:
        """The phone number, E.164."""
        return self.phone_number

    def fingerprint(self, digester: Digester = PLAIN) -> Fingerprint:
        """The fingerprint of the normalised request."""
        # Paths are the request's JSON paths, so a mismatch can name the fields that differ.
        return Fingerprint.of(
            {
                "sendersReference": self.senders_reference,
                "recipientSms.phoneNumber": self.phone_number,
                "recipientSms.timeToLiveInSeconds": self.ttl_seconds,
                "recipientSms.smsSettings.sender": self.sender,
                "recipientSms.smsSettings.body": self.body,
            },
            digester,
        )


@dataclass(frozen=True)
class EmailOrder:
    """A validated email request."""

    idempotency_id: str
    senders_reference: str | None
    email_address: str  # normalised
    subject: str
    body: str
    content_type: EmailContentType
    sender: str | None  # as given; None means the default sender

    channel = Channel.EMAIL

    @property
    def recipient(self) -> str:
        """The normalised email address."""
        return self.email_address

    def fingerprint(self, digester: Digester = PLAIN) -> Fingerprint:
        """The fingerprint of the normalised request."""
        return Fingerprint.of(
            {
                "sendersReference": self.senders_reference,
                "recipientEmail.emailAddress": self.email_address,
                "recipientEmail.emailSettings.subject": self.subject,
                "recipientEmail.emailSettings.body": self.body,
                "recipientEmail.emailSettings.contentType": self.content_type.value,
                "recipientEmail.emailSettings.senderEmailAddress": self.sender,
            },
            digester,
        )


Order = SmsOrder | EmailOrder
