"""The ACS emulator driven by the real Azure SDK clients over HTTP (plus hand-signed requests)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.rest import AsyncHttpResponse, HttpRequest
from yarl import URL

from sandbox.acs_emulator import RunningEmulator, start_emulator

ACCESS_KEY = base64.b64encode(b"emulator-test-key-0123456789abcdef").decode()
OTHER_KEY = base64.b64encode(b"not-the-emulator-key-0123456789abc").decode()
SLOW_SECONDS = 0.5
EMAIL_RUNNING_SECONDS = 0.2
SHORT_TIMEOUT = 0.3
# The SDKs retry 503 (and 429 with Retry-After) themselves: keep their backoff short. A bounded read
# timeout makes a wrongly hanging emulator fail the test quickly instead of after azure-core's 300 s.
CLIENT_OPTIONS: dict[str, Any] = {"retry_backoff_factor": 0.01, "read_timeout": 5, "connection_timeout": 5}
FROM = "+4712345678"
NORMAL = "+4791234567"
REPO_ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="session")
async def emulator() -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(
        ACCESS_KEY,
        slow_seconds=SLOW_SECONDS,
        email_running_seconds=EMAIL_RUNNING_SECONDS,
        email_retry_after="0",  # "0" makes the SDK poller use polling_interval instead
    )
    yield running
    await running.stop()


@pytest.fixture(autouse=True)
def _clean_emulator(emulator: RunningEmulator) -> None:
    emulator.state.clear()
    emulator.state.latency_ms = 0


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


@pytest.fixture
async def sms_client(emulator: RunningEmulator) -> AsyncIterator[SmsClient]:
    async with SmsClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield client


@pytest.fixture
async def email_client(emulator: RunningEmulator) -> AsyncIterator[EmailClient]:
    async with EmailClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield client


def rfc1123(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def sms_body(to: str, request_id: str | None = None, first_sent: str | None = None, **options: Any) -> dict[str, Any]:
    recipient: dict[str, Any] = {"to": to}
    if request_id is not None:
        recipient["repeatabilityRequestId"] = request_id
        recipient["repeatabilityFirstSent"] = first_sent or rfc1123(datetime.now(UTC))
    return {
        "from": FROM,
        "smsRecipients": [recipient],
        "message": "Your code is 1234",
        "smsSendOptions": {"enableDeliveryReport": False, **options},
    }


async def send_raw_sms(
    client: SmsClient, body: dict[str, Any], api_version: str = "2024-02-05", **kwargs: Any
) -> AsyncHttpResponse:
    """POST /sms through the SMS SDK's own pipeline (so HMAC-signed by the SDK) at any api-version."""
    request = HttpRequest("POST", f"{client._endpoint}/sms?api-version={api_version}", json=body)
    response: AsyncHttpResponse = await client._sms_service_client._client.send_request(request, **kwargs)
    await response.read()
    return response


def email_message(to: str, *, html: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"subject": "Hello", "plainText": "Plain body"}
    if html is not None:
        content["html"] = html
    return {
        "senderAddress": "DoNotReply@example.com",
        "recipients": {"to": [{"address": to, "displayName": "Someone"}]},
        "content": content,
    }


def hand_signed(
    method: str,
    url: str,
    body: bytes,
    key: str = ACCESS_KEY,
    *,
    date: datetime | None = None,
    signed_body: bytes | None = None,
) -> dict[str, str]:
    """An independent implementation of the ACS HMAC scheme; signed_body signs other bytes than sent."""
    parsed = URL(url)
    digest = hashlib.sha256(body if signed_body is None else signed_body).digest()
    content_hash = base64.b64encode(digest).decode()
    x_ms_date = rfc1123(date or datetime.now(UTC))
    to_sign = f"{method}\n{parsed.raw_path_qs}\n{x_ms_date};{parsed.host}:{parsed.port};{content_hash}"
    mac = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    return {
        "x-ms-date": x_ms_date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
        + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }


async def inbox(http: aiohttp.ClientSession, emulator: RunningEmulator, to: str | None = None) -> dict[str, Any]:
    params = {"to": to} if to else {}
    async with http.get(f"{emulator.base_url}/_emulator/inbox", params=params) as resp:
        assert resp.status == 200
        result: dict[str, Any] = await resp.json()
        return result


