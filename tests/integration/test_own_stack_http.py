"""Tests that need a stack of their own: a service that never waits for email to finish, and
an Azurite that is stopped under the service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.services import start_azurite
from sandbox.stack import LocalStack
from tests.support.integration import (
    BUDGET_SECONDS,
    Api,
    base_environment,
    email_payload,
    new_email,
    new_key,
    new_phone,
    sms_payload,
)

pytestmark = pytest.mark.integration
WINDOW_SECONDS = 4


@pytest.fixture(scope="module")
async def own_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    workdir = tmp_path_factory.mktemp("own-stack")
    azurite = await start_azurite(workdir)
    env = base_environment(TABLES_CONNECTION_STRING=azurite.connection_string, INSTANT_EMAIL_WAIT_SECONDS="0")
    # A short repeatability window, so a repeat can fall outside it within the test.
    stack = LocalStack(workdir, port=0, env=env, emulator_args=["--repeatability-window-seconds", str(WINDOW_SECONDS)])
    stack.azurite = azurite  # stopped with the stack
    async with stack:
        yield stack


@pytest.fixture
async def own_api(own_stack: LocalStack, http_session: aiohttp.ClientSession) -> Api:
    return Api(http_session, own_stack)


async def test_email_answered_while_sending_is_refreshed_by_get_shipment(own_api: Api) -> None:
    address, key = new_email(), new_key()
    reply = await own_api.post("email", email_payload(key, address))
    assert reply.status == 201, reply.body
    assert reply.json()["notification"]["status"] == "Email_Sending"
    path = f"/future/shipment/{reply.json()['notification']['shipmentId']}"
    first = (await own_api.get(path)).json()
    assert first["status"] in ("Order_Processing", "Order_Completed")
    shipment = await own_api.wait_for_recipient_status(path, "Email_Succeeded")  # ACS runs it 3-10 s
    assert shipment["status"] == "Order_Processing"  # its delivery report is still to come
    assert shipment["recipients"][0]["status"] == "Email_Succeeded"
    # a replay of the POST keeps the first answer's bytes
    replay = await own_api.post("email", email_payload(key, address))
    assert (replay.status, replay.body) == (200, reply.body)


async def test_repeat_outside_the_providers_window_is_outcome_unknown_and_never_resent(
    own_api: Api, own_stack: LocalStack
) -> None:
    # given: ACS took the SMS (+4790000008 delivers, then never answers) and the worker died
    key, phone = new_key(), "+4790000008"
    in_flight = asyncio.create_task(own_api.post("sms", sms_payload(key, phone)))
    await own_api.wait_for_inbox(phone)
    await own_stack.kill_app()
    with pytest.raises(aiohttp.ClientError):
        await in_flight
    await own_stack.restart_app()
    # when the retry comes after the lease (budget + 5 s) and after ACS's repeatability window
    await asyncio.sleep(max(WINDOW_SECONDS, BUDGET_SECONDS + 5) + 0.5)
    first = await own_api.post("sms", sms_payload(key, phone))
    again = await own_api.post("sms", sms_payload(key, phone))
    # then the service says it cannot know, stores that, and never sends again
    assert (first.status, first.json()["code"]) == (502, "outcome_unknown"), first.body
    assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (502, first.body, "true")
    assert len((await own_api.inbox(phone))["sms"]) == 1


async def test_storage_down_answers_503_and_sends_nothing(own_api: Api, own_stack: LocalStack) -> None:
    # given: the service is warm, then Azurite stops
    assert (await own_api.post("sms", sms_payload(new_key(), new_phone()))).status == 201
    assert own_stack.azurite is not None
    await own_stack.azurite.stop()
    phone, address = new_phone(), new_email()
    # when
    sms = await own_api.post("sms", sms_payload(new_key(), phone))
    email = await own_api.post("email", email_payload(new_key(), address))
    # then
    assert (sms.status, sms.json()["code"]) == (503, "storage_unavailable")
    assert (email.status, email.json()["code"]) == (503, "storage_unavailable")
    assert (await own_api.inbox(phone))["sms"] == []
    assert (await own_api.inbox(address))["email"] == []
