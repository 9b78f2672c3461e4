"""The emulator's email API against recorded ACS exchanges (see recorded.py for the sources)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.communication.email.aio import EmailClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.core.rest import AsyncHttpResponse, HttpRequest

from sandbox.acs_emulator import RunningEmulator, start_emulator
from tests.emulator import recorded
from tests.emulator.helpers import ACCESS_KEY, CLIENT_OPTIONS, EMAIL_FROM, email_message, rfc1123

API = "2025-09-01"


async def raw(client: EmailClient, method: str, url: str, **kwargs: Any) -> AsyncHttpResponse:
    """A request through the Email SDK's own pipeline (so signed by it)."""
    response = await client.send_request(HttpRequest(method, url, **kwargs))
    await response.read()
    return response


async def send(client: EmailClient, base_url: str, to: str, **headers: str) -> AsyncHttpResponse:
    """POST /emails:send with these headers."""
    url = f"{base_url}/emails:send?api-version={API}"
    return await raw(client, "POST", url, json=email_message(to), headers=headers)


async def poll(client: EmailClient, base_url: str, operation_id: str) -> AsyncHttpResponse:
    """GET /emails/operations/{id}."""
    return await raw(client, "GET", f"{base_url}/emails/operations/{operation_id}?api-version={API}")


