"""The HTTP edge with a service on fakes: validation, problems, media type, size, caller."""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable, Iterator
from functools import cache
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instant import bootstrap
from instant.config import Settings
from instant.service.instant_service import InstantService
from tests.support.unit import World, build_world

Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]
SMS_URL = "http://localhost/notifications/api/v1/future/orders/instant/sms"


@cache
def _handlers() -> dict[str, Handler]:
    import function_app

    handlers: dict[str, Handler] = {}
    for f in function_app.app.get_functions():
        name = f.get_function_name()
        assert name is not None, "every function of the app is named"
        handlers[name] = f.get_user_function()
    return handlers


@pytest.fixture
def world() -> Iterator[World]:
    world = build_world()

    async def factory(_: Settings) -> InstantService:
        return world.service

    bootstrap.use_factory(factory)
    yield world
    bootstrap.use_factory(None)


def request(
    body: bytes | str | dict[str, Any],
    *,
    url: str = SMS_URL,
    method: str = "POST",
    caller: str | None = "caller-a",
    content_type: str | None = "application/json",
    route_params: dict[str, str] | None = None,
) -> func.HttpRequest:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
    headers = {}
    if caller is not None:
        headers["X-Caller-Id"] = caller
    if content_type is not None:
        headers["Content-Type"] = content_type
    return func.HttpRequest(method, url, headers=headers, body=raw, route_params=route_params or {})


def valid_sms(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idempotencyId": "login-7f3a9c",
        "sendersReference": "ref-123",
        "recipientSms": {
            "phoneNumber": "+47 999 99 999",
            "timeToLiveInSeconds": 300,
            "smsSettings": {"sender": "Altinn", "body": "Your code is 123456."},
        },
    }
    body.update(overrides)
    return body


async def call(req: func.HttpRequest, name: str = "instant_sms") -> tuple[int, dict[str, str], dict[str, Any]]:
    response = await _handlers()[name](req)
    headers = dict(response.headers)
    headers.setdefault("Content-Type", response.mimetype)
    return response.status_code, headers, json.loads(response.get_body())


async def test_valid_sms_is_created_with_normalised_number(world: World) -> None:
    status, headers, body = await call(request(valid_sms()))
    assert status == 201
    assert headers["Content-Type"].startswith("application/json")
    assert body["notification"]["status"] == "SMS_Accepted"
    assert world.sms.sent[0].recipient == "+4799999999"
    assert world.sms.sent[0].sender == "Altinn"


async def test_property_names_match_case_insensitively(world: World) -> None:
    dotnet_style = {
        "IdempotencyId": "k-1",
        "RecipientSms": {"PhoneNumber": "+4799999999", "TimeToLiveInSeconds": 60, "SmsSettings": {"Body": "hi"}},
    }
    status, _, _ = await call(request(dotnet_style))
    assert status == 201


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"idempotencyId": ""}, "idempotencyId"),
        ({"idempotencyId": "   "}, "idempotencyId"),
        ({"idempotencyId": "a\u0007b"}, "idempotencyId"),
        ({"idempotencyId": "x" * 256}, "idempotencyId"),
        ({"sendersReference": "r" * 256}, "sendersReference"),
        (
            {"recipientSms": {"phoneNumber": "99999999", "timeToLiveInSeconds": 300, "smsSettings": {"body": "b"}}},
            "recipientSms.phoneNumber",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999 ext 2",
                    "timeToLiveInSeconds": 300,
                    "smsSettings": {"body": "b"},
                }
            },
            "recipientSms.phoneNumber",
        ),
        (
            {"recipientSms": {"phoneNumber": "+4722222222", "timeToLiveInSeconds": 300, "smsSettings": {"body": "b"}}},
            "recipientSms.phoneNumber",
        ),
        (
            {"recipientSms": {"phoneNumber": "+4799999999", "timeToLiveInSeconds": 59, "smsSettings": {"body": "b"}}},
            "recipientSms.timeToLiveInSeconds",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": 172801,
                    "smsSettings": {"body": "b"},
                }
            },
            "recipientSms.timeToLiveInSeconds",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": 300.0,
                    "smsSettings": {"body": "b"},
                }
            },
            "recipientSms.timeToLiveInSeconds",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": "300",
                    "smsSettings": {"body": "b"},
                }
            },
            "recipientSms.timeToLiveInSeconds",
        ),
        (
            {"recipientSms": {"phoneNumber": "+4799999999", "timeToLiveInSeconds": 300, "smsSettings": {"body": " "}}},
            "recipientSms.smsSettings.body",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": 300,
                    "smsSettings": {"body": "x" * 2049},
                }
            },
            "recipientSms.smsSettings.body",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": 300,
                    "smsSettings": {"body": "b", "sender": "TwelveChars1"},
                }
            },
            "recipientSms.smsSettings.sender",
        ),
        (
            {
                "recipientSms": {
                    "phoneNumber": "+4799999999",
                    "timeToLiveInSeconds": 300,
                    "smsSettings": {"body": "b", "sendr": "x"},
                }
            },
            "recipientSms.smsSettings.sendr",
        ),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_each_rule_is_named_in_errors(world: World, change: dict[str, Any], path: str) -> None:
    status, headers, body = await call(request(valid_sms(**change)))
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "validation_failed"
    assert path in body["errors"], body["errors"]
    assert world.sms.calls == []


