"""Instant SMS over real HTTP: local host -> service -> Azurite + ACS emulator, real SDKs."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest

from sandbox.stack import LocalStack
from tests.support.integration import BUDGET_SECONDS, Api, new_key, new_phone, sms_payload

pytestmark = pytest.mark.integration


async def test_send_then_exactly_one_message_in_the_inbox(api: Api) -> None:
    phone, key = new_phone(), new_key()
    reply = await api.post("sms", sms_payload(key, phone))
    assert reply.status == 201, reply.body
    created = reply.json()
    assert created["notification"]["status"] == "SMS_Accepted"
    assert reply.headers["Location"].endswith(f"/future/shipment/{created['notification']['shipmentId']}")
    (message,) = (await api.inbox(phone))["sms"]
    assert message["message"] == "Your code is 123456."
    assert message["from"] == "Instant"
    assert message["apiVersion"] == "2024-02-05"
    # the Location link works
    shipment = await api.get(reply.headers["Location"].removeprefix("/notifications/api/v1"))
    assert shipment.status == 200
    assert shipment.json()["recipients"][0] == {
        "type": "SMS",
        "destination": phone,
        "status": "SMS_Accepted",
        "lastUpdate": shipment.json()["lastUpdate"],
    }


async def test_replay_is_byte_identical_and_sends_nothing(api: Api) -> None:
    phone, key = new_phone(), new_key()
    first = await api.post("sms", sms_payload(key, phone))
    again = await api.post("sms", sms_payload(key, phone))
    assert first.status == 201
    assert again.status == 200
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len((await api.inbox(phone))["sms"]) == 1


async def test_changed_payload_is_refused(api: Api) -> None:
    phone, key = new_phone(), new_key()
    await api.post("sms", sms_payload(key, phone))
    reply = await api.post("sms", sms_payload(key, phone, body="Another code: 654321"))
    assert reply.status == 422
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply.json()["code"] == "idempotency_key_reused"
    assert reply.json()["fields"] == ["recipientSms.smsSettings.body"]
    assert len((await api.inbox(phone))["sms"]) == 1


async def test_twenty_concurrent_requests_with_one_new_key_send_one_message(api: Api) -> None:
    phone, key = new_phone(), new_key()
    replies = await asyncio.gather(*(api.post("sms", sms_payload(key, phone)) for _ in range(20)))
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {200, 201, 409}, statuses
    assert statuses[201] == 1
    created = next(r for r in replies if r.status == 201)
    assert all(r.body == created.body for r in replies if r.status == 200)
    assert all(r.headers.get("Retry-After") == "1" for r in replies if r.status == 409)
    assert len((await api.inbox(phone))["sms"]) == 1


@pytest.mark.parametrize(("recipient", "expected_requests"), [("+4790000002", 3), ("+4790000003", 2)])
async def test_503_and_429_are_retried_with_the_same_repeatability_id(
    api: Api, recipient: str, expected_requests: int
) -> None:
    key = new_key()
    before = len(await api.provider_requests())
    reply = await api.post("sms", sms_payload(key, recipient))
    assert reply.status == 201, reply.body
    requests = [r for r in (await api.provider_requests())[before:] if recipient in r["to"]]
    assert len(requests) == expected_requests
    assert len({r["repeatabilityRequestId"] for r in requests}) == 1
    assert [r["status"] for r in requests][-1] == 202
    inbox = [
        m
        for m in (await api.inbox(recipient))["sms"]
        if m["repeatabilityRequestId"] == requests[0]["repeatabilityRequestId"]
    ]
    assert len(inbox) == 1


async def test_validity_period_on_the_wire_is_the_remaining_time_to_live(api: Api) -> None:
    phone = new_phone()
    await api.post("sms", sms_payload(new_key(), phone, ttl=300))
    (message,) = (await api.inbox(phone))["sms"]
    assert message["validityPeriodSeconds"] == 300  # ceil of 299.9x s remaining


async def test_definitive_refusal_is_422_stored_and_replayed(api: Api) -> None:
    key = new_key()
    first = await api.post("sms", sms_payload(key, "+4790000001"))
    again = await api.post("sms", sms_payload(key, "+4790000001"))
    assert (first.status, first.json()["code"]) == (422, "recipient_rejected")
    assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (422, first.body, "true")


async def test_provider_down_answers_503_inside_the_budget(api: Api) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await api.post("sms", sms_payload(new_key(), "+4790000006"))
    elapsed = loop.time() - started
    assert (reply.status, reply.json()["code"]) == (503, "provider_unavailable")
    assert "Retry-After" in reply.headers
    assert elapsed < BUDGET_SECONDS + 2


async def test_provider_that_never_answers_is_503_inside_the_budget(api: Api) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await api.post("sms", sms_payload(new_key(), "+4790000005"))
    assert (reply.status, reply.json()["code"]) == (503, "provider_unavailable")
    assert loop.time() - started < BUDGET_SECONDS + 2


async def test_crash_between_provider_and_state_update_still_one_message(api: Api, stack: LocalStack) -> None:
    # given: +4790000008 makes the emulator deliver and then never answer
    key, phone = new_key(), "+4790000008"
    await api.post("sms", sms_payload(new_key(), new_phone()))  # warm the worker
    in_flight = asyncio.create_task(api.post("sms", sms_payload(key, phone)))
    delivered = await api.wait_for_inbox(phone)
    repeatability_id = delivered[-1]["repeatabilityRequestId"]
    # when the worker is killed after ACS accepted, before it recorded the outcome
    await stack.kill_app()
    with pytest.raises(aiohttp.ClientError):
        await in_flight
    await stack.restart_app()
    # then a retry waits for the crashed holder's lease, then takes over
    statuses = []
    for _ in range(60):
        reply = await api.post("sms", sms_payload(key, phone))
        statuses.append(reply.status)
        if reply.status != 409:
            break
        await asyncio.sleep(0.5)
    assert statuses[0] == 409  # the lease of the dead worker is respected
    assert reply.status == 201, reply.body
    same = [m for m in (await api.inbox(phone))["sms"] if m["repeatabilityRequestId"] == repeatability_id]
    assert len(same) == 1
    assert reply.json()["notification"]["status"] == "SMS_Accepted"


async def test_callers_are_isolated(api: Api) -> None:
    phone, key = new_phone(), new_key()
    created = await api.post("sms", sms_payload(key, phone))
    path = f"/future/shipment/{created.json()['notification']['shipmentId']}"
    # no caller at all
    missing = await api.post("sms", sms_payload(new_key(), phone), caller=None)
    assert (missing.status, missing.json()["code"]) == (403, "caller_missing")
    # another caller cannot read it, and the same key under it is a separate order
    assert (await api.get(path, caller="someone-else")).status == 404
    theirs = await api.post("sms", sms_payload(key, phone, body="their own"), caller="someone-else")
    assert theirs.status == 201
    assert theirs.json()["notification"]["shipmentId"] != created.json()["notification"]["shipmentId"]
    assert (await api.get(path)).status == 200


async def test_the_default_controls_refuse_foreign_numbers_and_long_bodies_before_anything_is_stored(api: Api) -> None:
    # SMS_ALLOWED_COUNTRIES (default NO) and SMS_MAX_SEGMENTS (default 10), with the app's defaults.
    swedish, key = "+46701234567", new_key()
    foreign = await api.post("sms", sms_payload(key, swedish))
    assert (foreign.status, foreign.json()["code"]) == (400, "validation_failed")
    assert foreign.json()["errors"] == {
        "recipientSms.phoneNumber": ["is in a country this service does not send SMS to (SE)"]
    }
    phone = new_phone()
    long = await api.post("sms", sms_payload(key, phone, body="a" * 1531))  # 11 parts of 153
    assert long.json()["errors"] == {"recipientSms.smsSettings.body": ["needs 11 SMS segments (GSM-7); at most 10"]}
    # Nothing was stored under the key: the same key is a new order once the request is fixed.
    assert (await api.post("sms", sms_payload(key, phone))).status == 201
    assert len((await api.inbox(phone))["sms"]) == 1
    assert (await api.inbox(swedish))["sms"] == []
