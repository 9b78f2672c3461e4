"""Email through the real SDK: the long-running operation and the magic recipients."""

from __future__ import annotations

import time
import uuid
from typing import Any, cast

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from azure.core.exceptions import (
    HttpResponseError,
    ServiceResponseError,
)
from azure.core.rest import HttpRequest

from sandbox.acs_emulator import RunningEmulator
from tests.emulator.helpers import (
    SHORT_TIMEOUT,
    SLOW_SECONDS,
    email_message,
    inbox,
    logged,
    wait_until_released,
)

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
    assert result == {"id": operation_id, "status": "Succeeded", "error": None}
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
    assert "Operation-Id" not in response.headers  # the recorded 202 carries none
    assert response.headers["Retry-After"] == "0"
    assert response.json() == {"id": operation_id, "status": "Running", "error": None}


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
    assert "Retry-After" not in cast(Any, caught.value.response).headers
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