@pytest.fixture
async def realistic() -> AsyncIterator[tuple[RunningEmulator, EmailClient]]:
    """An emulator with the default (recorded) timing, owning the test sender."""
    running = await start_emulator(ACCESS_KEY, email_senders=[EMAIL_FROM])
    async with EmailClient(running.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield running, client
    await running.stop()


async def test_default_timing_is_the_recorded_one(realistic: tuple[RunningEmulator, EmailClient]) -> None:
    emulator, client = realistic
    operation_id = str(uuid.uuid4())
    accepted = await send(client, emulator.base_url, "a@example.com", **{"Operation-Id": operation_id})
    assert accepted.status_code == recorded.EMAIL_SEND_202["status"]
    assert accepted.headers["Retry-After"] == recorded.EMAIL_SEND_202["headers"]["Retry-After"]
    assert accepted.json() == {**recorded.EMAIL_SEND_202["body"], "id": operation_id}
    polled = await poll(client, emulator.base_url, operation_id)
    assert polled.headers["Retry-After"] == recorded.EMAIL_POLL_RUNNING["headers"]["Retry-After"]
    assert polled.json()["status"] == recorded.EMAIL_POLL_RUNNING["body_status"]
    low, high = recorded.EMAIL_RUNNING_SECONDS_RANGE
    assert low <= emulator.state.email_operations[operation_id].running_seconds <= high


def test_running_time_is_drawn_per_operation_within_the_recorded_range() -> None:
    from sandbox.acs_emulator import REALISTIC

    low, high = recorded.EMAIL_RUNNING_SECONDS_RANGE
    drawn = [REALISTIC.running_seconds(str(uuid.uuid4())) for _ in range(200)]
    assert all(low <= d <= high for d in drawn)
    assert max(drawn) - min(drawn) > 3  # spread over the range, not one value
    same = str(uuid.uuid4())
    assert REALISTIC.running_seconds(same) == REALISTIC.running_seconds(same.upper())  # deterministic


async def test_terminal_answers_carry_no_retry_after(email_client: EmailClient, emulator: RunningEmulator) -> None:
    operation_id = str(uuid.uuid4())
    await send(email_client, emulator.base_url, "b@example.com", **{"Operation-Id": operation_id})
    await asyncio.sleep(0.3)  # the fast preset runs 0.2 s
    polled = await poll(email_client, emulator.base_url, operation_id)
    assert polled.json() == {**recorded.EMAIL_POLL_TERMINAL["body"], "id": operation_id}
    assert "Retry-After" not in polled.headers
    repeat = await send(email_client, emulator.base_url, "b@example.com", **{"Operation-Id": operation_id})
    assert repeat.status_code == 202 and "Retry-After" not in repeat.headers


@pytest.mark.parametrize(
    ("local", "status", "error"),
    [
        ("opfailed", "Failed", recorded.EMAIL_DROPPED),
        ("suppressed", "Failed", {"code": recorded.EMAIL_SUPPRESSED_CODE}),
        ("canceled", "Canceled", None),
    ],
)
async def test_terminal_statuses_and_failure_codes(
    email_client: EmailClient, emulator: RunningEmulator, local: str, status: str, error: dict[str, str] | None
) -> None:
    operation_id = str(uuid.uuid4())
    await send(email_client, emulator.base_url, f"{local}@faults.example.com", **{"Operation-Id": operation_id})
    await asyncio.sleep(0.3)
    body = (await poll(email_client, emulator.base_url, operation_id)).json()
    assert body["status"] == status and status in recorded.EMAIL_STATUSES
    if error is None:
        assert body["error"] is None
    else:
        assert {k: body["error"][k] for k in error} == error


async def test_canceled_ends_the_sdk_poller_as_a_failure(email_client: EmailClient) -> None:
    poller = await email_client.begin_send(email_message("canceled@faults.example.com"), polling_interval=0.05)
    with pytest.raises(HttpResponseError):
        await poller.result()
    assert poller.status() == "Canceled"


async def test_not_started_comes_before_running(email_client: EmailClient, emulator: RunningEmulator) -> None:
    operation_id = str(uuid.uuid4())
    accepted = await send(
        email_client, emulator.base_url, "notstarted@faults.example.com", **{"Operation-Id": operation_id}
    )
    assert accepted.json()["status"] == "NotStarted"
    assert "Retry-After" in accepted.headers  # not terminal
    await asyncio.sleep(0.12)
    assert (await poll(email_client, emulator.base_url, operation_id)).json()["status"] == "Running"
    await asyncio.sleep(0.15)
    assert (await poll(email_client, emulator.base_url, operation_id)).json()["status"] == "Succeeded"


async def test_operation_id_must_be_a_uuid(email_client: EmailClient, emulator: RunningEmulator) -> None:
    refused = await send(email_client, emulator.base_url, "c@example.com", **{"Operation-Id": "not-a-uuid"})
    assert refused.status_code == 400
    assert emulator.state.email_inbox == []


async def test_repeat_while_the_first_is_in_progress_is_409(
    email_client: EmailClient, emulator: RunningEmulator
) -> None:
    operation_id = {"Operation-Id": str(uuid.uuid4())}
    first = asyncio.ensure_future(send(email_client, emulator.base_url, "slow@faults.example.com", **operation_id))
    await asyncio.sleep(0.1)  # the first is held for slow_seconds
    repeat = await send(email_client, emulator.base_url, "slow@faults.example.com", **operation_id)
    assert repeat.status_code == recorded.REPEAT_IN_PROGRESS_STATUS
    assert (await first).status_code == 202
    again = await send(email_client, emulator.base_url, "slow@faults.example.com", **operation_id)
    assert again.status_code == 202  # answered: a repeat now gets the operation
    assert len(emulator.state.email_inbox) == 1


async def test_repeatability_headers_outside_the_window_are_412(
    email_client: EmailClient, emulator: RunningEmulator
) -> None:
    old = rfc1123(datetime.now(UTC) - timedelta(seconds=recorded.REPEATABILITY_WINDOW_SECONDS + 60))
    headers = {"Repeatability-Request-Id": str(uuid.uuid4()), "Repeatability-First-Sent": old}
    refused = await send(email_client, emulator.base_url, "d@example.com", **headers)
    assert refused.status_code == 412
    assert refused.json()["error"]["message"] == recorded.REPEATABILITY_412_MESSAGE
    fresh = {**headers, "Repeatability-First-Sent": rfc1123(datetime.now(UTC) - timedelta(minutes=4))}
    first = await send(email_client, emulator.base_url, "d@example.com", **fresh)
    second = await send(email_client, emulator.base_url, "d@example.com", **fresh)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert len(emulator.state.email_inbox) == 1


async def test_sender_not_owned_is_refused(email_client: EmailClient, emulator: RunningEmulator) -> None:
    message = {**email_message("e@example.com"), "senderAddress": "noreply@not-linked.example.org"}
    refused = await raw(email_client, "POST", f"{emulator.base_url}/emails:send?api-version={API}", json=message)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "DomainNotLinked"
    assert emulator.state.email_inbox == []
