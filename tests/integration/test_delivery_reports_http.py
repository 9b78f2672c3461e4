"""Delivery reports end to end: the emulator POSTs Event Grid events to the local host's webhook
(as Core Tools takes them), the delivery_report function writes them, GET shipment shows them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from instant.storage.order_store import PeriodOrderStore
from sandbox.delivery_events import NOTIFICATION, sms_report_event
from sandbox.services import AzuriteProcess
from sandbox.stack import LocalStack
from tests.support.integration import (
    EMULATOR_ARGS,
    Api,
    base_environment,
    email_payload,
    new_email,
    new_key,
    new_phone,
    sms_payload,
)
from tests.support.stores import period_store

pytestmark = pytest.mark.integration
TABLE = "reportorders"


@pytest.fixture(scope="module")
async def report_stack(azurite: AzuriteProcess, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    env = base_environment(TABLES_CONNECTION_STRING=azurite.connection_string, INSTANT_TABLE_NAME=TABLE)
    workdir = tmp_path_factory.mktemp("report-stack")
    stack = LocalStack(workdir, port=0, env=env, emulator_args=EMULATOR_ARGS, delivery_reports=True, report_delay=0.2)
    async with stack:
        yield stack


@pytest.fixture
async def reports_api(report_stack: LocalStack) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield Api(session, report_stack)


@pytest.fixture
async def table(azurite: AzuriteProcess) -> AsyncIterator[PeriodOrderStore]:
    store = period_store(azurite.connection_string, TABLE)
    yield store
    await store.close()


async def _send(api: Api, channel: str, payload: dict[str, Any]) -> str:
    reply = await api.post(channel, payload)
    assert reply.status == 201, reply.body
    return f"/future/shipment/{reply.json()['notification']['shipmentId']}"


@pytest.mark.parametrize(
    ("phone", "final"),
    [(None, "SMS_Delivered"), ("+4790000011", "SMS_Failed"), ("+4790000012", "SMS_Failed_Expired")],
)
async def test_an_sms_goes_from_accepted_to_its_report(
    reports_api: Api, table: PeriodOrderStore, phone: str | None, final: str
) -> None:
    path = await _send(reports_api, "sms", sms_payload(new_key(), phone or new_phone()))
    shipment = await reports_api.wait_for_recipient_status(path, final, timeout=10)
    assert (shipment["status"], shipment["recipients"][0]["status"]) == ("Order_Completed", final)
    entries = await table.audit_entries(path.rsplit("/", 1)[1])
    assert [(e.outcome, e.status) for e in entries] == [("created", "SMS_Accepted"), ("delivery_report", final)]
    assert entries[1].event_id and entries[1].provider_status


@pytest.mark.parametrize(
    ("address", "final"),
    [
        (None, "Email_Delivered"),
        ("bounced@faults.example.com", "Email_Failed_Bounced"),
        ("reportsuppressed@faults.example.com", "Email_Failed_SuppressedRecipient"),
        ("reportfailed@faults.example.com", "Email_Failed"),
        ("filteredspam@faults.example.com", "Email_Failed_FilteredSpam"),
        ("quarantined@faults.example.com", "Email_Failed_Quarantined"),
    ],
)
async def test_an_email_goes_to_its_report(reports_api: Api, address: str | None, final: str) -> None:
    path = await _send(reports_api, "email", email_payload(new_key(), address or new_email()))
    shipment = await reports_api.wait_for_recipient_status(path, final, timeout=20)
    assert (shipment["status"], shipment["recipients"][0]["status"]) == ("Order_Completed", final)


async def test_a_redelivered_contradicting_report_is_audited_once(
    reports_api: Api, report_stack: LocalStack, table: PeriodOrderStore
) -> None:
    phone = new_phone()
    path = await _send(reports_api, "sms", sms_payload(new_key(), phone))
    await reports_api.wait_for_recipient_status(path, "SMS_Delivered", timeout=10)
    shipment_id = path.rsplit("/", 1)[1]
    record = await table.get(shipment_id)
    assert record is not None and record.provider_id
    event = sms_report_event(shipment_id, record.provider_id, phone, "failed", event_time="2026-11-26T10:00:09.1Z")
    for _ in range(2):
        async with reports_api.session.post(report_stack.webhook_url, json=[event], headers=NOTIFICATION) as response:
            assert response.status == 202
    assert (await reports_api.get(path)).json()["recipients"][0]["status"] == "SMS_Delivered"
    entries = [e for e in await table.audit_entries(shipment_id) if e.outcome == "delivery_report"]
    assert [(e.status, e.provider_status) for e in entries] == [
        ("SMS_Delivered", "Delivered"),
        ("SMS_Delivered", "failed"),
    ]


async def test_the_webhook_refuses_unknown_functions_and_malformed_arrays(
    reports_api: Api, report_stack: LocalStack
) -> None:
    base = report_stack.webhook_url.split("?")[0]
    headers = {"aeg-event-type": "Notification"}
    async with reports_api.session.post(f"{base}?functionName=nope", json=[], headers=headers) as response:
        assert response.status == 404
    async with reports_api.session.post(report_stack.webhook_url, data=b"{", headers=headers) as response:
        assert response.status == 400
    unreadable = [{"id": "x", "subject": "s", "eventType": "Other.Event", "data": {}, "dataVersion": "1"}]
    async with reports_api.session.post(report_stack.webhook_url, json=unreadable, headers=headers) as response:
        assert response.status == 202  # read and dropped: never delivered again
