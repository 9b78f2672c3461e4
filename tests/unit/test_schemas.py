"""The wire models' normalisations (what an Altinn client's serializer sends) and the bounded
refusals of request_parsing: the same order, hence the same fingerprint, for equivalent payloads."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from instant.entrypoints.http import _email_order, _sms_order
from instant.entrypoints.request_parsing import MAX_ERROR_FIELDS, RequestInvalid, parse_request
from instant.entrypoints.schemas import InstantEmailRequest, InstantSmsRequest


def sms(**settings: Any) -> dict[str, Any]:
    return {
        "idempotencyId": "k-1",
        "recipientSms": {
            "phoneNumber": "+4799999999",
            "timeToLiveInSeconds": 300,
            "smsSettings": {"body": "Your code is 123456.", **settings},
        },
    }


def email(address: str = "user@example.no", **settings: Any) -> dict[str, Any]:
    return {
        "idempotencyId": "k-1",
        "recipientEmail": {
            "emailAddress": address,
            "emailSettings": {"subject": "Your code", "body": "Code 123456", **settings},
        },
    }


def sms_fingerprint(payload: dict[str, Any]) -> str:
    return _sms_order(parse_request(InstantSmsRequest, payload)).fingerprint().value


def email_fingerprint(payload: dict[str, Any]) -> str:
    return _email_order(parse_request(InstantEmailRequest, payload)).fingerprint().value


def field_errors(model: type[InstantSmsRequest] | type[InstantEmailRequest], payload: Any) -> RequestInvalid:
    with pytest.raises(RequestInvalid) as caught:
        parse_request(model, payload)
    return caught.value


# -- issue 15: contentType as the enum's number ---------------------------------------------------


@pytest.mark.parametrize(("number", "name"), [(0, "Plain"), (1, "Html"), (1, "html"), (0, "PLAIN")])
def test_content_type_number_and_name_are_one_payload(number: int, name: str) -> None:
    assert email_fingerprint(email(contentType=number)) == email_fingerprint(email(contentType=name))


def test_content_type_numbers_are_normalised_to_names() -> None:
    wire = parse_request(InstantEmailRequest, email(contentType=1))
    assert wire.recipient_email.email_settings.content_type == "Html"
    assert email_fingerprint(email(contentType=0)) == email_fingerprint(email())  # Plain is the default


@pytest.mark.parametrize("value", [True, False, 2, -1, 1.0, "1", "0", "Markdown", "Html ", None, [1], {"x": 1}])
def test_other_content_types_are_refused(value: Any) -> None:
    invalid = field_errors(InstantEmailRequest, email(contentType=value))
    assert list(invalid.errors) == ["recipientEmail.emailSettings.contentType"]


# -- issue 15: a blank SMS sender is the default sender --------------------------------------------


@pytest.mark.parametrize("blank", [None, "", " ", "   ", "\t", " \t "])
def test_blank_sms_sender_is_absent(blank: str | None) -> None:
    wire = parse_request(InstantSmsRequest, sms(sender=blank))
    assert wire.recipient_sms.sms_settings.sender is None
    assert sms_fingerprint(sms(sender=blank)) == sms_fingerprint(sms())


def test_a_given_sms_sender_is_part_of_the_fingerprint() -> None:
    assert sms_fingerprint(sms(sender="Altinn")) != sms_fingerprint(sms())


# -- issue 15: email addresses with surrounding whitespace ----------------------------------------


@pytest.mark.parametrize("padded", ["   user@example.no   ", "\tuser@example.no\t", "\nuser@Example.NO "])
def test_recipient_address_is_trimmed_before_it_is_checked_and_used(padded: str) -> None:
    wire = parse_request(InstantEmailRequest, email(padded))
    assert wire.recipient_email.email_address == "user@example.no"
    assert email_fingerprint(email(padded)) == email_fingerprint(email("user@example.no"))


@pytest.mark.parametrize("padded", ["   sender@altinn.no   ", "\tsender@altinn.no\t"])
def test_sender_address_is_trimmed_before_it_is_checked_and_used(padded: str) -> None:
    wire = parse_request(InstantEmailRequest, email(senderEmailAddress=padded))
    assert wire.recipient_email.email_settings.sender_email_address == "sender@altinn.no"
    assert email_fingerprint(email(senderEmailAddress=padded)) == email_fingerprint(
        email(senderEmailAddress="sender@altinn.no")
    )


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_sender_address_is_absent(blank: str | None) -> None:
    assert email_fingerprint(email(senderEmailAddress=blank)) == email_fingerprint(email())


@pytest.mark.parametrize("address", ["   ", "user @example.no", " user@ example.no"])
def test_whitespace_inside_an_address_is_still_refused(address: str) -> None:
    invalid = field_errors(InstantEmailRequest, email(address))
    assert "recipientEmail.emailAddress" in invalid.errors


# -- issue 10 point 8: control characters --------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f", "\x80", "\x9b"])
def test_control_characters_are_refused_in_the_subject(char: str) -> None:
    invalid = field_errors(InstantEmailRequest, email(subject=f"Your{char}code"))
    assert invalid.errors == {
        "recipientEmail.emailSettings.subject": ["must not contain control characters (a tab is allowed)"]
    }


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\x9f"])
def test_control_characters_are_refused_in_senders_reference(char: str) -> None:
    payload = {**sms(), "sendersReference": f"ref{char}1"}
    assert list(field_errors(InstantSmsRequest, payload).errors) == ["sendersReference"]


def test_tab_is_allowed_in_subject_and_senders_reference() -> None:
    wire = parse_request(InstantEmailRequest, {**email(subject="Your\tcode"), "sendersReference": "a\tb"})
    assert wire.recipient_email.email_settings.subject == "Your\tcode"
    assert wire.senders_reference == "a\tb"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\t", "\x85"])
def test_control_characters_are_refused_in_the_idempotency_id_and_sms_sender(char: str) -> None:
    assert list(field_errors(InstantSmsRequest, {**sms(), "idempotencyId": f"k{char}1"}).errors) == ["idempotencyId"]
    invalid = field_errors(InstantSmsRequest, sms(sender=f"Alt{char}inn"))
    assert list(invalid.errors) == ["recipientSms.smsSettings.sender"]


# -- issue 10 point 1: bounded refusals ------------------------------------------------------------


def test_errors_are_capped_and_the_rest_counted() -> None:
    payload = {f"unknown{i}": i for i in range(90_000)}
    invalid = field_errors(InstantSmsRequest, payload)
    assert len(invalid.errors) == MAX_ERROR_FIELDS
    # the two missing required fields come first, then the first unknown ones in body order
    assert list(invalid.errors)[:3] == ["idempotencyId", "recipientSms", "unknown0"]
    assert invalid.omitted == 90_000 + 2 - MAX_ERROR_FIELDS


def test_unknown_fields_are_found_in_nested_objects_too() -> None:
    payload = sms(sendr="x")
    payload["recipientSms"]["Extra"] = 1
    payload["Top"] = 2
    invalid = field_errors(InstantSmsRequest, payload)
    assert invalid.errors == {
        "Top": ["is not a known field"],
        "recipientSms.Extra": ["is not a known field"],
        "recipientSms.smsSettings.sendr": ["is not a known field"],
    }
    assert invalid.omitted == 0


def test_known_and_unknown_errors_are_named_together() -> None:
    payload = {**sms(), "idempotencyId": "", "typo": 1}
    assert set(field_errors(InstantSmsRequest, payload).errors) == {"idempotencyId", "typo"}


def test_a_huge_property_name_is_shortened_in_the_path() -> None:
    invalid = field_errors(InstantSmsRequest, {**sms(), "x" * 500_000: 1})
    (path,) = invalid.errors
    assert len(path) < 100 and path.startswith("xxxx") and "500000 characters" in path


def test_property_names_still_match_case_insensitively_and_once() -> None:
    payload = json.loads(json.dumps(sms()).replace("phoneNumber", "PHONENUMBER"))
    assert parse_request(InstantSmsRequest, payload).recipient_sms.phone_number == "+4799999999"
    twice = copy.deepcopy(payload)
    twice["recipientSms"]["phoneNumber"] = "+4799999999"
    assert field_errors(InstantSmsRequest, twice).errors == {
        "recipientSms.phoneNumber": ["is given more than once (names are case-insensitive)"]
    }


def test_many_spellings_of_one_name_are_one_field_error() -> None:
    payload = sms()
    payload.update({"IDEMPOTENCYID": "a", "IdempotencyId": "b", "idempotencyid": "c"})
    invalid = field_errors(InstantSmsRequest, payload)
    assert invalid.errors == {"idempotencyId": ["is given more than once (names are case-insensitive)"]}
    assert invalid.omitted == 0