async def test_every_broken_field_is_named_at_once(world: World) -> None:
    status, _, body = await call(request({"idempotencyId": "", "recipientSms": {"phoneNumber": "x"}, "typo": 1}))
    assert status == 400
    assert set(body["errors"]) >= {
        "idempotencyId",
        "recipientSms.phoneNumber",
        "recipientSms.timeToLiveInSeconds",
        "recipientSms.smsSettings",
        "typo",
    }


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "malformed_json"),
        (b"[]", "malformed_json"),
        (b'"text"', "malformed_json"),
        (b"{", "malformed_json"),
        (b"\xff\xfe{}", "malformed_json"),
        (b'{"idempotencyId": "a", "idempotencyId": "b"}', "malformed_json"),
        (b'{"n": NaN}', "malformed_json"),
        (b'{"n": ' + b"9" * 5000 + b"}", "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed_json"),
    ],
)
async def test_bodies_that_are_not_json_objects(world: World, raw: bytes, code: str) -> None:
    status, _, body = await call(request(raw))
    assert (status, body["code"]) == (400, code)


async def test_body_over_one_mib_is_413(world: World) -> None:
    status, _, body = await call(request(b" " * (1024 * 1024 + 1)))
    assert (status, body["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml", "application/json; charset=latin-1"])
async def test_wrong_media_type_is_415(world: World, content_type: str | None) -> None:
    status, _, body = await call(request(valid_sms(), content_type=content_type))
    assert (status, body["code"]) == (415, "unsupported_media_type")


async def test_json_with_utf8_charset_is_accepted(world: World) -> None:
    status, _, _ = await call(request(valid_sms(), content_type="application/json; charset=UTF-8"))
    assert status == 201


@pytest.mark.parametrize("caller", [None, "", "a b", "x" * 65, "evil\r\nX-Injected: 1", "æøå"])
async def test_missing_or_malformed_caller_is_403(world: World, caller: str | None) -> None:
    assert bootstrap.settings().instant_default_caller is None
    status, _, body = await call(request(valid_sms(), caller=caller))
    assert (status, body["code"]) == (403, "caller_missing")
    assert world.sms.calls == []


async def test_get_shipment_route(world: World) -> None:
    _, _, created = await call(request(valid_sms()))
    shipment_id = created["notification"]["shipmentId"]
    url = f"http://localhost/notifications/api/v1/future/shipment/{shipment_id}"
    status, _, body = await call(
        request(b"", url=url, method="GET", route_params={"shipmentId": shipment_id}), "shipment"
    )
    assert status == 200 and body["shipmentId"] == shipment_id
    status, _, body = await call(
        request(b"", url=url, method="GET", caller="caller-b", route_params={"shipmentId": shipment_id}), "shipment"
    )
    assert (status, body["code"]) == (404, "not_found")


async def test_openapi_and_health_are_served() -> None:
    status, _, doc = await call(request(b"", method="GET", caller=None), "openapi")
    assert status == 200
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/future/orders/instant/sms",
        "/future/orders/instant/email",
        "/future/shipment/{shipmentId}",
        "/openapi.json",
        "/health",
    }
    request_schema = doc["components"]["schemas"]["InstantSmsRequest"]
    assert request_schema["additionalProperties"] is False
    assert "idempotencyId" in request_schema["properties"]
    status, _, body = await call(request(b"", method="GET", caller=None), "health")
    assert (status, body) == (200, {"status": "ok"})


