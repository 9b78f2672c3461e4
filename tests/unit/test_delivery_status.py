"""The pure rules of delivery reports (instant/domain/delivery_status.py): mapping, ordering, TTL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from instant.domain.delivery_status import (
    MAX_REPORT_KEYS,
    Report,
    Verdict,
    decide,
    effective_status,
    remember,
)
from instant.domain.records import (
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
    email_operation_id_for,
    operation_prefix,
    order_id_for,
    provider_token_for,
    shipment_id_for,
)
from tests.support.builders import T0, order_record

S = RecipientStatus
GRACE = timedelta(seconds=300)


def sms_record(**changes: object) -> OrderRecord:
    base = order_record(
        "k1", state=OrderState.COMPLETED, status=S.SMS_ACCEPTED, provider_id="Outgoing_1", lease_until=None
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def email_record(**changes: object) -> OrderRecord:
    base = replace(
        order_record("k2", lease_until=None),
        shipment_id=shipment_id_for("caller-a", Channel.EMAIL, "k2"),
        order_id=order_id_for("caller-a", Channel.EMAIL, "k2"),
        channel=Channel.EMAIL,
        state=OrderState.COMPLETED,
        status=S.EMAIL_SUCCEEDED,
        deadline=None,
        ttl_seconds=None,
        recipient="user@example.no",
        provider_id=email_operation_id_for("caller-a", "k2", T0),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sms_report(status: str = "Delivered", **changes: object) -> Report:
    base = Report(
        channel=Channel.SMS,
        event_id="Outgoing_1",
        event_time=T0 + timedelta(seconds=5),
        provider_status=status,
        details="No error.",
        message_id="Outgoing_1",
        recipient="+4799999999",
        tag=shipment_id_for("caller-a", Channel.SMS, "k1"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def email_report(status: str = "Delivered", **changes: object) -> Report:
    base = Report(
        channel=Channel.EMAIL,
        event_id="ev-1",
        event_time=T0 + timedelta(seconds=5),
        provider_status=status,
        details=None,
        message_id=email_operation_id_for("caller-a", "k2", T0),
        recipient="USER@example.no",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "details", "expected"),
    [
        ("Delivered", "No error.", S.SMS_DELIVERED),
        ("delivered", None, S.SMS_DELIVERED),
        ("DELIVERED", None, S.SMS_DELIVERED),
        ("Failed", "Message failed to deliver.", S.SMS_FAILED),
        ("Failed", "Message expired.", S.SMS_FAILED_EXPIRED),
        ("Expired", None, S.SMS_FAILED_EXPIRED),
        ("Something new", None, S.SMS_FAILED),
    ],
)
def test_sms_statuses_map_as_documented(status: str, details: str | None, expected: RecipientStatus) -> None:
    assert sms_report(status, details=details).status is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Delivered", S.EMAIL_DELIVERED),
        ("delivered", S.EMAIL_DELIVERED),
        ("Bounced", S.EMAIL_FAILED_BOUNCED),
        ("Suppressed", S.EMAIL_FAILED_SUPPRESSED_RECIPIENT),
        ("filteredspam", S.EMAIL_FAILED_FILTERED_SPAM),
        ("Quarantined", S.EMAIL_FAILED_QUARANTINED),
        ("Failed", S.EMAIL_FAILED),
        ("Expanded", S.EMAIL_FAILED),
        ("NeverHeardOf", S.EMAIL_FAILED),
    ],
)
def test_email_statuses_map_as_documented(status: str, expected: RecipientStatus) -> None:
    assert email_report(status).status is expected


def test_altinn_spellings() -> None:
    assert [s.value for s in (S.SMS_FAILED_EXPIRED, S.EMAIL_FAILED_BOUNCED, S.EMAIL_FAILED_FILTERED_SPAM)] == [
        "SMS_Failed_Expired",
        "Email_Failed_Bounced",
        "Email_Failed_FilteredSpam",
    ]
    assert S.EMAIL_FAILED_QUARANTINED.value == "Email_Failed_Quarantined"


def test_terminal_statuses() -> None:
    open_ = {S.SMS_SENDING, S.SMS_ACCEPTED, S.EMAIL_SENDING, S.EMAIL_SUCCEEDED}
    assert {s for s in RecipientStatus if not s.is_terminal} == open_


def test_a_report_on_an_accepted_message_applies() -> None:
    assert decide(sms_record(), sms_report()) is Verdict.APPLY
    assert decide(email_record(), email_report("Bounced")) is Verdict.APPLY
    assert decide(email_record(status=S.EMAIL_SENDING), email_report()) is Verdict.APPLY


def test_a_report_already_written_is_a_duplicate_even_if_it_contradicts() -> None:
    report = sms_report("Failed")
    written = sms_record(status=S.SMS_DELIVERED, report_keys=(report.key,))
    assert decide(written, report) is Verdict.DUPLICATE


def test_a_report_that_says_what_the_record_says_is_a_duplicate() -> None:
    assert decide(sms_record(status=S.SMS_DELIVERED), sms_report(event_id="other")) is Verdict.DUPLICATE


def test_the_first_terminal_status_wins_and_a_contradiction_is_audited_only() -> None:
    assert decide(sms_record(status=S.SMS_DELIVERED), sms_report("Failed")) is Verdict.AUDIT_ONLY
    assert decide(sms_record(status=S.SMS_FAILED), sms_report("Delivered")) is Verdict.AUDIT_ONLY
    # a terminal status from the request itself wins too
    assert decide(sms_record(status=S.SMS_FAILED_INVALID_RECIPIENT), sms_report()) is Verdict.AUDIT_ONLY


def test_a_report_waits_only_while_a_request_holds_the_order() -> None:
    held = sms_record(
        state=OrderState.IN_PROGRESS, status=S.SMS_SENDING, provider_id=None, lease_until=T0 + timedelta(seconds=13)
    )
    assert decide(held, sms_report(), T0) is Verdict.NOT_YET
    # nobody's: the holder's lease ran out (it crashed), or the order is parked for the next request
    assert decide(held, sms_report(), T0 + timedelta(seconds=14)) is Verdict.APPLY
    parked = sms_record(state=OrderState.RETRYABLE, status=S.SMS_SENDING, provider_id=None)
    assert decide(parked, sms_report(), T0) is Verdict.APPLY


def test_a_real_report_replaces_the_services_own_outcome_unknown() -> None:
    # a 502 outcome_unknown stored SMS_Failed as the service's guess; ACS's report is the truth
    guessed = sms_record(status=S.SMS_FAILED, answer=StoredAnswer(502, "{}", "outcome_unknown"))
    assert decide(guessed, sms_report(), T0) is Verdict.APPLY
    # a failure ACS reported stays: the first terminal report wins
    reported = sms_record(status=S.SMS_FAILED, answer=StoredAnswer(201, "{}", "created"))
    assert decide(reported, sms_report(), T0) is Verdict.AUDIT_ONLY


def test_another_recipient_channel_or_message_is_a_mismatch() -> None:
    assert decide(sms_record(), sms_report(recipient="+4711111111")) is Verdict.MISMATCH
    assert decide(sms_record(), sms_report(message_id="Outgoing_2")) is Verdict.MISMATCH
    assert decide(sms_record(), replace(email_report(), recipient="+4799999999")) is Verdict.MISMATCH
    later_generation = email_record(received_at=T0 + timedelta(days=9))
    assert decide(later_generation, email_report()) is Verdict.MISMATCH
    assert decide(email_record(), email_report(recipient="other@example.no")) is Verdict.MISMATCH


def test_recipients_compare_by_digits_and_case() -> None:
    assert decide(sms_record(), sms_report(recipient="4799999999")) is Verdict.APPLY
    assert decide(email_record(), email_report(recipient=" User@Example.NO ")) is Verdict.APPLY


def test_report_key_is_stable_and_tells_reports_on_one_message_apart() -> None:
    assert sms_report().key == sms_report().key
    assert sms_report("Delivered").key != sms_report("Failed").key
    assert sms_report().key != sms_report(event_time=T0 + timedelta(seconds=6)).key


def test_remember_keeps_the_newest_keys() -> None:
    keys: tuple[str, ...] = ()
    for n in range(MAX_REPORT_KEYS + 3):
        keys = remember(keys, str(n))
    assert keys == tuple(str(n) for n in range(3, MAX_REPORT_KEYS + 3))


def test_an_sms_without_a_report_fails_after_deadline_plus_grace() -> None:
    record = sms_record(updated_at=T0)
    assert record.deadline is not None
    expires = record.deadline + GRACE
    assert effective_status(record, expires - timedelta(microseconds=1), GRACE) == (S.SMS_ACCEPTED, T0)
    assert effective_status(record, expires, GRACE) == (S.SMS_FAILED_TTL, expires)
    delivered = sms_record(status=S.SMS_DELIVERED, updated_at=T0 + timedelta(seconds=9))
    assert effective_status(delivered, expires + timedelta(days=1), GRACE) == (S.SMS_DELIVERED, delivered.updated_at)


def test_an_email_without_a_report_fails_48_hours_after_first_receipt() -> None:
    record = email_record(updated_at=T0)
    expires = T0 + timedelta(hours=48)
    assert effective_status(record, expires - timedelta(seconds=1), GRACE) == (S.EMAIL_SUCCEEDED, T0)
    assert effective_status(record, expires, GRACE) == (S.EMAIL_FAILED_TTL, expires)
    # an operation ACS took but never finished, and no report: its time is up all the same
    sending = email_record(status=S.EMAIL_SENDING)
    assert effective_status(sending, expires - timedelta(seconds=1), GRACE)[0] is S.EMAIL_SENDING
    assert effective_status(sending, expires, GRACE)[0] is S.EMAIL_FAILED_TTL


def test_a_parked_sms_past_its_deadline_and_the_grace_reads_failed_ttl() -> None:
    parked = sms_record(state=OrderState.RETRYABLE, status=S.SMS_SENDING, provider_id=None)
    assert parked.deadline is not None
    expires = parked.deadline + GRACE
    assert effective_status(parked, expires - timedelta(seconds=1), GRACE)[0] is S.SMS_SENDING
    assert effective_status(parked, expires, GRACE) == (S.SMS_FAILED_TTL, expires)


def test_the_email_operation_id_leads_back_to_its_shipment_and_changes_per_generation() -> None:
    shipment_id = shipment_id_for("caller-a", Channel.EMAIL, "k2")
    first = email_operation_id_for("caller-a", "k2", T0)
    again = email_operation_id_for("caller-a", "k2", T0 + timedelta(days=8))
    assert operation_prefix(first) == operation_prefix(again) == shipment_id[:19]
    assert operation_prefix(first.upper()) == shipment_id[:19]
    assert first != again
    assert first[19:] == provider_token_for("caller-a", Channel.EMAIL, "k2", T0)[19:]
    assert first[14] == "5" and first[19] in "89ab"  # still a version-5, RFC 4122 UUID
    assert operation_prefix("not-a-uuid") is None
