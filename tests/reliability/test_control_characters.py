"""Issue 10.8: control characters in text that is shown or echoed.

The email subject accepted NUL, ESC and the other C0/C1 controls (only line breaks were refused)
and ``sendersReference`` accepted NUL and echoed it back. Now they are refused with a field
error; a tab stays allowed where a user may paste one (subject, sendersReference). The
idempotencyId and the SMS sender already refused them: checked here too.
"""

from __future__ import annotations

import pytest

from tests.support.reliability import email_payload, new_email, new_key, new_phone, sms_payload
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration

CONTROLS = {"NUL": "\x00", "ESC": "\x1b", "BEL": "\x07", "DEL": "\x7f", "C1 CSI": "\x9b", "C1 NEL": "\x85"}


async def refused(client: Client, channel: str, payload: dict[str, object], path: str) -> None:
    reply = await client.post(channel, payload)
    assert (reply.status, reply.code) == (400, "validation_failed"), reply.body
    assert list(reply.json()["errors"]) == [path]


@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
async def test_control_character_in_the_subject(client: Client, char: str) -> None:
    payload = email_payload(new_key("ctl"), new_email())
    payload["recipientEmail"]["emailSettings"]["subject"] = f"Your{char}code"
    await refused(client, "email", payload, "recipientEmail.emailSettings.subject")


@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
async def test_control_character_in_senders_reference(client: Client, char: str) -> None:
    payload = sms_payload(new_key("ctl"), new_phone())
    payload["sendersReference"] = f"ref{char}1"
    await refused(client, "sms", payload, "sendersReference")


@pytest.mark.parametrize("char", [*CONTROLS.values(), "\t"], ids=[*CONTROLS.keys(), "TAB"])
async def test_control_character_in_the_key_and_the_sms_sender(client: Client, char: str) -> None:
    payload = sms_payload(f"key{char}1", new_phone())
    await refused(client, "sms", payload, "idempotencyId")
    payload = sms_payload(new_key("ctl"), new_phone())
    payload["recipientSms"]["smsSettings"]["sender"] = f"Alt{char}inn"
    await refused(client, "sms", payload, "recipientSms.smsSettings.sender")


async def test_a_tab_is_allowed_in_subject_and_senders_reference(client: Client) -> None:
    payload = email_payload(new_key("tab"), new_email())
    payload["sendersReference"] = "order\t42"
    payload["recipientEmail"]["emailSettings"]["subject"] = "Your\tcode"
    reply = await client.post("email", payload)
    assert reply.status == 201, reply.body
    assert reply.json()["notification"]["sendersReference"] == "order\t42"
