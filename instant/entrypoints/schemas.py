"""Request wire models: Altinn's field names and the contract's rules, field by field.

Requests: unknown fields are rejected, property names match case-insensitively (a .NET
client with default options sends ``IdempotencyId``), answers always use camelCase. What an
Altinn client's serializer sends is normalised here, before the fingerprint: ``contentType`` as
the enum's number, a blank SMS sender, email addresses with surrounding whitespace.

The answers' shapes are in response_models.py.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic.alias_generators import to_camel

from instant.domain.addresses import normalise_email_address, normalise_phone_number, validate_sms_sender

SMS_BODY_MAX_CHARS = 2048  # the ACS limit (SendMessageRequest.message maxLength)
EMAIL_BODY_MAX_BYTES = 512 * 1024
EMAIL_SUBJECT_MAX_CHARS = 998  # RFC 5322 line length
TTL_MIN_SECONDS = 60
TTL_MAX_SECONDS = 172_800


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _no_control_characters(value: str) -> str:
    # Cc is C0 (U+0000-U+001F), DEL and C1 (U+0080-U+009F).
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_characters_but_tab(value: str) -> str:
    # A tab is plain text a user may paste; NUL, ESC and the rest are not.
    if any(ch != "\t" and unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters (a tab is allowed)")
    return value


def _no_line_breaks(value: str) -> str:
    if any(ch in value for ch in "\r\n\u2028\u2029\x85\x0b\x0c"):
        raise ValueError("must not contain line breaks")
    return value


def _email_body_size(value: str) -> str:
    if len(value.encode("utf-8")) > EMAIL_BODY_MAX_BYTES:
        raise ValueError("must be at most 512 KiB (UTF-8)")
    return value


_CONTENT_TYPES = {"plain": "Plain", "html": "Html"}
# The enum's numbers, as a .NET client built on Altinn's model classes sends them.
_CONTENT_TYPE_NUMBERS = {0: "Plain", 1: "Html"}


def _content_type(value: object) -> object:
    # type() and not isinstance(): a JSON true is a bool, which is an int to Python.
    if type(value) is int:
        return _CONTENT_TYPE_NUMBERS.get(value, value)
    if isinstance(value, str):
        return _CONTENT_TYPES.get(value.lower(), value)
    return value


def _blank_is_absent(value: object) -> object:
    # Altinn uses the default sender for null, "" and whitespace alike (IsNullOrWhiteSpace).
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _strip(value: object) -> object:
    # Altinn trims an address before it checks it; we also send the trimmed form.
    return value.strip() if isinstance(value, str) else value


IdempotencyId = Annotated[
    StrictStr,
    Field(min_length=1, max_length=255),
    AfterValidator(_not_blank),
    AfterValidator(_no_control_characters),
]
SendersReference = Annotated[StrictStr, Field(max_length=255), AfterValidator(_no_control_characters_but_tab)]
PhoneNumber = Annotated[StrictStr, AfterValidator(normalise_phone_number)]
SmsSender = Annotated[StrictStr, AfterValidator(validate_sms_sender)]
OptionalSmsSender = Annotated[SmsSender | None, BeforeValidator(_blank_is_absent)]
SmsBody = Annotated[StrictStr, Field(max_length=SMS_BODY_MAX_CHARS), AfterValidator(_not_blank)]
EmailAddress = Annotated[
    StrictStr, Field(max_length=320), AfterValidator(normalise_email_address), BeforeValidator(_strip)
]
OptionalEmailAddress = Annotated[EmailAddress | None, BeforeValidator(_blank_is_absent)]
EmailSubject = Annotated[
    StrictStr,
    Field(max_length=EMAIL_SUBJECT_MAX_CHARS),
    AfterValidator(_not_blank),
    AfterValidator(_no_line_breaks),
    AfterValidator(_no_control_characters_but_tab),
]
EmailBody = Annotated[StrictStr, AfterValidator(_not_blank), AfterValidator(_email_body_size)]
ContentType = Annotated[
    Literal["Plain", "Html"],
    BeforeValidator(_content_type, json_schema_input_type=Literal["Plain", "Html", 0, 1]),
    Field(description="Plain or Html (names case-insensitive), or the enum numbers 0 (Plain) and 1 (Html)."),
]


class RequestModel(BaseModel):
    """Strict request model: camelCase aliases, case-insensitive names, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        extra="forbid",
        frozen=True,
    )
    _aliases: ClassVar[dict[str, str]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._aliases = {}

    @classmethod
    def alias_map(cls) -> dict[str, str]:
        """Lower-cased property name -> the wire's (camelCase) name."""
        if not cls._aliases:
            cls._aliases = {(f.alias or name).lower(): (f.alias or name) for name, f in cls.model_fields.items()}
        return cls._aliases

    @classmethod
    def nested_models(cls) -> dict[str, type[RequestModel]]:
        """Wire name -> the request model of that property, for properties that are objects."""
        return {
            f.alias or name: f.annotation
            for name, f in cls.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, RequestModel)
        }

    @model_validator(mode="before")
    @classmethod
    def _canonical_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        aliases = cls.alias_map()
        canonical: dict[str, Any] = {}
        for key, value in data.items():
            name = aliases.get(key.lower(), key) if isinstance(key, str) else key
            if name in canonical:
                raise ValueError(f"property '{name}' is given more than once (names are case-insensitive)")
            canonical[name] = value
        return canonical


class SmsSettings(RequestModel):
    """The SMS sender and body."""

    sender: OptionalSmsSender = None
    body: SmsBody


class RecipientSms(RequestModel):
    """One SMS recipient, its time-to-live and its settings."""

    phone_number: PhoneNumber
    time_to_live_in_seconds: Annotated[StrictInt, Field(ge=TTL_MIN_SECONDS, le=TTL_MAX_SECONDS)]
    sms_settings: SmsSettings


class InstantSmsRequest(RequestModel):
    """POST .../future/orders/instant/sms"""

    idempotency_id: IdempotencyId
    senders_reference: SendersReference | None = None
    recipient_sms: RecipientSms


class EmailSettings(RequestModel):
    """The email subject, body, content type and sender."""

    subject: EmailSubject
    body: EmailBody
    content_type: ContentType = "Plain"
    sender_email_address: OptionalEmailAddress = None


class RecipientEmail(RequestModel):
    """One email recipient and its settings."""

    email_address: EmailAddress
    email_settings: EmailSettings


class InstantEmailRequest(RequestModel):
    """POST .../future/orders/instant/email"""

    idempotency_id: IdempotencyId
    senders_reference: SendersReference | None = None
    recipient_email: RecipientEmail
