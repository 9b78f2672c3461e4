"""The abuse and cost controls' settings parsed (docs/api.md, "Abuse and cost controls").

CALLER_SENDERS, SMS_ALLOWED_COUNTRIES, SMS_DAILY_SEGMENT_BUDGET and the deprecated
EMAIL_ALLOWED_SENDERS alias have their own small grammars, and together they become one
LimitSettings. Kept apart from config.py, which reads and validates every setting: this is the
one family of settings whose text needs parsing beyond a single field's rule.
"""

from __future__ import annotations

import json
import re

from instant.domain.addresses import normalise_email_address, validate_sms_sender
from instant.domain.records import Channel
from instant.limits.policy import EVERYONE, CallerSenders, LimitSettings
from instant.limits.rates import parse_rate_limits

CALLER_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def normalise_countries(value: str) -> str:
    """SMS_ALLOWED_COUNTRIES checked and upper-cased: ISO 3166 alpha-2 codes, or *."""
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    if not codes:
        raise ValueError("must list ISO 3166 alpha-2 codes (e.g. NO,SE) or be *")
    if codes != ["*"] and not all(re.fullmatch(r"[A-Z]{2}", c) for c in codes):
        raise ValueError("must be ISO 3166 alpha-2 codes separated by commas (e.g. NO,SE), or *")
    return ",".join(codes)


def normalise_segment_budget(value: str) -> str:
    """SMS_DAILY_SEGMENT_BUDGET checked: a positive number of segments, or off."""
    if value.strip().lower() in ("", "off"):
        return "off"
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError("must be a positive number of segments, or off")
    return value.strip()


def senders_table(text: str) -> dict[str, CallerSenders]:
    """CALLER_SENDERS parsed: caller (or "*") -> its SMS senders and email sender addresses."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise ValueError('must be JSON: {"caller": {"sms": [...], "email": [...]}}') from exc
    if not isinstance(raw, dict):
        raise ValueError("must be a JSON object of callers")
    table: dict[str, CallerSenders] = {}
    for caller, senders in raw.items():
        if caller != EVERYONE and not CALLER_ID_PATTERN.fullmatch(caller):
            raise ValueError(f"{caller[:64]!r} is not a caller id or *")
        if not isinstance(senders, dict) or set(senders) - {"sms", "email"}:
            raise ValueError(f"{caller}: must be an object with sms and/or email lists")
        sms, email = senders.get("sms", []), senders.get("email", [])
        if not isinstance(sms, list) or not isinstance(email, list):
            raise ValueError(f"{caller}: sms and email must be lists")
        table[caller] = CallerSenders(
            frozenset(validate_sms_sender(str(s)) for s in sms),
            frozenset(normalise_email_address(str(e)) for e in email),
        )
    return table


def limit_settings(
    *,
    sms_recipient_limits: str,
    email_recipient_limits: str,
    sms_allowed_countries: str,
    caller_senders: str,
    email_allowed_senders: str,
    sms_max_segments: int,
    sms_daily_segment_budget: str,
) -> LimitSettings:
    """The controls' settings, from their already validated text."""
    table = senders_table(caller_senders) if caller_senders.strip() else None
    channels = frozenset(Channel)
    legacy = frozenset(a for a in email_allowed_senders.split(",") if a)
    if legacy:  # the deprecated alias: these email senders for every caller
        if table is None:
            channels = frozenset({Channel.EMAIL})  # the alias alone never restricted SMS
        table = dict(table or {})
        shared = table.get(EVERYONE, CallerSenders())
        table[EVERYONE] = CallerSenders(shared.sms, shared.email | legacy)
    countries = frozenset(sms_allowed_countries.split(","))
    return LimitSettings(
        sms_recipient_limits=parse_rate_limits(sms_recipient_limits),
        email_recipient_limits=parse_rate_limits(email_recipient_limits),
        sms_allowed_countries=None if countries == {"*"} else countries,
        caller_senders=table,
        sender_rule_channels=channels,
        sms_max_segments=sms_max_segments,
        sms_daily_segment_budget=None if sms_daily_segment_budget == "off" else int(sms_daily_segment_budget),
    )
