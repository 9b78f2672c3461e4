"""Every known ACS answer and transport failure maps to exactly one provider error."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

from instant.adapters.acs_email import _translate_http
from instant.adapters.acs_sms import _receipt
from instant.adapters.provider_errors import retry_after, transport_failure
from instant.domain.errors import ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable


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
        (FakeResponse(429, {}, {"Retry-After": "7"}), ProviderUnavailable, False, 7.0),
        (FakeResponse(429, {}), ProviderUnavailable, False, None),
        (FakeResponse(503, {}), ProviderUnavailable, False, None),
        (FakeResponse(500, {}), ProviderUnavailable, False, None),
        (FakeResponse(401, {}), ProviderUnavailable, False, None),
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
        (404, ProviderRejected),
        (429, ProviderUnavailable),
        (503, ProviderUnavailable),
        (401, ProviderUnavailable),
        (403, ProviderUnavailable),
    ],
)
def test_email_http_errors_map_to_one_error(status: int, error: type[Exception]) -> None:
    exc = HttpResponseError(message="x")
    exc.status_code = status
    assert isinstance(_translate_http(exc), error)


@pytest.mark.parametrize(("value", "seconds"), [("3", 3.0), ("0.5", 0.5), ("-1", 0.0), ("soon", None), (None, None)])
def test_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert retry_after({"Retry-After": value} if value is not None else {}) == seconds
