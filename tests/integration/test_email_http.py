"""Instant email over real HTTP: local host -> service -> Azurite + ACS emulator, real SDKs."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest

from sandbox.stack import LocalStack
from tests.support.integration import Api, email_payload, new_email, new_key, new_phone, sms_payload

pytestmark = pytest.mark.integration
FAULTS = "faults.example.com"


async def test_send_then_one_email_in_the_inbox(api: Api) -> None:
    address, key = new_email(), new_key()
    reply = await api.post("email", email_payload(key, address, content_type="html"))
    assert reply.status == 201, reply.body
    assert reply.json()["notification"]["status"] in ("Email_Succeeded", "Email_Sending")
    (message,) = (await api.inbox(address))["email"]
    assert message["subject"] == "Your code"
    assert message["sender"] == "noreply@instant.example.com"
    assert message["contentType"] == "Html"


async def test_replay_and_changed_payload(api: Api) -> None:
    address, key = new_email(), new_key()
    first = await api.post("email", email_payload(key, address))
    again = await api.post("email", email_payload(key, address))
    changed = await api.post("email", email_payload(key, address, subject="Other"))
    assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (200, first.body, "true")
    assert (changed.status, changed.json()["fields"]) == (422, ["recipientEmail.emailSettings.subject"])
    assert len((await api.inbox(address))["email"]) == 1


async def test_same_id_for_sms_and_email_sends_both(api: Api) -> None:
    key, address, phone = new_key(), new_email(), new_phone()
    sms = await api.post("sms", sms_payload(key, phone))
    email = await api.post("email", email_payload(key, address))
    assert (sms.status, email.status) == (201, 201)
    assert sms.json()["notification"]["shipmentId"] != email.json()["notification"]["shipmentId"]
    assert len((await api.inbox(phone))["sms"]) == 1
    assert len((await api.inbox(address))["email"]) == 1


async def test_twenty_concurrent_requests_send_one_email(api: Api) -> None:
    address, key = new_email(), new_key()
    replies = await asyncio.gather(*(api.post("email", email_payload(key, address)) for _ in range(20)))
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses[201] == 1
    assert len((await api.inbox(address))["email"]) == 1


@pytest.mark.parametrize("local_part", ["503twice", "429once"])
async def test_transient_failures_are_retried_and_send_once(api: Api, local_part: str) -> None:
    address = f"{local_part}@{FAULTS}"
    before = len((await api.inbox(address))["email"])
    reply = await api.post("email", email_payload(new_key(), address))
    assert reply.status == 201, reply.body
    assert len((await api.inbox(address))["email"]) == before + 1


async def test_operation_that_ends_failed_is_answered_sending_then_read_as_failed(api: Api) -> None:
    # ACS takes the operation (202) and fails it seconds later (EmailDropped), as recorded ACS
    # does: the POST answers at once, and GET shipment reads the end from ACS.
    key, address = new_key(), f"opfailed@{FAULTS}"
    first = await api.post("email", email_payload(key, address))
    again = await api.post("email", email_payload(key, address))
    assert (first.status, first.json()["notification"]["status"]) == (201, "Email_Sending"), first.body
    assert (again.status, again.body) == (200, first.body)
    path = f"/future/shipment/{first.json()['notification']['shipmentId']}"
    shipment = await api.wait_for_recipient_status(path, "Email_Failed")
    assert (shipment["status"], shipment["recipients"][0]["status"]) == ("Order_Completed", "Email_Failed")


async def test_definitive_refusal(api: Api) -> None:
    reply = await api.post("email", email_payload(new_key(), f"reject@{FAULTS}"))
    assert (reply.status, reply.json()["code"]) == (422, "recipient_rejected")


async def test_crash_after_acs_accepted_then_retry_asks_before_posting(api: Api, stack: LocalStack) -> None:
    # given: accepthang makes the emulator take the email and never answer
    key, address = new_key(), f"accepthang@{FAULTS}"
    await api.post("email", email_payload(new_key(), new_email()))  # warm the worker
    before = len((await api.inbox(address))["email"])
    in_flight = asyncio.create_task(api.post("email", email_payload(key, address)))
    for _ in range(100):
        if len((await api.inbox(address))["email"]) > before:
            break
        await asyncio.sleep(0.05)
    # when the worker dies after ACS accepted
    await stack.kill_app()
    with pytest.raises(aiohttp.ClientError):
        await in_flight
    await stack.restart_app()
    requests_before = len(await api.provider_requests())
    reply = await api.post("email", email_payload(key, address))
    while reply.status == 409:
        await asyncio.sleep(0.5)
        reply = await api.post("email", email_payload(key, address))
    # then the retry found the operation with a GET and did not post again
    assert reply.status == 201, reply.body
    later = (await api.provider_requests())[requests_before:]
    assert next(r["method"] for r in later if "operation" in r["path"] or r["path"].startswith("/emails")) == "GET"
    assert not any(r["method"] == "POST" and address in r["to"] for r in later)
    assert len((await api.inbox(address))["email"]) == before + 1
