"""Strict HMAC: exactly x-ms-date;host;x-ms-content-sha256 over the path and query as sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import unquote

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from yarl import URL

from sandbox.acs_emulator import RunningEmulator
from tests.emulator import recorded
from tests.emulator.helpers import ACCESS_KEY, NORMAL, rfc1123, sms_body


def sign(
    method: str,
    host: str,
    path_and_query: str,
    body: bytes,
    *,
    signed_headers: str = recorded.SIGNED_HEADERS,
    values: list[str] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Headers for a request signed over exactly this path_and_query, announcing signed_headers."""
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    date = rfc1123(datetime.now(UTC))
    by_name = {"x-ms-date": date, "host": host, "x-ms-content-sha256": content_hash, **(extra or {})}
    signed = values if values is not None else [by_name[n] for n in signed_headers.split(";")]
    to_sign = f"{method}\n{path_and_query}\n{';'.join(signed)}"
    mac = hmac.new(base64.b64decode(ACCESS_KEY), to_sign.encode(), hashlib.sha256).digest()
    auth = f"HMAC-SHA256 SignedHeaders={signed_headers}&Signature={base64.b64encode(mac).decode()}"
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": auth,
        "Content-Type": "application/json",
        **(extra or {}),
    }


def host_of(emulator: RunningEmulator) -> str:
    """The Host header value the client sends (and signs)."""
    url = URL(emulator.base_url)
    return f"{url.host}:{url.port}"


async def test_the_exact_form_is_accepted(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    body = json.dumps(sms_body(NORMAL)).encode()
    headers = sign("POST", host_of(emulator), "/sms?api-version=2024-02-05", body)
    async with http.post(f"{emulator.base_url}/sms?api-version=2024-02-05", data=body, headers=headers) as resp:
        assert resp.status == 202


@pytest.mark.parametrize(
    "signed_headers",
    [
        "host;x-ms-date;x-ms-content-sha256",  # another order
        "x-ms-date;host;x-ms-content-sha256;content-type",  # an extra header
        "x-ms-date;host",  # one missing
    ],
)
async def test_other_signed_header_lists_are_refused(
    emulator: RunningEmulator, http: aiohttp.ClientSession, signed_headers: str
) -> None:
    body = json.dumps(sms_body(NORMAL)).encode()
    headers = sign(
        "POST",
        host_of(emulator),
        "/sms?api-version=2024-02-05",
        body,
        signed_headers=signed_headers,
        extra={"content-type": "application/json"},
    )
    async with http.post(f"{emulator.base_url}/sms?api-version=2024-02-05", data=body, headers=headers) as resp:
        assert resp.status == 401
    assert emulator.state.sms_inbox == []


async def test_only_the_path_as_sent_is_signed(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    # An operation id with an escape: the decoded variant differs from what went over the wire.
    sent = f"/emails/operations/{uuid.uuid4()}%2Dx?api-version=2025-09-01"
    url = URL(f"{emulator.base_url}{sent}", encoded=True)
    decoded = sign("GET", host_of(emulator), unquote(sent), b"")
    async with http.get(url, headers=decoded) as resp:
        assert resp.status == 401
    as_sent = sign("GET", host_of(emulator), sent, b"")
    async with http.get(url, headers=as_sent) as resp:
        assert resp.status == 404  # authenticated; the operation does not exist


async def test_the_body_hash_is_checked(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    body = json.dumps(sms_body(NORMAL)).encode()
    headers = sign("POST", host_of(emulator), "/sms?api-version=2024-02-05", b"{}")  # hash of other bytes
    async with http.post(f"{emulator.base_url}/sms?api-version=2024-02-05", data=body, headers=headers) as resp:
        assert resp.status == 401


async def test_the_email_sdk_polls_pass_strict_signing(email_client: EmailClient) -> None:
    # The SDK signs unquote(path?query); its URLs carry no escapes, so that is the path as sent.
    poller = await email_client.begin_send(
        {
            "senderAddress": "DoNotReply@example.com",
            "recipients": {"to": [{"address": "f@example.com"}]},
            "content": {"subject": "s", "plainText": "p"},
        },
        polling_interval=0.05,
    )
    assert (await poller.result())["status"] == "Succeeded"