async def test_openapi_documents_the_headers_of_the_error_answers() -> None:
    _, _, doc = await call(request(b"", method="GET", caller=None), "openapi")
    responses = doc["paths"]["/future/orders/instant/sms"]["post"]["responses"]
    # 409 and 503 always carry Retry-After; stored problems are replayed with Idempotent-Replayed
    assert responses["409"]["headers"]["Retry-After"]["required"] is True
    assert responses["503"]["headers"]["Retry-After"]["required"] is True
    for status in ("410", "422", "502"):
        assert "Idempotent-Replayed" in responses[status]["headers"]
    assert "headers" not in responses["400"]
    shipment = doc["paths"]["/future/shipment/{shipmentId}"]["get"]["responses"]
    assert shipment["503"]["headers"]["Retry-After"]["required"] is True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
sms_like = st.fixed_dictionaries(
    {},
    optional={
        "idempotencyId": json_values | st.text(max_size=300),
        "sendersReference": json_values,
        "recipientSms": st.fixed_dictionaries(
            {},
            optional={
                "phoneNumber": json_values | st.from_regex(r"(\+|00)[0-9 ()-]{0,16}", fullmatch=True),
                "timeToLiveInSeconds": json_values | st.integers(min_value=-10, max_value=200_000),
                "smsSettings": st.fixed_dictionaries(
                    {}, optional={"body": json_values | st.text(max_size=2100), "sender": json_values}
                )
                | json_values,
            },
        )
        | json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=sms_like | json_values, raw=st.binary(max_size=64))
async def test_no_input_makes_the_sms_endpoint_answer_5xx(world: World, payload: Any, raw: bytes) -> None:
    for body in (json.dumps(payload).encode(), raw):
        response = await _handlers()["instant_sms"](request(body))
        assert response.status_code < 500, response.get_body()
        parsed = json.loads(response.get_body())
        if response.status_code >= 400:
            assert response.mimetype == "application/problem+json"
            assert isinstance(parsed["code"], str)


EMAIL_URL = "http://localhost/notifications/api/v1/future/orders/instant/email"


def valid_email(**settings_changes: Any) -> dict[str, Any]:
    return {
        "idempotencyId": "verify-email-41",
        "sendersReference": "ref-9",
        "recipientEmail": {
            "emailAddress": "User@Example.NO",
            "emailSettings": {
                "subject": "Your code",
                "body": "<p>Your code is <b>123456</b></p>",
                "contentType": "html",
                **settings_changes,
            },
        },
    }


async def test_valid_email_is_created_with_normalised_address(world: World) -> None:
    status, _, body = await call(request(valid_email(), url=EMAIL_URL), "instant_email")
    assert status == 201
    assert body["notification"]["status"] == "Email_Succeeded"
    (sent,) = world.email.sent
    assert sent.recipient == "User@example.no"
    assert sent.content_type.value == "Html"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"subject": "a\nb"}, "recipientEmail.emailSettings.subject"),
        ({"subject": "s" * 999}, "recipientEmail.emailSettings.subject"),
        ({"subject": " "}, "recipientEmail.emailSettings.subject"),
        ({"body": ""}, "recipientEmail.emailSettings.body"),
        ({"body": "x" * (512 * 1024 + 1)}, "recipientEmail.emailSettings.body"),
        ({"contentType": "Markdown"}, "recipientEmail.emailSettings.contentType"),
        ({"senderEmailAddress": "not an address"}, "recipientEmail.emailSettings.senderEmailAddress"),
        ({"cc": "x@example.com"}, "recipientEmail.emailSettings.cc"),
    ],
)
async def test_each_email_rule_is_named_in_errors(world: World, change: dict[str, Any], path: str) -> None:
    status, _, body = await call(request(valid_email(**change), url=EMAIL_URL), "instant_email")
    assert status == 400
    assert path in body["errors"], body["errors"]


async def test_bad_email_address_is_named(world: World) -> None:
    payload = valid_email()
    payload["recipientEmail"]["emailAddress"] = "user@"
    status, _, body = await call(request(payload, url=EMAIL_URL), "instant_email")
    assert status == 400
    assert "recipientEmail.emailAddress" in body["errors"]


