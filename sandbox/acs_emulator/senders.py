"""The senders the emulated ACS resource owns, and how ACS refuses the others.

SMS (azure-sdk-for-python, sdk/communication/azure-communication-sms/tests/recordings,
test_send_sms_unauthorized_from_phone_number / test_send_sms_fake_from_phone_number): a ``from`` the
resource does not own answers 401 ``{"error": {"code": "Unauthorized", "message": ""}}``; the
fictional ``+15550000000`` answered 401 ``InternalError`` instead. Email: a sender whose domain is
not linked to the resource fails with ``DomainNotLinked`` "The specified sender domain has not been
linked." (the code and text as public ACS clients report them; no recorded status, see README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from .errors import error_response

# The project's local senders (sandbox/stack.py and the test settings use these).
DEFAULT_SMS_SENDERS: tuple[str, ...] = ("Instant",)
DEFAULT_EMAIL_SENDERS: tuple[str, ...] = ("instant.example.com",)
# The number the SMS recording sent from and got InternalError for (an unknown, not a foreign, number).
SMS_UNKNOWN_SENDER = "+15550000000"


@dataclass(frozen=True)
class Senders:
    """SMS numbers / alphanumeric ids, and email addresses or whole domains, owned by the resource."""

    sms: frozenset[str]
    email: frozenset[str]  # "user@domain" (that address) or "domain" (any user on it); lower-case

    @classmethod
    def of(cls, sms: Iterable[str] | None = None, email: Iterable[str] | None = None) -> Senders:
        """None means the defaults above."""
        sms_values = DEFAULT_SMS_SENDERS if sms is None else tuple(sms)
        email_values = DEFAULT_EMAIL_SENDERS if email is None else tuple(email)
        return cls(frozenset(sms_values), frozenset(e.strip().lower() for e in email_values))

    def owns_email(self, address: str) -> bool:
        """An exact owned address, or any address on an owned domain (case-insensitive)."""
        lowered = address.strip().lower()
        return lowered in self.email or lowered.rpartition("@")[2] in self.email


def sms_sender_refusal(senders: Senders, sender: str) -> web.Response | None:
    """The recorded 401 for a ``from`` the resource does not own, or None if it is owned."""
    if sender in senders.sms:
        return None
    if sender == SMS_UNKNOWN_SENDER:
        return error_response(401, "InternalError", "The server encountered an internal error.", error_header=False)
    return error_response(401, "Unauthorized", "", error_header=False)


def email_sender_refusal(senders: Senders, sender: str) -> web.Response | None:
    """DomainNotLinked for a sender the resource does not own, or None if it is owned."""
    if senders.owns_email(sender):
        return None
    return error_response(404, "DomainNotLinked", "The specified sender domain has not been linked.")
