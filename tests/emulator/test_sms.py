"""SMS through the real SDK: delivery, validation and repeatability."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from azure.communication.sms.aio import SmsClient

from sandbox.acs_emulator import RunningEmulator
from tests.emulator.helpers import (
    FROM,
    NORMAL,
    inbox,
    logged,
    rfc1123,
    send_raw_sms,
    sms_body,
)

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
    answer = response.json()
    if api_version == "2099-01-01":
        assert answer["error"]["code"] == "UnsupportedApiVersion"
    else:  # a body ACS refuses as a whole: ASP.NET validation ProblemDetails
        assert (answer["status"], answer["title"]) == (400, "One or more validation errors occurred.")
        assert answer["errors"] and answer["traceId"]
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
    old = rfc1123(datetime.now(UTC) - timedelta(minutes=6))  # the window is 5 minutes
    response = await send_raw_sms(sms_client, sms_body(NORMAL, request_id=str(uuid.uuid4()), first_sent=old))
    assert response.status_code == 202
    [item] = response.json()["value"]
    assert item["successful"] is False
    assert item["httpStatusCode"] == 412
    assert item["repeatabilityResult"] == "rejected"
    assert item["errorMessage"] == "Repeatability first sent header was not in 5 minutes window."
    assert (await inbox(http, emulator))["sms"] == []
