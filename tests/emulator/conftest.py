"""Fixtures: one fast-timing emulator per session that owns the test senders, and SDK clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from azure.communication.email.aio import EmailClient
from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential

from sandbox.acs_emulator import RunningEmulator, start_emulator
from tests.emulator.helpers import ACCESS_KEY, CLIENT_OPTIONS, EMAIL_FROM, EMAIL_RUNNING_SECONDS, FROM, SLOW_SECONDS


@pytest.fixture(scope="session")
async def emulator() -> AsyncIterator[RunningEmulator]:
    running = await start_emulator(
        ACCESS_KEY,
        timing="fast",  # Retry-After "0": the SDK poller uses polling_interval instead
        slow_seconds=SLOW_SECONDS,
        email_running_seconds=EMAIL_RUNNING_SECONDS,
        sms_senders=[FROM],
        email_senders=[EMAIL_FROM],
    )
    yield running
    await running.stop()


@pytest.fixture(autouse=True)
def _clean_emulator(emulator: RunningEmulator) -> None:
    emulator.state.clear()
    emulator.state.latency_ms = 0
    emulator.state.outage = False


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield session


@pytest.fixture
async def sms_client(emulator: RunningEmulator) -> AsyncIterator[SmsClient]:
    async with SmsClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield client


@pytest.fixture
async def email_client(emulator: RunningEmulator) -> AsyncIterator[EmailClient]:
    async with EmailClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY), **CLIENT_OPTIONS) as client:
        yield client
