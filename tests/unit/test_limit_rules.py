"""The controls' pure rules: limit parsing, sliding windows, the daily budget, countries,
senders and segments, and how the settings turn into them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from instant.config import Settings
from instant.domain.errors import ProblemError
from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.ports import EmailContentType
from instant.domain.records import Channel
from instant.domain.tallies import Tally, TallyEntry
from instant.limits.budget import KEPT_ENTRIES, decide_budget, seconds_to_midnight
from instant.limits.policy import CallerSenders, LimitSettings, check_sms, may_use_sender
from instant.limits.rates import RateLimit, decide, parse_rate_limits

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
DEFAULT_SMS = (RateLimit(5, 600), RateLimit(20, 86400))


def tally(*ages: float) -> Tally:
    """A tally with one entry per age (seconds before NOW)."""
    return Tally(
        "k", tuple(TallyEntry(f"s{i}", NOW - timedelta(seconds=a)) for i, a in enumerate(ages)), len(ages), "e1"
    )


def sms(phone: str = "+4799999999", body: str = "Your code is 123456.", sender: str | None = None) -> SmsOrder:
    return SmsOrder("k", None, phone, 300, sender, body)


def test_limits_parse_and_off() -> None:
    assert parse_rate_limits("20/86400, 5/600") == DEFAULT_SMS
    assert parse_rate_limits("off") == parse_rate_limits("") == ()
    for bad in ("5", "5/0", "0/600", "five/600", "5/600,"):
        with pytest.raises(ValueError, match="is not <count>/<seconds>"):
            parse_rate_limits(bad)


def test_a_send_with_room_is_counted_with_its_shipment_id() -> None:
    verdict = decide(tally(10, 20, 30, 40), DEFAULT_SMS, "new", NOW)
    assert verdict.allowed and verdict.to_write is not None
    assert [e.shipment_id for e in verdict.to_write.entries][-1] == "new"
    assert verdict.to_write.etag == "e1"  # written only if nobody counted meanwhile


def test_the_sixth_in_ten_minutes_waits_for_the_oldest_to_leave() -> None:
    verdict = decide(tally(10, 20, 30, 40, 100), DEFAULT_SMS, "new", NOW)
    assert not verdict.allowed
    assert verdict.retry_after == 500  # the send 100 s ago leaves the 600 s window in 500 s


def test_the_daily_limit_counts_sends_outside_the_short_window() -> None:
    ages = [700 + 3600 * i for i in range(20)]  # 20 sends in 24 h, none in the last 10 min
    verdict = decide(tally(*ages), DEFAULT_SMS, "new", NOW)
    assert not verdict.allowed
    assert verdict.retry_after == 86400 - max(ages)


def test_sends_older_than_the_longest_window_are_dropped() -> None:
    verdict = decide(tally(86401, 90000, 10), DEFAULT_SMS, "new", NOW)
    assert verdict.to_write is not None
    assert [e.shipment_id for e in verdict.to_write.entries] == ["s2", "new"]


def test_an_order_already_counted_passes_without_a_write_even_when_full() -> None:
    verdict = decide(tally(10, 20, 30, 40, 50), DEFAULT_SMS, "s3", NOW)
    assert verdict.allowed and verdict.to_write is None


def test_budget_counts_segments_and_refuses_until_utc_midnight() -> None:
    day = Tally("b", (TallyEntry("a", NOW, 8),), 8, "e")
    assert decide_budget(day, 10, "b", 2, NOW).allowed
    refused = decide_budget(day, 10, "c", 3, NOW)
    assert (refused.allowed, refused.retry_after) == (False, 14 * 3600)
    assert decide_budget(day, 1, "a", 8, NOW).allowed  # counted before: a takeover passes
    assert seconds_to_midnight(datetime(2026, 11, 26, 23, 59, 59, 500000, tzinfo=UTC)) == 1


def test_countries_outside_the_list_are_refused_naming_the_country() -> None:
    norway = LimitSettings(sms_allowed_countries=frozenset({"NO"}))
    check_sms(sms(), norway)
    with pytest.raises(ProblemError) as raised:
        check_sms(sms("+46701234567"), norway)
    assert raised.value.errors == {
        "recipientSms.phoneNumber": ["is in a country this service does not send SMS to (SE)"]
    }
    check_sms(sms("+46701234567"), LimitSettings())  # None: every country


def test_too_many_segments_name_the_body_with_the_count() -> None:
    capped = LimitSettings(sms_max_segments=2)
    assert check_sms(sms(body="a" * 306), capped).count == 2
    with pytest.raises(ProblemError) as raised:
        check_sms(sms(body="😀" * 36 * 2), capped)
    assert raised.value.errors == {"recipientSms.smsSettings.body": ["needs 3 SMS segments (UCS-2); at most 2"]}


def test_callers_may_use_their_own_and_shared_senders_and_always_the_default() -> None:
    table = {"*": CallerSenders(sms=frozenset({"Shared"})), "a": CallerSenders(sms=frozenset({"Mine"}))}
    rules = LimitSettings(caller_senders=table)
    for sender in (None, "Instant", "Shared", "Mine"):
        may_use_sender(sms(sender=sender), "a", "Instant", rules)
    with pytest.raises(ProblemError) as raised:
        may_use_sender(sms(sender="Mine"), "b", "Instant", rules)
    assert raised.value.errors == {"recipientSms.smsSettings.sender": ["is not a sender this caller may use"]}
    mail = EmailOrder("k", None, "u@example.no", "s", "b", EmailContentType.PLAIN, "ceo@example.no")
    with pytest.raises(ProblemError):
        may_use_sender(mail, "a", "noreply@instant.example.com", rules)
    may_use_sender(mail, "a", "noreply@instant.example.com", LimitSettings())  # unset: no rule


def settings(**env: str) -> Settings:
    base = {"acs_endpoint": "http://127.0.0.1:9", "email_default_sender": "noreply@instant.example.com"}
    return Settings(**base, tables_connection_string="UseDevelopmentStorage=true", **env)  # type: ignore[arg-type]


def test_settings_defaults_are_on() -> None:
    limits = settings().limits
    assert limits.sms_recipient_limits == DEFAULT_SMS
    assert limits.email_recipient_limits == (RateLimit(10, 600), RateLimit(50, 86400))
    assert limits.sms_allowed_countries == frozenset({"NO"})
    assert (limits.sms_max_segments, limits.sms_daily_segment_budget, limits.caller_senders) == (10, None, None)


def test_settings_parse_caller_senders_and_fold_in_the_deprecated_alias() -> None:
    limits = settings(
        caller_senders='{"*": {"sms": ["Shared"]}, "a": {"email": ["Me@Example.NO"]}}',
        email_allowed_senders="old@example.no",
        sms_allowed_countries="no, se",
        sms_daily_segment_budget="500",
        sms_recipient_limits="off",
    ).limits
    assert limits.caller_senders == {
        "*": CallerSenders(sms=frozenset({"Shared"}), email=frozenset({"old@example.no"})),
        "a": CallerSenders(email=frozenset({"Me@example.no"})),
    }
    assert limits.sms_allowed_countries == frozenset({"NO", "SE"})
    assert limits.sender_rule_channels == frozenset({Channel.SMS, Channel.EMAIL})
    assert (limits.sms_daily_segment_budget, limits.sms_recipient_limits) == (500, ())
    assert settings(sms_allowed_countries="*").limits.sms_allowed_countries is None


@pytest.mark.parametrize(
    "env",
    [
        {"caller_senders": "not json"},
        {"caller_senders": '{"a": {"fax": []}}'},
        {"caller_senders": '{"bad caller!": {}}'},
        {"sms_allowed_countries": "NOR"},
        {"sms_recipient_limits": "5 per 600"},
        {"sms_daily_segment_budget": "-1"},
        {"sms_max_segments": "0"},
    ],
)
def test_malformed_control_settings_stop_start_up(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        settings(**env)


def test_the_budget_tally_keeps_only_the_most_recent_orders_but_the_whole_total() -> None:
    entries = tuple(TallyEntry(f"s{i}", NOW, 1) for i in range(KEPT_ENTRIES))
    verdict = decide_budget(Tally("b", entries, 5000, "e"), 10_000, "new", 1, NOW)
    assert verdict.to_write is not None
    assert len(verdict.to_write.entries) == KEPT_ENTRIES
    assert (verdict.to_write.entries[0].shipment_id, verdict.to_write.entries[-1].shipment_id) == ("s1", "new")
    assert verdict.to_write.total == 5001


def test_the_deprecated_alias_alone_restricts_email_senders_only() -> None:
    limits = settings(email_allowed_senders="old@example.no").limits
    assert limits.sender_rule_channels == frozenset({Channel.EMAIL})
    may_use_sender(sms(sender="AnySender"), "a", "Instant", limits)
    mail = EmailOrder("k", None, "u@example.no", "s", "b", EmailContentType.PLAIN, "ceo@example.no")
    with pytest.raises(ProblemError):
        may_use_sender(mail, "a", "noreply@instant.example.com", limits)
    may_use_sender(replace(mail, sender="old@example.no"), "a", "noreply@instant.example.com", limits)
