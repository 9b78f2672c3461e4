"""Rules for phone numbers, SMS sender ids and email addresses (docs/api.md, the POST field tables).

Pure functions that return the normalised form or raise ValueError with a message meant for
the caller; used by the wire schemas and by the settings.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

# International form only: "+" or "00", then digits; spaces, dashes and parentheses are
# ignored. Anything else (a letter, a second "+", an extension) makes it invalid.
_PHONE_SHAPE = re.compile(r"^(?:\+|00)[0-9 \-()]+$")
_PHONE_IGNORED = re.compile(r"[ \-()]")
_SMS_CAPABLE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

_ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
_SHORT_CODE = re.compile(r"^[0-9]{3,8}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def normalise_phone_number(raw: str) -> str:
    """The E.164 form of a number that can receive SMS, or ValueError."""
    if not _PHONE_SHAPE.fullmatch(raw):
        raise ValueError(
            "must be in international form: '+' or '00' then digits (spaces, dashes and parentheses allowed)"
        )
    digits = _PHONE_IGNORED.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    try:
        number = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise ValueError("is not a number that can receive SMS (mobile)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_sms_sender(raw: str) -> str:
    """An alphanumeric sender id, an E.164 number or a 3-8 digit short code."""
    if _ALPHANUMERIC_SENDER.fullmatch(raw) or _SHORT_CODE.fullmatch(raw) or _E164.fullmatch(raw):
        return raw
    raise ValueError(
        "must be an alphanumeric sender id (1-11 letters, digits or spaces, at least one letter), "
        "an E.164 number or a 3-8 digit short code"
    )


def normalise_email_address(raw: str) -> str:
    """Syntax check without DNS; domain lower-cased and IDNA-encoded (as ACS expects ASCII)."""
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return f"{result.local_part}@{result.ascii_domain.lower()}"
