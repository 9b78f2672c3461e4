"""Helpers of the integration tests: the app's environment, payloads and a small client."""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from instant.config import SETTING_NAMES
from sandbox.stack import LocalStack

# A short budget keeps the failure-path tests quick; the lease is budget + 5 s.
BUDGET_SECONDS = 3
# The senders the emulated ACS resource owns: the stack's defaults and those Altinn's own tests
# use (tests/integration/compat). ACS refuses any other sender with 401 (sandbox/README.md).
EMULATOR_ARGS = (
    *("--sms-sender", "Instant", "--sms-sender", "Altinn", "--sms-sender", "Test sender"),
    *("--sms-sender", "ValidSender"),
    *("--email-sender", "instant.example.com", "--email-sender", "altinn.no", "--email-sender", "sender.com"),
)
CALLER = "it-caller"
PREFIX = "/notifications/api/v1"


def base_environment(**overrides: str) -> dict[str, str]:
    """This environment without the app's settings, plus the integration defaults and ``overrides``."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(
        {
            "INSTANT_REQUEST_BUDGET_SECONDS": str(BUDGET_SECONDS),
            "SMS_DEFAULT_SENDER": "Instant",
            "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
            "INSTANT_DEFAULT_CALLER": "",
            "INSTANT_LOCAL_DEVELOPMENT": "true",
            # These suites send many orders to a few numbers and addresses: the per-recipient
            # limits (on by default) would refuse them. Tests of the limits switch them back on.
            "SMS_RECIPIENT_LIMITS": "off",
            "EMAIL_RECIPIENT_LIMITS": "off",
        }
    )
    env.update(overrides)
    return env


@dataclass
class Reply:
    """An answer of the service: status, headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Api:
    """A small client for the service and the emulator's admin endpoints."""

    def __init__(self, session: aiohttp.ClientSession, stack: LocalStack) -> None:
        self.session = session
        self.stack = stack

    @property
    def app_url(self) -> str:
        assert self.stack.host is not None
        return self.stack.host.base_url + PREFIX

    @property
    def emulator_url(self) -> str:
        assert self.stack.emulator is not None
        return self.stack.emulator.endpoint

    async def post(
        self, channel: str, payload: Any, *, caller: str | None = CALLER, raw: bytes | None = None, **headers: str
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **headers}
        if caller is not None:
            all_headers["X-Caller-Id"] = caller
        data = raw if raw is not None else json.dumps(payload).encode()
        async with self.session.post(
            f"{self.app_url}/future/orders/instant/{channel}", data=data, headers=all_headers
        ) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def get(self, path: str, *, caller: str | None = CALLER) -> Reply:
        headers = {"X-Caller-Id": caller} if caller else {}
        async with self.session.get(f"{self.app_url}{path}", headers=headers) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def inbox(self, to: str) -> dict[str, list[dict[str, Any]]]:
        async with self.session.get(f"{self.emulator_url}/_emulator/inbox", params={"to": to}) as response:
            result: dict[str, list[dict[str, Any]]] = await response.json()
            return result

    async def provider_requests(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.emulator_url}/_emulator/requests") as response:
            result: list[dict[str, Any]] = await response.json()
            return result

    async def wait_for_recipient_status(self, path: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
        """GET the shipment until its recipient has ``status`` (ACS runs an email 3-10 s)."""
        deadline = time.monotonic() + timeout
        while True:
            shipment: dict[str, Any] = (await self.get(path)).json()
            if shipment["recipients"][0]["status"] == status or time.monotonic() > deadline:
                return shipment
            await asyncio.sleep(0.5)

    async def wait_for_inbox(self, to: str, kind: str = "sms", timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            items = (await self.inbox(to))[kind]
            if items:
                return items
            await asyncio.sleep(0.05)
        raise AssertionError(f"nothing arrived for {to}")


def new_key(prefix: str = "it") -> str:
    """A fresh idempotency key."""
    return f"{prefix}-{uuid.uuid4().hex}"


_ISSUED_PHONES: set[str] = set()


def new_phone() -> str:
    """A valid Norwegian mobile number no other call of this process has returned."""
    # Tests count the messages each number received: two tests drawing one number would each see
    # the other's (a session draws a few hundred: from a million numbers, that repeats one in a
    # few runs out of a hundred). 91-99 avoids the emulator's magic +4790000xxx range.
    while True:
        phone = f"+479{random.randrange(1, 10)}{random.randrange(10**6):06d}"
        if phone not in _ISSUED_PHONES:
            _ISSUED_PHONES.add(phone)
            return phone


def new_email() -> str:
    """A fresh address on example.com."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def sms_payload(key: str, phone: str, ttl: int = 300, body: str = "Your code is 123456.") -> dict[str, Any]:
    """An SMS order body."""
    return {
        "idempotencyId": key,
        "sendersReference": "ref-it",
        "recipientSms": {"phoneNumber": phone, "timeToLiveInSeconds": ttl, "smsSettings": {"body": body}},
    }


def email_payload(key: str, address: str, subject: str = "Your code", content_type: str = "Plain") -> dict[str, Any]:
    """An email order body."""
    return {
        "idempotencyId": key,
        "recipientEmail": {
            "emailAddress": address,
            "emailSettings": {"subject": subject, "body": "Your code is 123456.", "contentType": content_type},
        },
    }
