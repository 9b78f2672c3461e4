"""A sender the ACS resource does not own (issue "ACS emulator", point 4).

Recorded ACS answers 401 for an SMS ``from`` the resource does not own, and an email from a
domain that is not linked fails with DomainNotLinked. Promise: the service answers honestly and
at once (503 channel_not_configured: a configuration error on our side, nothing was sent), logs
it for the operators' alert, and never retries it in a loop.
"""

from __future__ import annotations

import pytest

from sandbox.stack import LocalStack
from tests.support.reliability import figure, new_email, new_key, new_phone, payload_for
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration


def with_foreign_sender(channel: str, payload: dict[str, object]) -> dict[str, object]:
    if channel == "sms":
        payload["recipientSms"]["smsSettings"]["sender"] = "Foreign"  # type: ignore[index]
    else:
        payload["recipientEmail"]["emailSettings"]["senderEmailAddress"] = "noreply@foreign.example"  # type: ignore[index]
    return payload


@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_a_foreign_sender_is_a_configuration_error_answered_at_once(
    client: Client, rel_stack: LocalStack, channel: str
) -> None:
    recipient = new_phone() if channel == "sms" else new_email()
    payload = with_foreign_sender(channel, payload_for(channel, new_key("foreign"), recipient))
    reply = await client.post(channel, payload)
    # then: 503 channel_not_configured, nothing stored as final, no retry loop
    assert (reply.status, reply.code) == (503, "channel_not_configured"), reply.body
    assert reply.headers["Retry-After"] == "60"
    assert len(await client.requests_to(channel, recipient)) == 1
    assert (await client.inbox(to=recipient))[channel] == []
    assert reply.elapsed < 1.0  # it was the whole budget (SMS: 503 provider_unavailable) or a stored 422 (email)
    # and the operators' alert has its log line
    assert rel_stack.host is not None
    log = rel_stack.host.log_path.read_text()
    assert "provider configuration error" in log and '"configuration_error": true' in log
    figure(f"foreign {channel} sender", f"503 channel_not_configured in {reply.elapsed:.2f} s, 1 provider request")
