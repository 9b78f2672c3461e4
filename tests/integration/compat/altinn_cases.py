# ruff: noqa: E501  (a table of cases: one case, one line group, long test names kept whole)
"""The request shapes of Altinn Notifications' own instant-order tests, as data.

Source: github.com/Altinn/altinn-notifications, components/api/test (validator tests in
``Altinn.Notifications.Tests/Notifications/TestingValidators``, controller tests in
``Altinn.Notifications.IntegrationTests/Notifications/InstantOrdersController``), read at commit
0d0183fb101b. Each case is one payload of one test (a ``[Fact]`` or one ``[InlineData]`` row) with
the answer a real Altinn endpoint gives it. That answer is not always the test's own: the
validator tests check one validator, and the controller tests mock the validator, the service
and sometimes the outcome (499, 500). The real endpoint answers with all three layers:

1. model binding (System.Text.Json, ASP.NET's web defaults plus ``JsonStringEnumConverter``):
   property names case-insensitive, numbers also read from strings, enums from names or numbers,
   unknown properties ignored, ``required`` properties must be present;
2. DataAnnotations ``[Required]`` (an empty or whitespace-only string is missing), whose 400
   comes before the controller runs;
3. the FluentValidation validators (``Validators/Orders/Instant*``, ``Validators/Email``,
   ``Validators/Sms``).

Payloads are written as a .NET client built on Altinn's model classes sends them with default
``JsonSerializer`` options, exactly as the controller tests do: every property present, nulls
included, ``contentType`` as the enum's number (0 = Plain, 1 = Html).

``KEY`` stands for a fresh idempotencyId per run (Altinn's tests reuse a few GUIDs). The cases
after the tests' own ("serializer habits") come from Altinn's model binding rules in
``Program.cs`` rather than from a test. Where our answer deliberately differs, ``difference``
gives the reason (docs/altinn-compatibility.md lists them) and ``expect`` is *our* answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

KEY = "{fresh-idempotency-id}"
PHONE = "+4799999999"
ADDRESS = "test@example.com"

_V = "Altinn.Notifications.Tests/Notifications/TestingValidators/"
_C = "Altinn.Notifications.IntegrationTests/Notifications/InstantOrdersController/"
SMS_VALIDATOR = _V + "InstantSmsNotificationOrderRequestValidatorTests"
EMAIL_VALIDATOR = _V + "InstantEmailNotificationOrderRequestValidatorTests"
OLD_VALIDATOR = _V + "InstantNotificationOrderRequestValidatorTests"
OLD_RECIPIENT_VALIDATOR = _V + "InstantNotificationRecipientValidatorTests"
SMS_CONTROLLER = _C + "InstantSmsOrdersControllerTests"
EMAIL_CONTROLLER = _C + "InstantEmailOrdersControllerTests"
OLD_CONTROLLER = _C + "InstantOrdersControllerTests"
BINDING = "Altinn.Notifications/Program.cs (AddJsonOptions) and the request models' attributes"

# Paths of our field errors
ID, REF = "idempotencyId", "sendersReference"
SMS, PHONE_NUMBER, TTL = "recipientSms", "recipientSms.phoneNumber", "recipientSms.timeToLiveInSeconds"
SMS_SETTINGS, SMS_BODY, SMS_SENDER = (
    "recipientSms.smsSettings",
    "recipientSms.smsSettings.body",
    "recipientSms.smsSettings.sender",
)
EMAIL, EMAIL_ADDRESS, EMAIL_SETTINGS = "recipientEmail", "recipientEmail.emailAddress", "recipientEmail.emailSettings"
SUBJECT, EMAIL_BODY = "recipientEmail.emailSettings.subject", "recipientEmail.emailSettings.body"
CONTENT_TYPE, SENDER_ADDRESS = (
    "recipientEmail.emailSettings.contentType",
    "recipientEmail.emailSettings.senderEmailAddress",
)

# Reasons for the deliberate differences (each is a row of docs/altinn-compatibility.md)
WHY_UNKNOWN = "unknown fields are refused: a misspelt optional field must not be dropped silently"
WHY_NUMBER_STRING = "a number in a string is refused: no client built on Altinn's models sends one"
WHY_ENUM_STRING = "contentType accepts the names and the numbers 0 and 1 only, not a number inside a string"
WHY_DUPLICATE = "a property given twice (names differ only in case) is refused: two parsers could pick different values"
WHY_BLANK_SENDER = (
    "a blank senderEmailAddress means the default sender, as Altinn's service (not its validator) reads it"
)
WHY_MOBILE = "the phone number must be able to receive SMS (mobile), not merely be a valid number"
WHY_SMS_SENDER = "the SMS sender must be a sender id ACS can use: refused up front, not by the gateway later"
WHY_LIMITS = "lengths are bounded (idempotencyId and sendersReference 255, SMS body 2048, subject 998)"
WHY_SEGMENTS = "an SMS may need at most SMS_MAX_SEGMENTS (default 10) segments: 2000 GSM-7 characters are 14"
WHY_CONTROLS = "control characters and line breaks are refused in text that becomes a header or is echoed"
WHY_BOM = "a UTF-8 byte order mark is refused (RFC 8259: senders must not add one)"
WHY_UTF16 = "only UTF-8 bodies are accepted; Altinn's input formatter also transcodes UTF-16"
WHY_OLD_ROUTE = "the deprecated POST .../future/orders/instant is not offered; its recipientSms goes to .../instant/sms"


@dataclass(frozen=True)
class Case:
    """One payload and the answer it must get; ``source`` names the Altinn test it comes from."""

    name: str
    source: str
    channel: Literal["sms", "email"]
    payload: Any
    expect: int  # our status: 201 (accepted), 200 (a replay), 400, 403, 404, 415
    fields: tuple[str, ...] = ()  # for validation_failed: the field paths ``errors`` must name
    code: str | None = None  # our problem code, when not the usual one for ``expect``
    altinn: int | None = None  # Altinn's status, when it differs from ``expect``
    difference: str | None = None  # why, when the difference is deliberate
    note: str = ""
    caller: bool = True  # False: no caller identity (Altinn: the token has no org claim)
    replay: bool = False  # sent twice: 201 then 200 with the same body
    text: str | None = None  # the body's text, when it is not ``payload`` as JSON
    encoding: str = "utf-8"  # "utf-8-sig" adds a byte order mark
    content_type: str = "application/json"
    route: str | None = None  # another path than the channel's

    def __post_init__(self) -> None:
        assert (self.altinn is None) == (self.difference is None), self.name
        assert (self.problem_code == "validation_failed") == bool(self.fields), self.name

    @property
    def problem_code(self) -> str | None:
        """The ``code`` of our problem answer, or None for a success (or the host's 404)."""
        usual = {400: "validation_failed", 403: "caller_missing", 415: "unsupported_media_type"}
        return self.code or usual.get(self.expect)


# -- payload builders: .NET default serialization of Altinn's request models ------------------


def sms(
    *,
    key: Any = KEY,
    ref: Any = None,
    phone: Any = PHONE,
    ttl: Any = 360,
    body: Any = "Test message",
    sender: Any = "Altinn",
    recipient: Any = "default",
    settings: Any = "default",
) -> dict[str, Any]:
    """InstantSmsNotificationOrderRequestExt as JsonSerializer.Serialize writes it."""
    if settings == "default":
        settings = {"sender": sender, "body": body}
    if recipient == "default":
        recipient = {"phoneNumber": phone, "timeToLiveInSeconds": ttl, "smsSettings": settings}
    return {"idempotencyId": key, "sendersReference": ref, "recipientSms": recipient}


def email(
    *,
    key: Any = KEY,
    ref: Any = None,
    address: Any = ADDRESS,
    subject: Any = "Test Subject",
    body: Any = "Test email body",
    sender: Any = "sender@altinn.no",
    content_type: Any = 0,
    recipient: Any = "default",
    settings: Any = "default",
) -> dict[str, Any]:
    """InstantEmailNotificationOrderRequestExt as JsonSerializer.Serialize writes it."""
    if settings == "default":
        settings = {"subject": subject, "body": body, "senderEmailAddress": sender, "contentType": content_type}
    if recipient == "default":
        recipient = {"emailAddress": address, "emailSettings": settings}
    return {"idempotencyId": key, "sendersReference": ref, "recipientEmail": recipient}


def old(ref: Any = None, **sms_fields: Any) -> dict[str, Any]:
    """The deprecated endpoint's request: the same recipientSms, one level down."""
    inner = sms(ref=ref, **sms_fields)
    return {"idempotencyId": inner["idempotencyId"], "sendersReference": ref, "recipient": {"recipientSms": inner[SMS]}}


def moved(payload: dict[str, Any]) -> dict[str, Any]:
    """A deprecated-endpoint request moved to .../instant/sms."""
    return {"idempotencyId": payload[ID], "sendersReference": payload[REF], "recipientSms": payload["recipient"][SMS]}


CTRL_REF = "89F4BE02-2722-4E77-87AC-23081CC6365D"


def _sms_controller() -> list[Case]:
    src = SMS_CONTROLLER + "::"
    return [
        Case("sms controller: 499 on a cancelled save", src + "Post_WhenOrderPersistenceIsCanceled_Returns499RequestTerminated",
             "sms", sms(), 201, note="a valid payload: the 499 comes from the mocked save"),
        Case("sms controller: new order", src + "Post_WithValidNewOrderRequest_ReturnsCreatedAndTrackingInformation",
             "sms", sms(ref=CTRL_REF), 201),
        Case("sms controller: no creator", src + "Post_WhenCreatorShortNameIsMissing_ReturnsForbiddenAndDoesNotPersistOrder",
             "sms", sms(ref=CTRL_REF), 403, caller=False),
        Case("sms controller: same key again", src + "Post_WhenOrderWithSameIdempotencyIdExists_ReturnsOkWithExistingTrackingInfo",
             "sms", sms(ref=CTRL_REF), 200, replay=True),
        Case("sms controller: invalid phone", src + "Post_WhenPhoneNumberOrTimeToLiveIsInvalid_...[+4712345678, 60]",
             "sms", sms(phone="+4712345678", ttl=60), 400, (PHONE_NUMBER,)),
        Case("sms controller: ttl 17300", src + "Post_WhenPhoneNumberOrTimeToLiveIsInvalid_...[+4799999999, 17300]",
             "sms", sms(ttl=17300), 201,
             note="the test's mocked validator refuses it (its maximum constant is 17280); Altinn's rule is 60-172800"),
        Case("sms controller: empty key", src + "Post_WhenRequiredInformationAreMissing_...['', phone, body, 60]",
             "sms", sms(key="", ttl=60), 400, (ID,)),
        Case("sms controller: empty phone", src + "Post_WhenRequiredInformationAreMissing_...[key, '', body, 60]",
             "sms", sms(phone="", ttl=60), 400, (PHONE_NUMBER,)),
        Case("sms controller: empty body", src + "Post_WhenRequiredInformationAreMissing_...[key, phone, '', 60]",
             "sms", sms(body="", ttl=60), 400, (SMS_BODY,)),
        Case("sms controller: null sender", src + "Post_WithNullSender_UsesDefaultSenderFromConfiguration",
             "sms", sms(ref=CTRL_REF, sender=None), 201),
    ]  # fmt: skip


def _old_controller() -> list[Case]:
    src = OLD_CONTROLLER + "::"
    note = "deprecated endpoint: replayed on .../instant/sms"
    return [
        Case("old controller: 499 on a cancelled save", src + "Post_WhenOrderPersistenceIsCanceled_Returns499RequestTerminated",
             "sms", moved(old()), 201, note=note + "; the 499 comes from the mocked save"),
        Case("old controller: new order", src + "Post_WithValidNewOrderRequest_ReturnsCreatedAndTrackingInformation",
             "sms", moved(old(ref=CTRL_REF)), 201, note=note),
        Case("old controller: no creator", src + "Post_WhenCreatorShortNameIsMissing_ReturnsForbiddenAndDoesNotPersistOrder",
             "sms", moved(old(ref=CTRL_REF)), 403, caller=False, note=note),
        Case("old controller: same key again", src + "Post_WhenOrderWithSameIdempotencyIdExists_ReturnsOkWithExistingTrackingInfo",
             "sms", moved(old(ref=CTRL_REF)), 200, replay=True, note=note),
        Case("old controller: invalid phone", src + "Post_WhenPhoneNumberOrTimeToLiveIsInvalid_...[+4712345678, 60]",
             "sms", moved(old(phone="+4712345678", ttl=60)), 400, (PHONE_NUMBER,), note=note),
        Case("old controller: ttl 17300", src + "Post_WhenPhoneNumberOrTimeToLiveIsInvalid_...[+4799999999, 17300]",
             "sms", moved(old(ttl=17300)), 201, note=note + "; only the test's mocked validator refuses it"),
        Case("old controller: empty key", src + "Post_WhenRequiredInformationAreMissing_...['', phone, body, 60]",
             "sms", moved(old(key="", ttl=60)), 400, (ID,), note=note),
        Case("old controller: empty phone", src + "Post_WhenRequiredInformationAreMissing_...[key, '', body, 60]",
             "sms", moved(old(phone="", ttl=60)), 400, (PHONE_NUMBER,), note=note),
        Case("old controller: empty body", src + "Post_WhenRequiredInformationAreMissing_...[key, phone, '', 60]",
             "sms", moved(old(body="", ttl=60)), 400, (SMS_BODY,), note=note),
        Case("old controller: 500 on an exception", src + "Post_WhenUnhandledExceptionOccurs_Returns500InternalServerError",
             "sms", moved(old()), 201, note=note + "; the 500 comes from a mocked exception"),
        Case("old controller: the deprecated route itself", src + "(BasePath /future/orders/instant)",
             "sms", old(ref=CTRL_REF), 404, altinn=201, difference=WHY_OLD_ROUTE, route="future/orders/instant"),
    ]  # fmt: skip


def _old_validators() -> list[Case]:
    note = "deprecated endpoint's validator: replayed on .../instant/sms"
    return [
        Case("old validator: valid", OLD_VALIDATOR + "::Validate_WithValidInstantNotificationOrderRequest_ShouldPass",
             "sms", moved(old(ref="AE16178F-8C72-4C6B-AE7E-E18D60B7BF94", ttl=3600)), 201, note=note),
        Case("old validator: ttl 45 and invalid number", OLD_VALIDATOR + "::Validate_WithInvalidInstantNotificationOrderRequest_ShouldFail",
             "sms", moved(old(ref="6C176F56-F69E-445B-9631-BAA68F0D5AB3", ttl=45, phone="invalid-number")),
             400, (PHONE_NUMBER, TTL), note=note),
        Case("old recipient validator: valid +47", OLD_RECIPIENT_VALIDATOR + "::Validate_OrderRequestWithValidInformation_ShouldPass[+4799999999, 3600]",
             "sms", moved(old(ttl=3600, body="Test")), 201, note=note),
        Case("old recipient validator: valid 0047", OLD_RECIPIENT_VALIDATOR + "::Validate_OrderRequestWithValidInformation_ShouldPass[004799999999, 1800]",
             "sms", moved(old(phone="004799999999", ttl=1800, body="Hello", sender="Test sender")), 201, note=note),
        Case("old recipient validator: ttl -1", OLD_RECIPIENT_VALIDATOR + "::Validate_OrderRequestWithInvalidInformation_ShouldFail[ttl -1]",
             "sms", moved(old(ttl=-1, body="Test")), 400, (TTL,), note=note),
        Case("old recipient validator: invalid number", OLD_RECIPIENT_VALIDATOR + "::Validate_OrderRequestWithInvalidInformation_ShouldFail[+4712345678]",
             "sms", moved(old(phone="+4712345678", ttl=3600, body="Test")), 400, (PHONE_NUMBER,), note=note),
    ]  # fmt: skip


def _email_controller() -> list[Case]:
    src = EMAIL_CONTROLLER + "::"
    return [
        Case("email controller: 499 on a cancelled save", src + "Post_WhenOrderPersistenceIsCanceled_Returns499RequestTerminated",
             "email", email(), 201, note="a valid payload: the 499 comes from the mocked save"),
        Case("email controller: new order", src + "Post_WithValidNewOrderRequest_ReturnsCreatedAndTrackingInformation",
             "email", email(ref=CTRL_REF), 201),
        Case("email controller: no creator", src + "Post_WhenCreatorShortNameIsMissing_ReturnsForbiddenAndDoesNotPersistOrder",
             "email", email(ref=CTRL_REF), 403, caller=False),
        Case("email controller: same key again", src + "Post_WhenOrderWithSameIdempotencyIdExists_ReturnsOkWithExistingTrackingInfo",
             "email", email(ref=CTRL_REF), 200, replay=True),
        Case("email controller: invalid address", src + "Post_WhenEmailAddressIsInvalid_ReturnsBadRequestWithValidationErrors[invalid-email]",
             "email", email(address="invalid-email"), 400, (EMAIL_ADDRESS,)),
        Case("email controller: empty key", src + "Post_WhenRequiredInformationAreMissing_...['', address, subject, body]",
             "email", email(key=""), 400, (ID,)),
        Case("email controller: empty address", src + "Post_WhenRequiredInformationAreMissing_...[key, '', subject, body]",
             "email", email(address=""), 400, (EMAIL_ADDRESS,)),
        Case("email controller: empty subject", src + "Post_WhenRequiredInformationAreMissing_...[key, address, '', body]",
             "email", email(subject=""), 400, (SUBJECT,)),
        Case("email controller: empty body", src + "Post_WhenRequiredInformationAreMissing_...[key, address, subject, '']",
             "email", email(body=""), 400, (EMAIL_BODY,)),
        Case("email controller: null sender", src + "Post_WithNullSenderEmailAddress_UsesDefaultSenderFromConfiguration",
             "email", email(ref=CTRL_REF, sender=None), 201),
        Case("email controller: contentType 0", src + "Post_WithDifferentContentTypes_HandlesCorrectly[Plain]",
             "email", email(ref=CTRL_REF, body="Plain text content", content_type=0), 201),
        Case("email controller: contentType 1", src + "Post_WithDifferentContentTypes_HandlesCorrectly[Html]",
             "email", email(ref=CTRL_REF, body="<p>HTML content</p>", content_type=1), 201),
    ]  # fmt: skip


def _email_validator() -> list[Case]:
    src = EMAIL_VALIDATOR + "::"

    def v(**fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"subject": "Valid Subject", "body": "Valid body"}
        return email(**(base | fields))

    cases = [
        Case("email validator: valid", src + "Validate_ValidInstantEmailNotificationOrderRequest_NoValidationErrors",
             "email", v(ref="valid-senders-reference", subject="Valid Email Subject", body="Valid email body content"), 201),
        Case("email validator: empty key", src + "Validate_EmptyOrNullIdempotencyId_HasValidationError['']", "email", v(key=""), 400, (ID,)),
        Case("email validator: null key", src + "Validate_EmptyOrNullIdempotencyId_HasValidationError[null]", "email", v(key=None), 400, (ID,)),
        Case("email validator: null recipientEmail", src + "Validate_NullInstantEmailDetails_HasValidationError",
             "email", email(recipient=None), 400, (EMAIL,)),
        Case("email validator: null emailSettings", src + "Validate_NullEmailSettings_HasValidationError",
             "email", email(settings=None), 400, (EMAIL_SETTINGS,)),
        Case("email validator: empty subject", src + "Validate_EmptyOrNullSubject_HasValidationError['']", "email", v(subject=""), 400, (SUBJECT,)),
        Case("email validator: null subject", src + "Validate_EmptyOrNullSubject_HasValidationError[null]", "email", v(subject=None), 400, (SUBJECT,)),
        Case("email validator: empty body", src + "Validate_EmptyOrNullBody_HasValidationError['']", "email", v(body=""), 400, (EMAIL_BODY,)),
        Case("email validator: null body", src + "Validate_EmptyOrNullBody_HasValidationError[null]", "email", v(body=None), 400, (EMAIL_BODY,)),
        Case("email validator: null sender", src + "Validate_NullOrValidSenderEmailAddress_NoValidationError[null]", "email", v(sender=None), 201),
        Case("email validator: valid sender", src + "Validate_NullOrValidSenderEmailAddress_NoValidationError[valid@sender.com]",
             "email", v(sender="valid@sender.com"), 201),
        Case("email validator: empty sender", src + "Validate_InvalidSenderEmailAddress_HasValidationError['']",
             "email", v(sender=""), 201, altinn=400, difference=WHY_BLANK_SENDER),
        Case("email validator: contentType 0", src + "Validate_ValidContentTypes_NoValidationError[Plain]", "email", v(content_type=0), 201),
        Case("email validator: contentType 1", src + "Validate_ValidContentTypes_NoValidationError[Html]", "email", v(content_type=1), 201),
        Case("email validator: long subject and body", src + "Validate_LongSubjectAndBody_NoValidationError",
             "email", v(subject="S" * 500, body="B" * 5000), 201),
        Case("email validator: no sendersReference", src + "Validate_OptionalSendersReference_NoValidationError", "email", v(ref=None), 201),
        Case("email validator: HTML body", src + "Validate_HtmlContentWithHtmlType_NoValidationError", "email",
             v(subject="HTML Email Test", content_type=1,
               body="<html><body><h1>Test</h1><p>HTML content with <strong>formatting</strong></p></body></html>"), 201),
        Case("email validator: special characters", src + "Validate_WithSpecialCharactersInContent_NoValidationError", "email",
             v(subject="Test with æøå & special chars! 🎉", body="Content with æøå, special chars: <>&\"' and emojis 🚀✨"), 201),
    ]  # fmt: skip
    for value in ["", None, "invalid-email", "@example.com", "test@", "test.example.com"]:
        cases.append(Case(f"email validator: address {value!r}", src + f"Validate_InvalidEmailAddress_HasValidationError[{value!r}]",
                          "email", v(address=value), 400, (EMAIL_ADDRESS,)))  # fmt: skip
    for value in ["test@example.com", "user.name+tag@domain.co.uk", "simple@test.org", "user123@example-domain.com"]:
        cases.append(Case(f"email validator: address {value}", src + f"Validate_ValidEmailAddresses_NoValidationError[{value}]",
                          "email", v(address=value), 201))  # fmt: skip
    for value in ["invalid-email", "@example.com", "sender@", "not.an.email"]:
        cases.append(Case(f"email validator: sender {value!r}", src + f"Validate_InvalidSenderEmailAddress_HasValidationError[{value!r}]",
                          "email", v(sender=value), 400, (SENDER_ADDRESS,)))  # fmt: skip
    for value in ["   ", "\t", "\n"]:
        cases.append(Case(f"email validator: subject {value!r}", src + f"Validate_WhitespaceOnlySubject_HasValidationError[{value!r}]",
                          "email", v(subject=value), 400, (SUBJECT,)))  # fmt: skip
        cases.append(Case(f"email validator: body {value!r}", src + f"Validate_WhitespaceOnlyBody_HasValidationError[{value!r}]",
                          "email", v(body=value), 400, (EMAIL_BODY,)))  # fmt: skip
    for value in ["   sender@altinn.no   ", "\tsender@altinn.no\t"]:
        cases.append(Case(f"email validator: sender {value!r}", src + f"Validate_SenderEmailAddressWithWhitespace_NoValidationError[{value!r}]",
                          "email", v(sender=value), 201, note="Altinn trims to check but sends the untrimmed string; we send the trimmed one"))  # fmt: skip
    return cases


def _sms_validator() -> list[Case]:
    src = SMS_VALIDATOR + "::"

    def v(**fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"ttl": 3600, "body": "Valid SMS message body", "sender": "ValidSender"}
        return sms(**(base | fields))

    required = "Altinn's validator passes it, but model binding's [Required] refuses it first"
    cases = [
        Case("sms validator: valid", src + "Validate_ValidInstantSmsNotificationOrderRequest_NoValidationErrors",
             "sms", v(ref="valid-senders-reference"), 201),
        Case("sms validator: empty key", src + "Validate_EmptyOrNullIdempotencyId_HasValidationError['']", "sms", v(key=""), 400, (ID,)),
        Case("sms validator: null key", src + "Validate_EmptyOrNullIdempotencyId_HasValidationError[null]", "sms", v(key=None), 400, (ID,)),
        Case("sms validator: null recipientSms", src + "Validate_NullRecipientSms_HasValidationError", "sms", sms(recipient=None), 400, (SMS,)),
        Case("sms validator: null smsSettings", src + "Validate_NullShortMessageContent_NoValidationError",
             "sms", v(settings=None), 400, (SMS_SETTINGS,), note=required),
        Case("sms validator: empty body", src + "Validate_EmptyOrNullMessageBody_NoValidationError['']", "sms", v(body=""), 400, (SMS_BODY,), note=required),
        Case("sms validator: null body", src + "Validate_EmptyOrNullMessageBody_NoValidationError[null]", "sms", v(body=None), 400, (SMS_BODY,), note=required),
        Case("sms validator: null sender", src + "Validate_NullEmptyOrValidSender_NoValidationError[null]", "sms", v(sender=None), 201),
        Case("sms validator: empty sender", src + "Validate_NullEmptyOrValidSender_NoValidationError['']", "sms", v(sender=""), 201,
             note="blank = the default sender, as Altinn's service reads it"),
        Case("sms validator: valid sender", src + "Validate_NullEmptyOrValidSender_NoValidationError[ValidSender]", "sms", v(sender="ValidSender"), 201),
        Case("sms validator: 2000-character body", src + "Validate_LongMessageBody_NoValidationError", "sms", v(body="a" * 2000), 400, (SMS_BODY,),
             altinn=201, difference=WHY_SEGMENTS),
        Case("sms validator: no sendersReference", src + "Validate_OptionalSendersReference_NoValidationError", "sms", v(ref=None), 201),
        Case("sms validator: special characters", src + "Validate_WithSpecialCharactersInMessage_NoValidationError",
             "sms", v(body="Message with æøå and special chars: !@#$%^&*()"), 201),
    ]  # fmt: skip
    for value in ["", None, "+4712345678", "1234567890", "invalid-phone"]:
        cases.append(Case(f"sms validator: phone {value!r}", src + f"Validate_InvalidPhoneNumber_HasValidationError[{value!r}]",
                          "sms", v(phone=value), 400, (PHONE_NUMBER,)))  # fmt: skip
    for ttl in [59, 172801, 0, -1]:
        cases.append(Case(f"sms validator: ttl {ttl}", src + f"Validate_InvalidTimeToLiveInSeconds_HasValidationError[{ttl}]",
                          "sms", v(ttl=ttl), 400, (TTL,)))  # fmt: skip
    for ttl in [60, 3600, 172800]:
        cases.append(Case(f"sms validator: ttl {ttl}", src + f"Validate_ValidTimeToLiveInSeconds_NoValidationError[{ttl}]",
                          "sms", v(ttl=ttl), 201))  # fmt: skip
    for value in ["+4799999999", "004799999999"]:
        cases.append(Case(f"sms validator: phone {value}", src + f"Validate_ValidPhoneNumberFormats_NoValidationError[{value}]",
                          "sms", v(phone=value), 201))  # fmt: skip
    for value in ["   ", "\t", "\n"]:
        cases.append(Case(f"sms validator: body {value!r}", src + f"Validate_WhitespaceOnlyMessageBody_NoValidationError[{value!r}]",
                          "sms", v(body=value), 400, (SMS_BODY,), note=required))  # fmt: skip
    return cases


def _renamed(payload: dict[str, Any], rename: Any) -> dict[str, Any]:
    return {rename(k): _renamed(v, rename) if isinstance(v, dict) else v for k, v in payload.items()}


def _serializer_habits() -> list[Case]:
    src = BINDING

    def with_ttl(value: Any) -> dict[str, Any]:
        return sms(ttl=value)

    unknown = sms()
    unknown["priority"] = "high"
    twice = json.dumps(sms())[:-1] + f', "IdempotencyId": "{KEY}"}}'
    without_optionals = {"idempotencyId": KEY, "recipientEmail": {"emailAddress": ADDRESS,
                         "emailSettings": {"subject": "Test Subject", "body": "Test email body"}}}  # fmt: skip
    return [
        Case("habit: contentType name Html", src + ": JsonStringEnumConverter reads names", "email", email(content_type="Html"), 201),
        Case("habit: contentType name html", src + ": enum names are read case-insensitively", "email", email(content_type="html"), 201),
        Case("habit: contentType omitted", src + ": contentType defaults to Plain", "email", without_optionals, 201),
        Case("habit: contentType 2", src + ": any integer binds, IsInEnum refuses 2", "email", email(content_type=2), 400, (CONTENT_TYPE,)),
        Case("habit: contentType true", src + ": a boolean is not an enum value", "email", email(content_type=True), 400, (CONTENT_TYPE,)),
        Case("habit: contentType null", src + ": null for a non-nullable enum fails binding", "email", email(content_type=None), 400, (CONTENT_TYPE,)),
        Case("habit: contentType '1'", src + ": the enum converter also reads integers inside strings",
             "email", email(content_type="1"), 400, (CONTENT_TYPE,), altinn=201, difference=WHY_ENUM_STRING),
        Case("habit: PascalCase names", src + ": PropertyNameCaseInsensitive (web defaults)",
             "sms", _renamed(sms(), lambda k: k[0].upper() + k[1:]), 201),
        Case("habit: UPPERCASE names", src + ": PropertyNameCaseInsensitive (web defaults)",
             "email", _renamed(email(), str.upper), 201),
        Case("habit: ttl '360'", src + ": NumberHandling.AllowReadingFromString (web defaults)",
             "sms", with_ttl("360"), 400, (TTL,), altinn=201, difference=WHY_NUMBER_STRING),
        Case("habit: ttl 360.0", src + ": an int does not bind from 360.0", "sms", with_ttl(360.0), 400, (TTL,)),
        Case("habit: ttl null", src + ": null for a non-nullable int fails binding", "sms", with_ttl(None), 400, (TTL,)),
        Case("habit: idempotencyId a number", src + ": a string does not bind from a number", "sms", sms(key=12345), 400, (ID,)),
        Case("habit: unknown property", src + ": unmapped properties are skipped",
             "sms", unknown, 400, ("priority",), altinn=201, difference=WHY_UNKNOWN),
        Case("habit: a name given twice in two casings", src + ": the last duplicate wins",
             "sms", None, 400, (ID,), altinn=201, difference=WHY_DUPLICATE, text=twice),
        Case("habit: phone with spaces", src + ": libphonenumber ignores the formatting", "sms", sms(phone="+47 999 99 999"), 201),
        Case("habit: blank SMS sender", src + ": IsNullOrWhiteSpace(sender) -> the default sender", "sms", sms(sender="   "), 201),
        Case("habit: blank sender address", src + ": the validator trims, then refuses the empty address",
             "email", email(sender="   "), 201, altinn=400, difference=WHY_BLANK_SENDER),
        Case("habit: padded recipient address", src + ": IsValidEmail trims before it checks",
             "email", email(address="  test@example.com  "), 201),
        Case("habit: landline number", src + ": IsValidMobileNumber only asks libphonenumber IsValidNumber",
             "sms", sms(phone="+4722222222"), 400, (PHONE_NUMBER,), altinn=201, difference=WHY_MOBILE),
        Case("habit: 12-character sender id", src + ": the SMS sender is not checked", "sms", sms(sender="TwelveChars1"),
             400, (SMS_SENDER,), altinn=201, difference=WHY_SMS_SENDER),
        Case("habit: 256-character idempotencyId", src + ": no length rule", "sms", sms(key="k" * 256),
             400, (ID,), altinn=201, difference=WHY_LIMITS),
        Case("habit: 2049-character SMS body", src + ": no length rule", "sms", sms(body="b" * 2049),
             400, (SMS_BODY,), altinn=201, difference=WHY_LIMITS),
        Case("habit: 999-character subject", src + ": no length rule", "email", email(subject="s" * 999),
             400, (SUBJECT,), altinn=201, difference=WHY_LIMITS),
        Case("habit: line break in the subject", src + ": the subject is only checked for emptiness",
             "email", email(subject="Your\ncode"), 400, (SUBJECT,), altinn=201, difference=WHY_CONTROLS),
        Case("habit: NUL in sendersReference", src + ": sendersReference is not checked",
             "sms", sms(ref="ref\x001"), 400, (REF,), altinn=201, difference=WHY_CONTROLS),
        Case("habit: byte order mark", src + ": System.Text.Json skips a UTF-8 BOM", "sms", sms(), 400,
             code="malformed_json", altinn=201, difference=WHY_BOM, encoding="utf-8-sig"),
        Case("habit: UTF-16 body", src + ": the input formatter transcodes UTF-16", "sms", sms(), 415,
             altinn=201, difference=WHY_UTF16, encoding="utf-16", content_type="application/json; charset=utf-16"),
        Case("habit: media type parameters", src + ": [Consumes(application/json)] ignores parameters",
             "sms", sms(), 201, content_type="application/json; charset=utf-8; odata.metadata=minimal"),
        Case("habit: text/plain", src + ": [Consumes(application/json)] refuses other media types",
             "sms", sms(), 415, content_type="text/plain"),
    ]  # fmt: skip


CASES: list[Case] = [
    *_sms_controller(),
    *_old_controller(),
    *_email_controller(),
    *_sms_validator(),
    *_email_validator(),
    *_old_validators(),
    *_serializer_habits(),
]
FROM_ALTINN_TESTS = [c for c in CASES if not c.source.startswith(BINDING) and c.route is None]
