"""The emulator's SMS API against recorded ACS exchanges (see recorded.py for the sources)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError

from sandbox.acs_emulator import RunningEmulator, start_emulator
from tests.emulator import recorded
from tests.emulator.helpers import ACCESS_KEY, CLIENT_OPTIONS, FROM, NORMAL, rfc1123, send_raw_sms, sms_body

SLOW = "+4790000004"


@pytest.fixture
async def request_mode() -> AsyncIterator[tuple[RunningEmulator, SmsClient]]:
    """An emulator that answers refused SMS repeats with the whole request's status."""
    running = await start_emulator(ACCESS_KEY, timing="fast", sms_senders=[FROM], sms_repeat_refusal="request")
    async with SmsClient(running.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield running, client
    await running.stop()


def aged(seconds: float) -> str:
    """An RFC 1123 first-sent time this many seconds ago."""
    return rfc1123(datetime.now(UTC) - timedelta(seconds=seconds))


@pytest.mark.parametrize("case", [recorded.SMS_UNAUTHORIZED_FROM, recorded.SMS_FAKE_FROM])
async def test_sender_not_owned_gets_the_recorded_401(
    sms_client: SmsClient, emulator: RunningEmulator, case: dict[str, object]
) -> None:
    response = await send_raw_sms(sms_client, {**sms_body(NORMAL), "from": case["from"]})
    assert response.status_code == case["status"]
    assert response.json() == case["body"]
    assert emulator.state.sms_inbox == []
    with pytest.raises(ClientAuthenticationError):  # how the SDK surfaces it
        await sms_client.send(str(case["from"]), NORMAL, "x")


async def test_default_senders_are_the_stacks() -> None:
    running = await start_emulator(ACCESS_KEY, timing="fast")
    try:
        async with SmsClient(running.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
            [result] = await client.send("Instant", NORMAL, "x")
            assert result.successful
            with pytest.raises(ClientAuthenticationError):
                await client.send(FROM, NORMAL, "x")
    finally:
        await running.stop()


async def test_malformed_to_gets_the_recorded_item(sms_client: SmsClient, emulator: RunningEmulator) -> None:
    case = recorded.SMS_FAKE_TO
    response = await send_raw_sms(sms_client, sms_body(str(case["to"]), request_id=str(uuid.uuid4())))
    assert response.status_code == case["status"]
    [item] = response.json()["value"]
    assert item == {"to": case["to"], **case["item"]}  # no messageId, no repeatabilityResult


async def test_success_item_and_message_id_format(sms_client: SmsClient) -> None:
    response = await send_raw_sms(sms_client, sms_body(NORMAL, request_id=str(uuid.uuid4())))
    [item] = response.json()["value"]
    assert set(item) == recorded.SMS_SUCCESS_ITEM_KEYS
    assert recorded.SMS_MESSAGE_ID.match(item["messageId"]), item["messageId"]


async def test_whole_request_400_is_problem_details(sms_client: SmsClient) -> None:
    recipients = [{"to": f"+479{n:07d}"} for n in range(101)]
    response = await send_raw_sms(sms_client, {**sms_body(NORMAL), "smsRecipients": recipients})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == recorded.SMS_PROBLEM_KEYS
    assert body["errors"] == recorded.SMS_TOO_MANY_RECIPIENTS


async def test_window_is_five_minutes(sms_client: SmsClient, emulator: RunningEmulator) -> None:
    window = recorded.REPEATABILITY_WINDOW_SECONDS
    inside = await send_raw_sms(sms_client, sms_body(NORMAL, str(uuid.uuid4()), aged(window - 30)))
    assert inside.json()["value"][0]["successful"] is True
    outside = await send_raw_sms(sms_client, sms_body(NORMAL, str(uuid.uuid4()), aged(window + 30)))
    [item] = outside.json()["value"]
    assert (item["httpStatusCode"], item["repeatabilityResult"]) == (412, "rejected")
    assert item["errorMessage"] == recorded.REPEATABILITY_412_MESSAGE
    assert len(emulator.state.sms_inbox) == 1


async def test_window_refusal_as_a_whole_request_412(request_mode: tuple[RunningEmulator, SmsClient]) -> None:
    emulator, client = request_mode
    response = await send_raw_sms(client, sms_body(NORMAL, str(uuid.uuid4()), aged(600)))
    assert response.status_code == 412
    assert response.json()["error"]["message"] == recorded.REPEATABILITY_412_MESSAGE
    assert emulator.state.sms_inbox == []


async def test_repeat_while_first_in_progress_is_409(sms_client: SmsClient, emulator: RunningEmulator) -> None:
    body = sms_body(SLOW, request_id=str(uuid.uuid4()))
    first = asyncio.ensure_future(send_raw_sms(sms_client, body))
    await asyncio.sleep(0.1)  # the first is held for slow_seconds
    [item] = (await send_raw_sms(sms_client, body)).json()["value"]
    assert (item["httpStatusCode"], item["successful"]) == (recorded.REPEAT_IN_PROGRESS_STATUS, False)
    assert (await first).json()["value"][0]["successful"] is True
    [again] = (await send_raw_sms(sms_client, body)).json()["value"]
    assert again["successful"] is True  # answered: the original item now
    assert len(emulator.state.sms_inbox) == 1


async def test_in_progress_as_a_whole_request_409(request_mode: tuple[RunningEmulator, SmsClient]) -> None:
    emulator, client = request_mode
    body = sms_body(SLOW, request_id=str(uuid.uuid4()))
    first = asyncio.ensure_future(send_raw_sms(client, body))
    await asyncio.sleep(0.1)
    assert (await send_raw_sms(client, body, retry_total=0)).status_code == 409
    assert (await first).status_code == 202
    assert len(emulator.state.sms_inbox) == 1


async def test_repeatability_id_must_be_a_guid(sms_client: SmsClient, emulator: RunningEmulator) -> None:
    [item] = (await send_raw_sms(sms_client, sms_body(NORMAL, request_id="not-a-guid"))).json()["value"]
    assert (item["httpStatusCode"], item["repeatabilityResult"]) == (400, "rejected")
    assert emulator.state.sms_inbox == []
