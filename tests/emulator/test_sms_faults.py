"""The magic SMS recipients through the real SDK (scripted faults)."""

from __future__ import annotations

import time
import uuid

import aiohttp
import pytest
from azure.communication.sms.aio import SmsClient
from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from sandbox.acs_emulator import RunningEmulator
from tests.emulator.helpers import (
    FROM,
    NORMAL,
    SHORT_TIMEOUT,
    SLOW_SECONDS,
    inbox,
    logged,
    send_raw_sms,
    sms_body,
    wait_until_released,
)

# --------------------------------------------------------------------------- SMS magic recipients


async def test_refused_recipient(sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator) -> None:
    [result] = await sms_client.send(FROM, "+4790000001", "x")
    assert not result.successful
    assert result.http_status_code == 400
    assert result.error_message == "Invalid To phone number format."
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


async def test_an_outage_refuses_every_send_unprocessed_until_it_ends(
    sms_client: SmsClient, http: aiohttp.ClientSession, emulator: RunningEmulator
) -> None:
    config_url = f"{emulator.base_url}/_emulator/config"
    async with http.post(config_url, json={"outage": True}) as resp:
        assert (resp.status, (await resp.json())["outage"]) == (200, True)
    with pytest.raises(HttpResponseError) as raised:
        await sms_client.send(FROM, NORMAL, "x")
    assert raised.value.status_code == 503
    assert (await inbox(http, emulator))["sms"] == []
    async with http.post(config_url, json={"outage": False}) as resp:
        assert resp.status == 200
    await sms_client.send(FROM, NORMAL, "x")
    assert len((await inbox(http, emulator))["sms"]) == 1
    async with http.post(config_url, json={"outage": "yes"}) as resp:
        assert resp.status == 400
