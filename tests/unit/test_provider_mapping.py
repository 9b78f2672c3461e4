"""Every known ACS answer and transport failure maps to exactly one provider error."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import aiohttp
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from instant.adapters.acs_email import AcsEmailGateway, _send_refused
from instant.adapters.acs_email import _receipt as email_receipt
from instant.adapters.acs_sms import _receipt
from instant.adapters.provider_errors import retry_after, transport_failure
from instant.domain.deadline import Deadline
from instant.domain.errors import (
    ProviderMisconfigured,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from instant.domain.ports import EmailOperationStatus
from tests.support.fakes import FakeClock


class FakeResponse:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self._body = json.dumps(body) if body is not None else ""
        self.headers = headers or {}

    def text(self) -> str:
        return self._body


def item(**fields: Any) -> dict[str, Any]:
    return {"value": [{"to": "+4799999999", **fields}]}


def test_accepted_item_is_a_receipt() -> None:
    receipt = _receipt(FakeResponse(202, item(successful=True, httpStatusCode=202, messageId="m-1")))
    assert receipt.message_id == "m-1"


@pytest.mark.parametrize(
    ("response", "error", "may_have_reached", "hint"),
    [
        (FakeResponse(202, item(successful=False, httpStatusCode=400)), ProviderRejected, None, None),
        (FakeResponse(202, item(successful=False, httpStatusCode=503)), ProviderUnavailable, False, None),
        (
            FakeResponse(202, item(successful=False, httpStatusCode=400, repeatabilityResult="rejected")),
            ProviderOutcomeUnknown,
            None,
            None,
        ),
        (FakeResponse(202, item(successful=True, httpStatusCode=202)), ProviderOutcomeUnknown, None, None),
        (FakeResponse(202, {"unexpected": 1}), ProviderOutcomeUnknown, None, None),
        # an item that cannot be read is an unknown outcome, never an unhandled error (a 500)
        (FakeResponse(202, item(successful=False, httpStatusCode="n/a")), ProviderOutcomeUnknown, None, None),
        (FakeResponse(202, {"value": ["not an object"]}), ProviderOutcomeUnknown, None, None),
        # a repeat outside the 5-minute window, item form (recorded) and request form
        (FakeResponse(202, item(successful=False, httpStatusCode=412)), ProviderOutcomeUnknown, None, None),
        (FakeResponse(412, {}), ProviderOutcomeUnknown, None, None),
        # a repeat while the first is still processed: transient, and it may have been sent
        (
            FakeResponse(202, item(successful=False, httpStatusCode=409, repeatabilityResult="rejected")),
            ProviderUnavailable,
            True,
            None,
        ),
        (FakeResponse(409, {}, {"Retry-After": "1"}), ProviderUnavailable, True, 1.0),
        (FakeResponse(429, {}, {"Retry-After": "7"}), ProviderUnavailable, False, 7.0),
        (FakeResponse(429, {}), ProviderUnavailable, False, None),
        (FakeResponse(503, {}), ProviderUnavailable, False, None),
        # ACS may have taken the message before a 500 or a gateway's 502/504
        (FakeResponse(500, {}), ProviderUnavailable, True, None),
        (FakeResponse(502, {}), ProviderUnavailable, True, None),
        (FakeResponse(504, {}), ProviderUnavailable, True, None),
        # our key, or a "from" the resource does not own (recorded: 401 Unauthorized)
        (FakeResponse(401, {"error": {"code": "Unauthorized", "message": ""}}), ProviderMisconfigured, None, None),
        (FakeResponse(403, {}), ProviderMisconfigured, None, None),
        (FakeResponse(400, {}), ProviderRejected, None, None),
    ],
)
def test_sms_answers_map_to_one_error(
    response: FakeResponse, error: type[Exception], may_have_reached: bool | None, hint: float | None
) -> None:
    with pytest.raises(error) as raised:
        _receipt(response)
    if isinstance(raised.value, ProviderUnavailable):
        assert raised.value.may_have_reached is may_have_reached
        assert raised.value.retry_after == hint


def _connector_error() -> aiohttp.ClientConnectorError:
    class _Key:
        host, port, ssl = "127.0.0.1", 9, False

    return aiohttp.ClientConnectorError(_Key(), OSError(111, "Connection refused"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failure", "may_have_reached"),
    [
        (ServiceRequestError("refused", error=_connector_error()), False),
        (ServiceRequestTimeoutError("connect timeout"), False),
        (ServiceRequestError("reset", error=aiohttp.ServerDisconnectedError()), True),
        (ServiceResponseError("read failed"), True),
        (ServiceResponseTimeoutError("no answer"), True),
        (ClientAuthenticationError("401"), False),
    ],
)
def test_transport_failures_say_whether_the_request_may_have_arrived(
    failure: Exception, may_have_reached: bool
) -> None:
    translated = transport_failure(failure)  # type: ignore[arg-type]
    assert isinstance(translated, ProviderUnavailable)
    assert translated.may_have_reached is may_have_reached


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ProviderRejected),
        (404, ProviderMisconfigured),  # DomainNotLinked: a sender domain the resource does not own
        (409, ProviderUnavailable),  # a repeat of an operation still in progress
        (412, ProviderOutcomeUnknown),
        (429, ProviderUnavailable),
        (503, ProviderUnavailable),
        (401, ProviderMisconfigured),
        (403, ProviderMisconfigured),
    ],
)
def test_email_http_errors_map_to_one_error(status: int, error: type[Exception]) -> None:
    assert isinstance(_send_refused(status, {}), error)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("NotStarted", None, EmailOperationStatus.RUNNING),
        ("Running", None, EmailOperationStatus.RUNNING),
        ("Succeeded", None, EmailOperationStatus.SUCCEEDED),
        ("Failed", "EmailDropped", EmailOperationStatus.FAILED),
        ("Canceled", None, EmailOperationStatus.FAILED),  # was read as still sending
        ("canceled", None, EmailOperationStatus.FAILED),
    ],
)
def test_email_operation_statuses(status: str, code: str | None, expected: EmailOperationStatus) -> None:
    error = {"code": code, "message": "x"} if code else None
    receipt = email_receipt("op", json.dumps({"id": "op", "status": status, "error": error}))
    assert (receipt.status, receipt.error_code) == (expected, code)


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0.5", 0.5), ("-1", 0.0), ("soon", None), (None, None)])
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert retry_after({"Retry-After": value} if value is not None else {}) == seconds


@pytest.mark.parametrize("status", [401, 403])
async def test_an_email_status_check_refused_for_our_credentials_is_a_configuration_error(status: int) -> None:
    class Answer:
        status_code = status
        headers: ClassVar[dict[str, str]] = {}

        async def read(self) -> bytes:
            return b""

        def text(self) -> str:
            return ""

    class Client:
        async def send_request(self, request: object, **options: object) -> Answer:
            return Answer()

    gateway = AcsEmailGateway(Client(), "https://example.communication.azure.com")  # type: ignore[arg-type]
    with pytest.raises(ProviderMisconfigured):
        await gateway.status("00000000-0000-5000-8000-000000000000", deadline=Deadline.after(FakeClock(), 5))
