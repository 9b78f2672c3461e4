"""The request-level rules of the controls: the country allow-list, who may send as whom, and
the segment cap. Pure: they read the order and the settings, and raise a 400 naming the field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from instant.domain.errors import ProblemCode, ProblemError
from instant.domain.orders import EmailOrder, Order, SmsOrder
from instant.domain.records import Channel
from instant.limits.rates import RateLimit
from instant.limits.segments import Segments, count_segments

EVERYONE = "*"
SMS_PHONE_FIELD = "recipientSms.phoneNumber"
SMS_BODY_FIELD = "recipientSms.smsSettings.body"
SMS_SENDER_FIELD = "recipientSms.smsSettings.sender"
EMAIL_SENDER_FIELD = "recipientEmail.emailSettings.senderEmailAddress"


@dataclass(frozen=True)
class CallerSenders:
    """The senders one caller may use besides the defaults."""

    sms: frozenset[str] = frozenset()
    email: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LimitSettings:
    """The controls' settings. The defaults here are all off (unit tests switch each on);
    instant/config.py holds the production defaults, which are on."""

    sms_recipient_limits: tuple[RateLimit, ...] = ()
    email_recipient_limits: tuple[RateLimit, ...] = ()
    sms_allowed_countries: frozenset[str] | None = None  # None: every country
    # None: no sender rule (CALLER_SENDERS unset); else caller (or "*") -> its senders.
    caller_senders: Mapping[str, CallerSenders] | None = None
    # The channels the sender rule covers: both with CALLER_SENDERS, email only when just its
    # deprecated alias EMAIL_ALLOWED_SENDERS is set (which never restricted SMS).
    sender_rule_channels: frozenset[Channel] = frozenset(Channel)
    sms_max_segments: int | None = None
    sms_daily_segment_budget: int | None = None

    @property
    def longest_window_seconds(self) -> int:
        """The longest per-recipient window (0 when both are off): how long a tally matters."""
        return max((limit.seconds for limit in self.sms_recipient_limits + self.email_recipient_limits), default=0)


def _invalid(path: str, message: str) -> ProblemError:
    return ProblemError(
        ProblemCode.VALIDATION_FAILED, "The request breaks the rules of one or more fields.", errors={path: [message]}
    )


def check_sms(order: SmsOrder, settings: LimitSettings) -> Segments:
    """The SMS's segments, after the country and segment rules. Raises ProblemError 400."""
    countries = settings.sms_allowed_countries
    if countries is not None:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(order.phone_number, None)) or "unknown"
        if region not in countries:
            raise _invalid(SMS_PHONE_FIELD, f"is in a country this service does not send SMS to ({region})")
    segments = count_segments(order.body)
    if settings.sms_max_segments is not None and segments.count > settings.sms_max_segments:
        raise _invalid(
            SMS_BODY_FIELD,
            f"needs {segments.count} SMS segments ({segments.encoding.value}); at most {settings.sms_max_segments}",
        )
    return segments


def may_use_sender(order: Order, caller: str, default: str | None, settings: LimitSettings) -> None:
    """Refuse a sender the caller may not use; the channel's default sender always may."""
    table = settings.caller_senders
    if table is None or order.sender is None or order.sender == default:
        return
    if order.channel not in settings.sender_rule_channels:
        return
    own, shared = table.get(caller, CallerSenders()), table.get(EVERYONE, CallerSenders())
    if isinstance(order, EmailOrder):
        if order.sender not in own.email | shared.email:
            raise _invalid(EMAIL_SENDER_FIELD, "is not a sender this caller may use")
    elif order.sender not in own.sms | shared.sms:
        raise _invalid(SMS_SENDER_FIELD, "is not a sender this caller may use")
