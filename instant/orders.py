"""Validated, normalised orders as the service sees them (no pydantic past the HTTP edge)."""

from __future__ import annotations

from dataclasses import dataclass

from instant.digests import PLAIN, Digester
from instant.idempotency import Channel, Fingerprint
from instant.ports import EmailContentType


@dataclass(frozen=True)
class SmsOrder:
    idempotency_id: str
    senders_reference: str | None
    phone_number: str  # E.164
    ttl_seconds: int
    sender: str | None  # as given; None means the default sender
    body: str

    channel = Channel.SMS

    @property
    def recipient(self) -> str:
        return self.phone_number

    def fingerprint(self, digester: Digester = PLAIN) -> Fingerprint:
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
        return self.email_address

    def fingerprint(self, digester: Digester = PLAIN) -> Fingerprint:
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


def body_digest(body: str, digester: Digester = PLAIN) -> tuple[str, int]:
    """Digest and length (characters) of a message body: what the audit keeps instead of it."""
    return digester.text(body), len(body)
