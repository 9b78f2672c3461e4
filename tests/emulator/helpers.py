"""Shared constants and helpers for the emulator tests (hand-signing, bodies, admin API reads)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from azure.communication.sms.aio import SmsClient
from azure.core.rest import AsyncHttpResponse, HttpRequest
from yarl import URL

from sandbox.acs_emulator import RunningEmulator

ACCESS_KEY = base64.b64encode(b"emulator-test-key-0123456789abcdef").decode()
OTHER_KEY = base64.b64encode(b"not-the-emulator-key-0123456789abc").decode()
SLOW_SECONDS = 0.5
EMAIL_RUNNING_SECONDS = 0.2
SHORT_TIMEOUT = 0.3
# The SDKs retry 503 (and 429 with Retry-After) themselves: keep their backoff short. A bounded read
# timeout makes a wrongly hanging emulator fail the test quickly instead of after azure-core's 300 s.
CLIENT_OPTIONS: dict[str, Any] = {"retry_backoff_factor": 0.01, "read_timeout": 5, "connection_timeout": 5}
FROM = "+4712345678"
NORMAL = "+4791234567"
REPO_ROOT = Path(__file__).resolve().parents[2]
EMAIL_FROM = "DoNotReply@example.com"


def rfc1123(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def sms_body(to: str, request_id: str | None = None, first_sent: str | None = None, **options: Any) -> dict[str, Any]:
    recipient: dict[str, Any] = {"to": to}
    if request_id is not None:
        recipient["repeatabilityRequestId"] = request_id
        recipient["repeatabilityFirstSent"] = first_sent or rfc1123(datetime.now(UTC))
    return {
        "from": FROM,
        "smsRecipients": [recipient],
        "message": "Your code is 1234",
        "smsSendOptions": {"enableDeliveryReport": False, **options},
    }


async def send_raw_sms(
    client: SmsClient, body: dict[str, Any], api_version: str = "2024-02-05", **kwargs: Any
) -> AsyncHttpResponse:
    """POST /sms through the SMS SDK's own pipeline (so HMAC-signed by the SDK) at any api-version."""
    request = HttpRequest("POST", f"{client._endpoint}/sms?api-version={api_version}", json=body)
    response: AsyncHttpResponse = await client._sms_service_client._client.send_request(request, **kwargs)
    await response.read()
    return response


def email_message(to: str, *, html: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"subject": "Hello", "plainText": "Plain body"}
    if html is not None:
        content["html"] = html
    return {
        "senderAddress": EMAIL_FROM,
        "recipients": {"to": [{"address": to, "displayName": "Someone"}]},
        "content": content,
    }


def hand_signed(
    method: str,
    url: str,
    body: bytes,
    key: str = ACCESS_KEY,
    *,
    date: datetime | None = None,
    signed_body: bytes | None = None,
) -> dict[str, str]:
    """An independent implementation of the ACS HMAC scheme; signed_body signs other bytes than sent."""
    parsed = URL(url)
    digest = hashlib.sha256(body if signed_body is None else signed_body).digest()
    content_hash = base64.b64encode(digest).decode()
    x_ms_date = rfc1123(date or datetime.now(UTC))
    to_sign = f"{method}\n{parsed.raw_path_qs}\n{x_ms_date};{parsed.host}:{parsed.port};{content_hash}"
    mac = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    return {
        "x-ms-date": x_ms_date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature="
        + base64.b64encode(mac).decode(),
        "Content-Type": "application/json",
    }


async def inbox(http: aiohttp.ClientSession, emulator: RunningEmulator, to: str | None = None) -> dict[str, Any]:
    params = {"to": to} if to else {}
    async with http.get(f"{emulator.base_url}/_emulator/inbox", params=params) as resp:
        assert resp.status == 200
        result: dict[str, Any] = await resp.json()
        return result


async def logged(http: aiohttp.ClientSession, emulator: RunningEmulator, kind: str) -> list[dict[str, Any]]:
    async with http.get(f"{emulator.base_url}/_emulator/requests") as resp:
        assert resp.status == 200
        return [r for r in await resp.json() if r["kind"] == kind]


async def wait_until_released(emulator: RunningEmulator) -> None:
    """Held-open requests end once the client is gone; wait for that (bounded)."""
    for _ in range(100):
        if emulator.state.pending == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the emulator still holds a request open after the client left")
