"""Optional delivery reports: Event Grid events POSTed to a webhook after the configured delay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from azure.communication.email.aio import EmailClient
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential

from sandbox.acs_emulator import RunningEmulator, start_emulator
from tests.emulator import recorded
from tests.emulator.helpers import ACCESS_KEY, CLIENT_OPTIONS, EMAIL_FROM, FROM, email_message, send_raw_sms, sms_body

Received = list[tuple[dict[str, str], list[dict[str, Any]]]]


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[str, Received]]:
    """A local receiver recording (headers, event array) per POST."""
    received: Received = []

    async def receive(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/events", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/events", received
    await runner.cleanup()


@pytest.fixture
async def reporting(webhook: tuple[str, Received]) -> AsyncIterator[RunningEmulator]:
    """An emulator that reports to the webhook 0.05 s after each send."""
    running = await start_emulator(
        ACCESS_KEY,
        timing="fast",
        sms_senders=[FROM],
        email_senders=[EMAIL_FROM],
        webhook_url=webhook[0],
        webhook_delay_seconds=0.05,
    )
    yield running
    await running.stop()


async def wait_for(received: Received, count: int) -> None:
    """Until count POSTs arrived (bounded)."""
    for _ in range(100):
        if len(received) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} webhook posts, got {len(received)}")


@pytest.mark.parametrize(("to", "status"), [("+4791234567", "Delivered"), ("+4790000011", "Failed")])
async def test_sms_delivery_report(
    reporting: RunningEmulator, webhook: tuple[str, Received], to: str, status: str
) -> None:
    async with SmsClient(reporting.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        body = sms_body(to, request_id=str(uuid.uuid4()))
        body["smsSendOptions"]["enableDeliveryReport"] = True
        [item] = (await send_raw_sms(client, body)).json()["value"]
    await wait_for(webhook[1], 1)
    headers, [event] = webhook[1][0]
    assert headers["aeg-event-type"] == "Notification"
    assert set(event) == recorded.EVENT_KEYS
    assert event["eventType"] == recorded.SMS_REPORT_EVENT
    assert (event["data"]["MessageId"], event["data"]["DeliveryStatus"]) == (item["messageId"], status)


async def test_no_sms_report_without_enable_delivery_report(
    reporting: RunningEmulator, webhook: tuple[str, Received]
) -> None:
    async with SmsClient(reporting.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        await send_raw_sms(client, sms_body("+4791234567"))
    await asyncio.sleep(0.2)
    assert webhook[1] == []


@pytest.mark.parametrize(
    ("to", "status"),
    [
        ("g@example.com", "Delivered"),
        ("bounced@faults.example.com", "Bounced"),
        ("filteredspam@faults.example.com", "FilteredSpam"),
        ("quarantined@faults.example.com", "Quarantined"),
    ],
)
async def test_email_delivery_report(
    reporting: RunningEmulator, webhook: tuple[str, Received], to: str, status: str
) -> None:
    async with EmailClient(reporting.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        operation_id = str(uuid.uuid4())
        await client.begin_send(email_message(to), operation_id=operation_id)
    await wait_for(webhook[1], 1)
    _, [event] = webhook[1][0]
    assert event["eventType"] == recorded.EMAIL_REPORT_EVENT
    assert (event["data"]["messageId"], event["data"]["status"], event["data"]["recipient"]) == (
        operation_id,
        status,
        to,
    )