email_like = st.fixed_dictionaries(
    {},
    optional={
        "idempotencyId": json_values,
        "recipientEmail": st.fixed_dictionaries(
            {},
            optional={
                "emailAddress": json_values | st.emails(),
                "emailSettings": st.fixed_dictionaries(
                    {},
                    optional={
                        "subject": json_values,
                        "body": json_values,
                        "contentType": json_values | st.sampled_from(["plain", "HTML", "Html", "x"]),
                        "senderEmailAddress": json_values | st.emails(),
                    },
                )
                | json_values,
            },
        )
        | json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=email_like | json_values)
async def test_no_input_makes_the_email_endpoint_answer_5xx(world: World, payload: Any) -> None:
    response = await _handlers()["instant_email"](request(json.dumps(payload), url=EMAIL_URL))
    assert response.status_code < 500, response.get_body()
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert isinstance(json.loads(response.get_body())["code"], str)


@pytest.mark.parametrize(
    ("sms_settings", "path"),
    [
        ({"body": "b", "sender": "Altinn\n"}, "recipientSms.smsSettings.sender"),
        ({"body": "b", "sender": "12345\n"}, "recipientSms.smsSettings.sender"),
        ({"body": "b", "sender": "+4799999999\n"}, "recipientSms.smsSettings.sender"),
    ],
)
async def test_a_trailing_newline_is_not_ignored(world: World, sms_settings: dict[str, str], path: str) -> None:
    payload = valid_sms(
        recipientSms={"phoneNumber": "+4799999999", "timeToLiveInSeconds": 300, "smsSettings": sms_settings}
    )
    status, _, body = await call(request(payload))
    assert status == 400
    assert path in body["errors"]
    phone = valid_sms(
        recipientSms={"phoneNumber": "+4799999999\n", "timeToLiveInSeconds": 300, "smsSettings": {"body": "b"}}
    )
    status, _, body = await call(request(phone))
    assert status == 400
    assert "recipientSms.phoneNumber" in body["errors"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8; foo=bar",
        "application/json; odata.metadata=minimal",
        "application/json;charset=utf8",
        'application/json; charset="UTF-8"',
        "Application/JSON",
    ],
)
async def test_json_media_type_with_utf8_or_no_charset_and_other_parameters_is_accepted(
    world: World, content_type: str
) -> None:
    status, _, body = await call(request(valid_sms(), content_type=content_type))
    assert status == 201, body


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-16", "application/json; charset=", "application/json, text/plain", "application"],
)
async def test_json_media_type_with_another_charset_or_malformed_is_415(world: World, content_type: str) -> None:
    status, _, body = await call(request(valid_sms(), content_type=content_type))
    assert (status, body["code"]) == (415, "unsupported_media_type")


async def test_many_broken_fields_are_capped_with_errors_omitted(world: World) -> None:
    payload = valid_sms(**{f"extra{i}": i for i in range(25)})
    status, headers, body = await call(request(payload))
    assert status == 400
    assert headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == "validation_failed"
    assert len(body["errors"]) == 20
    assert body["errorsOmitted"] == 5
    status, _, body = await call(request(valid_sms(typo=1)))
    assert status == 400 and "errorsOmitted" not in body


async def test_openapi_documents_errors_omitted() -> None:
    _, _, doc = await call(request(b"", method="GET", caller=None), "openapi")
    problem = doc["components"]["schemas"]["Problem"]["properties"]
    assert {"type": "integer", "minimum": 1} in problem["errorsOmitted"]["anyOf"]
    content_type = doc["components"]["schemas"]["EmailSettings"]["properties"]["contentType"]
    assert content_type["enum"] == ["Plain", "Html", 0, 1]


async def test_content_type_number_replays_the_order_sent_with_the_name(world: World) -> None:
    first_status, _, first = await call(request(valid_email(contentType="Html"), url=EMAIL_URL), "instant_email")
    again_status, _, again = await call(request(valid_email(contentType=1), url=EMAIL_URL), "instant_email")
    assert (first_status, again_status) == (201, 200)
    assert again == first
    assert len(world.email.sent) == 1


async def test_blank_sms_sender_replays_the_order_sent_without_one(world: World) -> None:
    no_sender = valid_sms()
    del no_sender["recipientSms"]["smsSettings"]["sender"]
    blank = copy.deepcopy(no_sender)
    blank["recipientSms"]["smsSettings"]["sender"] = "  "
    assert (await call(request(no_sender)))[0] == 201
    assert (await call(request(blank)))[0] == 200
    assert [m.sender for m in world.sms.sent] == ["Instant"]