async def logged(http: aiohttp.ClientSession, emulator: RunningEmulator, kind: str) -> list[dict[str, Any]]:
    async with http.get(f"{emulator.base_url}/_emulator/requests") as resp:
        assert resp.status == 200
        return [r for r in await resp.json() if r["kind"] == kind]


async def wait_until_released(emulator: RunningEmulator) -> None:
    """Held-open requests end once the client is gone; wait for that (bounded)."""
    for _ in range(100):
        if emulator.state.pending == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the emulator still holds a request open after the client left")


# --------------------------------------------------------------------------- SMS: happy path and validation


async def test_sdk_send_is_delivered_once(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    [result] = await sms_client.send(FROM, NORMAL, "Hello from the SDK")
    assert result.successful
    assert result.http_status_code == 202
    box = await inbox(http, emulator)
    [sms] = box["sms"]
    assert sms["messageId"] == result.message_id
    assert (sms["from"], sms["to"], sms["message"]) == (FROM, NORMAL, "Hello from the SDK")
    assert sms["apiVersion"] == "2021-03-07"
    assert sms["repeatabilityRequestId"]  # the SDK always sends one
    [request] = await logged(http, emulator, "sms")
    assert request["status"] == 202
    assert request["repeatabilityRequestId"] == sms["repeatabilityRequestId"]
    assert request["to"] == [NORMAL]


async def test_raw_2024_02_05_with_validity_period(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    response = await send_raw_sms(sms_client, sms_body(NORMAL, validityPeriodSeconds=120))
    assert response.status_code == 202
    [item] = response.json()["value"]
    assert item["successful"] is True
    assert "repeatabilityResult" not in item  # no repeatability fields were sent
    [sms] = (await inbox(http, emulator))["sms"]
    assert sms["validityPeriodSeconds"] == 120
    assert sms["apiVersion"] == "2024-02-05"


@pytest.mark.parametrize(
    ("api_version", "body"),
    [
        ("2024-02-05", sms_body(NORMAL, validityPeriodSeconds=59)),
        ("2024-02-05", sms_body(NORMAL, validityPeriodSeconds=43201)),
        ("2024-02-05", sms_body(NORMAL, validityPeriodSeconds="120")),
        ("2021-03-07", sms_body(NORMAL, validityPeriodSeconds=120)),
        ("2099-01-01", sms_body(NORMAL)),
        ("2024-02-05", {k: v for k, v in sms_body(NORMAL).items() if k != "from"}),
        ("2024-02-05", {k: v for k, v in sms_body(NORMAL).items() if k != "message"}),
        ("2024-02-05", {**sms_body(NORMAL), "smsRecipients": []}),
    ],
)
async def test_sms_bad_requests_are_400(
    sms_client: SmsClient,
    http: aiohttp.ClientSession,
    emulator: RunningEmulator,
    api_version: str,
    body: dict[str, Any],
) -> None:
    response = await send_raw_sms(sms_client, body, api_version=api_version)
    assert response.status_code == 400
    assert response.json()["error"]["code"]
    assert (await inbox(http, emulator))["sms"] == []


# --------------------------------------------------------------------------- authentication


async def test_wrong_key_is_401(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    async with SmsClient(emulator.base_url, AzureKeyCredential(OTHER_KEY), retry_total=0, read_timeout=5) as client:
        with pytest.raises(ClientAuthenticationError) as caught:
            await client.send(FROM, NORMAL, "x")
    assert caught.value.status_code == 401
    assert caught.value.error is not None
    assert caught.value.error.code == "Denied"
    assert (await inbox(http, emulator))["sms"] == []
    assert await logged(http, emulator, "sms") == []  # only authenticated requests are logged


async def test_wrong_key_email_is_401(emulator: RunningEmulator) -> None:
    async with EmailClient(emulator.base_url, AzureKeyCredential(OTHER_KEY), retry_total=0, read_timeout=5) as client:
        with pytest.raises(ClientAuthenticationError):
            await client.begin_send(email_message("someone@example.com"))


async def test_hand_signed_request_is_accepted(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    url = f"{emulator.base_url}/sms?api-version=2024-02-05"
    body = json.dumps(sms_body(NORMAL)).encode()
    async with http.post(url, data=body, headers=hand_signed("POST", url, body)) as resp:
        assert resp.status == 202


@pytest.mark.parametrize("fault", ["tampered_body", "stale_date", "future_date", "no_auth", "wrong_path"])
async def test_invalid_signatures_are_401(emulator: RunningEmulator, http: aiohttp.ClientSession, fault: str) -> None:
    url = f"{emulator.base_url}/sms?api-version=2024-02-05"
    body = json.dumps(sms_body(NORMAL)).encode()
    if fault == "tampered_body":
        signed_for = json.dumps(sms_body("+4798765432")).encode()
        headers = hand_signed("POST", url, body, signed_body=signed_for)
        # Also re-hash the tampered body but keep the old signature: still refused.
        headers_rehashed = dict(headers)
        headers_rehashed["x-ms-content-sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
        async with http.post(url, data=body, headers=headers_rehashed) as resp:
            assert resp.status == 401
    elif fault == "stale_date":
        headers = hand_signed("POST", url, body, date=datetime.now(UTC) - timedelta(minutes=16))
    elif fault == "future_date":
        headers = hand_signed("POST", url, body, date=datetime.now(UTC) + timedelta(minutes=16))
    elif fault == "no_auth":
        headers = {"Content-Type": "application/json"}
    else:
        headers = hand_signed("POST", f"{emulator.base_url}/sms?api-version=2021-03-07", body)
    async with http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "Denied"
    assert (await inbox(http, emulator))["sms"] == []


# --------------------------------------------------------------------------- SMS repeatability


async def test_repeated_id_returns_original_result_without_second_delivery(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body(NORMAL, request_id=str(uuid.uuid4()))
    first = (await send_raw_sms(sms_client, body)).json()["value"][0]
    second = (await send_raw_sms(sms_client, body)).json()["value"][0]
    assert first["repeatabilityResult"] == second["repeatabilityResult"] == "accepted"
    assert first["messageId"] == second["messageId"]
    assert second["successful"] is True
    assert len((await inbox(http, emulator))["sms"]) == 1


async def test_concurrent_repeats_deliver_once(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body(NORMAL, request_id=str(uuid.uuid4()))
    responses = await asyncio.gather(*(send_raw_sms(sms_client, body) for _ in range(8)))
    message_ids = {r.json()["value"][0]["messageId"] for r in responses}
    assert len(message_ids) == 1
    assert len((await inbox(http, emulator))["sms"]) == 1


async def test_first_sent_outside_window_is_rejected(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    old = rfc1123(datetime.now(UTC) - timedelta(hours=2))
    response = await send_raw_sms(sms_client, sms_body(NORMAL, request_id=str(uuid.uuid4()), first_sent=old))
    assert response.status_code == 202
    [item] = response.json()["value"]
    assert item["successful"] is False
    assert item["httpStatusCode"] == 400
    assert item["repeatabilityResult"] == "rejected"
    assert item["errorMessage"]
    assert (await inbox(http, emulator))["sms"] == []


# --------------------------------------------------------------------------- SMS magic recipients


async def test_refused_recipient(sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    [result] = await sms_client.send(FROM, "+4790000001", "x")
    assert not result.successful
    assert result.http_status_code == 400
    assert result.error_message == "Invalid recipient"
    assert (await inbox(http, emulator))["sms"] == []


async def test_503_twice_then_sdk_retry_succeeds(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    [result] = await sms_client.send(FROM, "+4790000002", "x")  # azure-core retries POST on 503
    assert result.successful
    requests = await logged(http, emulator, "sms")
    assert [r["status"] for r in requests] == [503, 503, 202]
    assert len({r["repeatabilityRequestId"] for r in requests}) == 1
    assert len((await inbox(http, emulator))["sms"]) == 1


async def test_503_without_retries_surfaces(sms_client: SmsClient) -> None:
    response = await send_raw_sms(sms_client, sms_body("+4790000002", request_id=str(uuid.uuid4())), retry_total=0)
    assert response.status_code == 503


async def test_429_once_with_retry_after(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body("+4790000003", request_id=str(uuid.uuid4()))
    limited = await send_raw_sms(sms_client, body, retry_total=0)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    again = await send_raw_sms(sms_client, body, retry_total=0)
    assert again.status_code == 202
    assert len((await inbox(http, emulator))["sms"]) == 1


async def test_slow_answers_after_delay(sms_client: SmsClient) -> None:
    started = time.monotonic()
    [result] = await sms_client.send(FROM, "+4790000004", "x")
    assert result.successful
    assert time.monotonic() - started >= SLOW_SECONDS


async def test_slow_with_impatient_client_delivers_nothing(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body("+4790000004", request_id=str(uuid.uuid4()))
    with pytest.raises(ServiceResponseError):
        await send_raw_sms(sms_client, body, read_timeout=SHORT_TIMEOUT / 2, retry_total=0)
    await wait_until_released(emulator)
    assert (await inbox(http, emulator))["sms"] == []


async def test_hang_never_answers(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    with pytest.raises(ServiceResponseError):
        await send_raw_sms(sms_client, sms_body("+4790000005"), read_timeout=SHORT_TIMEOUT, retry_total=0)
    await wait_until_released(emulator)
    [request] = await logged(http, emulator, "sms")
    assert request["status"] is None
    assert (await inbox(http, emulator))["sms"] == []


async def test_always_503(sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await sms_client.send(FROM, "+4790000006", "x")
    assert caught.value.status_code == 503
    assert [r["status"] for r in await logged(http, emulator, "sms")] == [503] * 4  # 1 + 3 SDK retries


async def test_item_503_once_then_same_id_succeeds(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body("+4790000007", request_id=str(uuid.uuid4()))
    first = await send_raw_sms(sms_client, body)
    assert first.status_code == 202
    [item] = first.json()["value"]
    assert (item["successful"], item["httpStatusCode"]) == (False, 503)
    assert (await inbox(http, emulator))["sms"] == []
    [item] = (await send_raw_sms(sms_client, body)).json()["value"]
    assert (item["successful"], item["httpStatusCode"]) == (True, 202)
    assert len((await inbox(http, emulator))["sms"]) == 1


async def test_accept_then_hang_delivers_and_remembers(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    body = sms_body("+4790000008", request_id=str(uuid.uuid4()))
    with pytest.raises(ServiceResponseError):
        await send_raw_sms(sms_client, body, read_timeout=SHORT_TIMEOUT, retry_total=0)
    [delivered] = (await inbox(http, emulator))["sms"]
    # A retry with the same id learns the original outcome and does not deliver again.
    [item] = (await send_raw_sms(sms_client, body)).json()["value"]
    assert item["messageId"] == delivered["messageId"]
    assert item["repeatabilityResult"] == "accepted"
    assert len((await inbox(http, emulator))["sms"]) == 1
    await wait_until_released(emulator)


async def test_429_without_retry_after_is_not_retried_by_sdk(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await sms_client.send(FROM, "+4790000009", "x")
    assert caught.value.status_code == 429
    # azure-core only retries POST on 500/503/504 or when Retry-After is present.
    assert [r["status"] for r in await logged(http, emulator, "sms")] == [429]
    again = await send_raw_sms(sms_client, sms_body("+4790000009", request_id=str(uuid.uuid4())))
    assert again.status_code == 429  # always, and never with Retry-After
    assert "Retry-After" not in again.headers


async def test_connection_reset(sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    # azure-core reports a reset after the request was written as ServiceRequestError, not a response error.
    with pytest.raises(ServiceRequestError, match="reset"):
        await sms_client.send(FROM, "+4790000010", "x")
    [request] = await logged(http, emulator, "sms")  # the SDK does not retry a POST after a reset
    assert request["status"] is None
    assert (await inbox(http, emulator))["sms"] == []


async def test_programmable_latency(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    config_url = f"{emulator.base_url}/_emulator/config"
    async with http.post(config_url, json={"latency_ms": 250}) as resp:
        assert resp.status == 200
    async with http.get(config_url) as resp:
        assert (await resp.json())["latency_ms"] == 250
    started = time.monotonic()
    await sms_client.send(FROM, NORMAL, "x")
    assert time.monotonic() - started >= 0.25
    async with http.post(config_url, json={"latency_ms": -1}) as resp:
        assert resp.status == 400


# --------------------------------------------------------------------------- email


async def test_email_running_then_succeeded(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    operation_id = str(uuid.uuid4())
    poller = await email_client.begin_send(
        email_message("Person@Example.com", html="<p>Hi</p>"), operation_id=operation_id, polling_interval=0.05
    )
    assert poller.status() == "Running"
    result = await poller.result()
    assert result == {"id": operation_id, "status": "Succeeded"}
    [email] = (await inbox(http, emulator, to="person@example.com"))["email"]
    assert email["operationId"] == operation_id
    assert (email["sender"], email["to"]) == ("DoNotReply@example.com", ["Person@Example.com"])
    assert email["subject"] == "Hello"
    assert (email["contentType"], email["html"], email["plainText"]) == ("Html", "<p>Hi</p>", "Plain body")
    assert email["status"] == "Succeeded"
    polls = await logged(http, emulator, "email-status")
    assert len(polls) >= 2
    assert {p["operationId"] for p in polls} == {operation_id}


async def test_email_send_answer_headers(emulator: RunningEmulator, email_client: EmailClient) -> None:
    operation_id = str(uuid.uuid4())
    request = HttpRequest(
        "POST",
        f"{emulator.base_url}/emails:send?api-version=2025-09-01",
        json=email_message("a@example.com"),
        headers={"Operation-Id": operation_id},
    )
    response = await email_client.send_request(request)
    await response.read()
    assert response.status_code == 202
    assert response.headers["Operation-Location"] == (
        f"{emulator.base_url}/emails/operations/{operation_id}?api-version=2025-09-01"
    )
    assert response.headers["Operation-Id"] == operation_id
    assert response.headers["Retry-After"] == "0"
    assert response.json() == {"id": operation_id, "status": "Running"}


async def test_email_without_operation_id_gets_one(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    poller = await email_client.begin_send(email_message("a@example.com"), polling_interval=0.05)
    result = await poller.result()
    uuid.UUID(result["id"])
    [email] = (await inbox(http, emulator))["email"]
    assert (email["operationId"], email["contentType"]) == (result["id"], "Plain")


async def test_email_operation_id_repeat_delivers_once(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    operation_id = str(uuid.uuid4())
    for _ in range(2):
        poller = await email_client.begin_send(
            email_message("b@example.com"), operation_id=operation_id, polling_interval=0.05
        )
        assert (await poller.result())["status"] == "Succeeded"
    assert len((await inbox(http, emulator))["email"]) == 1
    assert [r["status"] for r in await logged(http, emulator, "email")] == [202, 202]


async def test_email_unknown_operation_is_404(emulator: RunningEmulator, email_client: EmailClient) -> None:
    request = HttpRequest("GET", f"{emulator.base_url}/emails/operations/{uuid.uuid4()}?api-version=2025-09-01")
    response = await email_client.send_request(request)
    await response.read()
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


@pytest.mark.parametrize(
    "message",
    [
        {k: v for k, v in email_message("c@example.com").items() if k != "senderAddress"},
        {**email_message("c@example.com"), "recipients": {"to": []}},
        {**email_message("c@example.com"), "content": {"plainText": "no subject"}},
        {**email_message("c@example.com"), "content": {"subject": "no body"}},
    ],
)
async def test_email_bad_requests_are_400(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator, message: dict[str, Any]
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await email_client.begin_send(message)
    assert caught.value.status_code == 400
    assert (await inbox(http, emulator))["email"] == []


async def test_email_reject(email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await email_client.begin_send(email_message("reject@faults.example.com"))
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "InvalidEmailAddress"
    assert (await inbox(http, emulator))["email"] == []


async def test_email_503_twice_then_sdk_retry_succeeds(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    operation_id = str(uuid.uuid4())
    poller = await email_client.begin_send(
        email_message("503twice@faults.example.com"), operation_id=operation_id, polling_interval=0.05
    )
    assert (await poller.result())["status"] == "Succeeded"
    sends = await logged(http, emulator, "email")
    assert [s["status"] for s in sends] == [503, 503, 202]
    assert {s["operationId"] for s in sends} == {operation_id}
    assert len((await inbox(http, emulator))["email"]) == 1


async def test_email_429_once_is_retried_after_retry_after(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    started = time.monotonic()
    poller = await email_client.begin_send(
        email_message("429once@faults.example.com"), operation_id=str(uuid.uuid4()), polling_interval=0.05
    )
    assert (await poller.result())["status"] == "Succeeded"
    assert time.monotonic() - started >= 1.0  # the SDK honoured Retry-After: 1
    assert [s["status"] for s in await logged(http, emulator, "email")] == [429, 202]


async def test_email_429_without_retry_after_is_not_retried_by_sdk(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await email_client.begin_send(email_message("429always@faults.example.com"), operation_id=str(uuid.uuid4()))
    assert caught.value.status_code == 429
    assert "Retry-After" not in caught.value.response.headers
    assert [s["status"] for s in await logged(http, emulator, "email")] == [429]
    assert (await inbox(http, emulator))["email"] == []


async def test_email_always_503(email_client: EmailClient) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await email_client.begin_send(email_message("always503@faults.example.com"), retry_total=0)
    assert caught.value.status_code == 503


async def test_email_slow(email_client: EmailClient) -> None:
    started = time.monotonic()
    poller = await email_client.begin_send(email_message("slow@faults.example.com"), polling_interval=0.05)
    assert (await poller.result())["status"] == "Succeeded"
    assert time.monotonic() - started >= SLOW_SECONDS


async def test_email_hang(email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    with pytest.raises(ServiceResponseError):
        await email_client.begin_send(email_message("hang@faults.example.com"), read_timeout=SHORT_TIMEOUT)
    await wait_until_released(emulator)
    assert [s["status"] for s in await logged(http, emulator, "email")] == [None]
    assert (await inbox(http, emulator))["email"] == []


async def test_email_operation_failed(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    operation_id = str(uuid.uuid4())
    poller = await email_client.begin_send(
        email_message("opfailed@faults.example.com"), operation_id=operation_id, polling_interval=0.05
    )
    with pytest.raises(HttpResponseError):
        await poller.result()
    assert poller.status() == "Failed"
    [email] = (await inbox(http, emulator))["email"]
    assert email["status"] == "Failed"
    status = await email_client.send_request(
        HttpRequest("GET", f"{emulator.base_url}/emails/operations/{operation_id}?api-version=2025-09-01")
    )
    await status.read()
    assert status.json()["error"]["code"] == "EmailDropped"
    assert "Retry-After" not in status.headers  # terminal status


async def test_email_accept_then_hang(
    email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    operation_id = str(uuid.uuid4())
    message = email_message("accepthang@faults.example.com")
    with pytest.raises(ServiceResponseError):
        await email_client.begin_send(message, operation_id=operation_id, read_timeout=SHORT_TIMEOUT)
    assert len((await inbox(http, emulator))["email"]) == 1
    poller = await email_client.begin_send(message, operation_id=operation_id, polling_interval=0.05)
    assert (await poller.result())["status"] == "Succeeded"
    assert len((await inbox(http, emulator))["email"]) == 1
    await wait_until_released(emulator)


# --------------------------------------------------------------------------- admin API and CLI


async def test_inbox_filter_and_clear(
    sms_client: SmsClient, email_client: EmailClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    await sms_client.send(FROM, [NORMAL, "+4798765432"], "x")
    await (await email_client.begin_send(email_message("d@example.com"), polling_interval=0.05)).result()
    assert [m["to"] for m in (await inbox(http, emulator, to=NORMAL))["sms"]] == [NORMAL]
    assert (await inbox(http, emulator, to=NORMAL))["email"] == []
    assert len((await inbox(http, emulator))["sms"]) == 2
    async with http.delete(f"{emulator.base_url}/_emulator/inbox") as resp:
        assert resp.status == 200
    assert await inbox(http, emulator) == {"sms": [], "email": []}
    async with http.get(f"{emulator.base_url}/_emulator/requests") as resp:
        assert await resp.json() == []
    async with http.get(f"{emulator.base_url}/_emulator/health") as resp:
        assert resp.status == 200


async def test_stop_releases_hanging_requests() -> None:
    running = await start_emulator(ACCESS_KEY)
    async with SmsClient(running.base_url, AzureKeyCredential(ACCESS_KEY), retry_total=0, read_timeout=5) as client:
        pending = asyncio.ensure_future(client.send(FROM, "+4790000005", "x"))
        for _ in range(200):  # until the emulator holds the request open
            if running.state.pending:
                break
            await asyncio.sleep(0.01)
        assert running.state.pending == 1
        started = time.monotonic()
        await running.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(ServiceRequestError, match="disconnected"):
            await pending


async def test_cli_prints_url_and_stops_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox.acs_emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--access-key",
        ACCESS_KEY,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=10)).decode()
        prefix = "ACS emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix)
        base_url = line.strip().removeprefix("ACS emulator listening on ")
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/_emulator/health") as resp:
            assert resp.status == 200
        process.send_signal(signal.SIGTERM)
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout=10)
        assert process.returncode == 0
        assert stdout == b""  # exactly one line was printed
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
