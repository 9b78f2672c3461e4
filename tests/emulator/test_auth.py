"""HMAC authentication: wrong keys, hand-signed requests and tampering."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
)

from sandbox.acs_emulator import RunningEmulator
from tests.emulator.helpers import (
    FROM,
    NORMAL,
    OTHER_KEY,
    email_message,
    hand_signed,
    inbox,
    logged,
    sms_body,
)

# --------------------------------------------------------------------------- authentication


async def test_wrong_key_is_401(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    async with SmsClient(emulator.base_url, AzureKeyCredential(OTHER_KEY), retry_total=0, read_timeout=5) as client:
        with pytest.raises(ClientAuthenticationError) as caught:
            await client.send(FROM, NORMAL, "x")
    assert caught.value.status_code == 401
    assert caught.value.error is not None
    assert caught.value.error.code == "Denied"
    assert (await inbox(http, emulator))["sms"] == []
    assert await logged(http, emulator, "sms") == []  # only authenticated requests are logged


async def test_wrong_key_email_is_401(emulator: RunningEmulator) -> None:
    async with EmailClient(emulator.base_url, AzureKeyCredential(OTHER_KEY), retry_total=0, read_timeout=5) as client:
        with pytest.raises(ClientAuthenticationError):
            await client.begin_send(email_message("someone@example.com"))


async def test_hand_signed_request_is_accepted(emulator: RunningEmulator, http: aiohttp.ClientSession) -> None:
    url = f"{emulator.base_url}/sms?api-version=2024-02-05"
    body = json.dumps(sms_body(NORMAL)).encode()
    async with http.post(url, data=body, headers=hand_signed("POST", url, body)) as resp:
        assert resp.status == 202


@pytest.mark.parametrize("fault", ["tampered_body", "stale_date", "future_date", "no_auth", "wrong_path"])
async def test_invalid_signatures_are_401(emulator: RunningEmulator, http: aiohttp.ClientSession, fault: str) -> None:
    url = f"{emulator.base_url}/sms?api-version=2024-02-05"
    body = json.dumps(sms_body(NORMAL)).encode()
    if fault == "tampered_body":
        signed_for = json.dumps(sms_body("+4798765432")).encode()
        headers = hand_signed("POST", url, body, signed_body=signed_for)
        # Also re-hash the tampered body but keep the old signature: still refused.
        headers_rehashed = dict(headers)
        headers_rehashed["x-ms-content-sha256"] = base64.b64encode(hashlib.sha256(body).digest()).decode()
        async with http.post(url, data=body, headers=headers_rehashed) as resp:
            assert resp.status == 401
    elif fault == "stale_date":
        headers = hand_signed("POST", url, body, date=datetime.now(UTC) - timedelta(minutes=16))
    elif fault == "future_date":
        headers = hand_signed("POST", url, body, date=datetime.now(UTC) + timedelta(minutes=16))
    elif fault == "no_auth":
        headers = {"Content-Type": "application/json"}
    else:
        headers = hand_signed("POST", f"{emulator.base_url}/sms?api-version=2021-03-07", body)
    async with http.post(url, data=body, headers=headers) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "Denied"
    assert (await inbox(http, emulator))["sms"] == []
