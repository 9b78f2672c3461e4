"""The reliability suite's stack, clients and bookkeeping.

One session stack (Azurite + ACS emulator + the function app in the local host, each a real
process; the real SDKs talk HTTP between them) serves most tests. Tests that kill the worker or
stop storage start their own app processes and their own Azurite next to it, and register what
they start, so that the last test (test_secrets.py) can scan every log the service wrote and
every entity of every table it wrote to.

Every message body of the session carries a fresh passcode and MARKER (``passcode_body()``),
so a leak of any of them is detectable.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from azure.data.tables.aio import TableClient, TableServiceClient

from instant.adapters.table_store import TableOrderStore
from instant.idempotency import AuditEntry, Channel, OrderRecord, provider_token_for, shipment_id_for
from sandbox.services import REPO_ROOT, LocalHostProcess, start_local_host_process
from sandbox.stack import LocalStack
from tests.integration.conftest import base_environment

PREFIX = "/notifications/api/v1"
TABLE = "instantorders"
# The request budget of every app in this suite; the lease is budget + 5 s.
BUDGET_SECONDS = 3.0
LEASE_SECONDS = BUDGET_SECONDS + 5.0
# What a request may take beyond the budget: the claim, the final write, HTTP on a loaded 2-core box.
MARGIN_SECONDS = 1.5
CALLER = "rel-caller"
MARKER = "rlmark" + secrets.token_hex(6)
# Every app of the suite digests bodies under this key (HMAC-SHA256), as in Azure; the secrets
# scan checks that neither the key nor a plain SHA-256 of any body is stored anywhere.
DIGEST_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
FAULTS = "faults.example.com"


# -- what must never leak ----------------------------------------------------------------------


@dataclass
class Watched:
    """Everything the secrets scan looks for, and everywhere it looks."""

    passcodes: set[str] = field(default_factory=set)
    bodies: set[str] = field(default_factory=set)
    access_keys: set[str] = field(default_factory=set)
    log_files: set[Path] = field(default_factory=set)
    # name -> connection string of every Azurite the service wrote to (scanned while it runs)
    azurites: dict[str, str] = field(default_factory=dict)
    stopped_azurites: set[str] = field(default_factory=set)


WATCHED = Watched()


def passcode_body(prefix: str = "Your code is") -> str:
    code = str(random.SystemRandom().randrange(10**7, 10**8))
    body = f"{prefix} {code}. {MARKER}"
    WATCHED.passcodes.add(code)
    WATCHED.bodies.add(body)
    return body


# -- figures for tests/reliability/README.md -----------------------------------------------------

FIGURES: dict[str, str] = {}


def figure(name: str, value: str) -> None:
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The secrets scan looks at what every other test left behind: it runs last.
    last = [item for item in items if item.nodeid.startswith("tests/reliability/test_secrets.py")]
    if last:
        items[:] = [item for item in items if item not in last] + last


# -- payloads ----------------------------------------------------------------------------------


def new_key(prefix: str = "rel") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def new_phone() -> str:
    # Valid Norwegian mobile numbers, away from the emulator's magic +479000000x range.
    return f"+4798{random.randrange(10**6):06d}"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def sms_payload(key: str, phone: str, *, ttl: int = 300, body: str | None = None) -> dict[str, Any]:
    return {
        "idempotencyId": key,
        "sendersReference": "ref-rel",
        "recipientSms": {
            "phoneNumber": phone,
            "timeToLiveInSeconds": ttl,
            "smsSettings": {"body": body if body is not None else passcode_body()},
        },
    }


def email_payload(key: str, address: str, *, body: str | None = None) -> dict[str, Any]:
    return {
        "idempotencyId": key,
        "recipientEmail": {
            "emailAddress": address,
            "emailSettings": {
                "subject": "Your code",
                "body": body if body is not None else passcode_body(),
                "contentType": "Plain",
            },
        },
    }


def payload_for(channel: str, key: str, recipient: str, **options: Any) -> dict[str, Any]:
    return sms_payload(key, recipient, **options) if channel == "sms" else email_payload(key, recipient, **options)


def body_of(payload: dict[str, Any]) -> str:
    if "recipientSms" in payload:
        return str(payload["recipientSms"]["smsSettings"]["body"])
    return str(payload["recipientEmail"]["emailSettings"]["body"])


def token(caller: str, channel: str, key: str) -> str:
    """The provider token of a key: SMS repeatabilityRequestId, email Operation-Id."""
    return provider_token_for(caller, Channel(channel), key)


def shipment(caller: str, channel: str, key: str) -> str:
    return shipment_id_for(caller, Channel(channel), key)


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    sent_at: datetime  # wall clock, to compare with times the service stored
    elapsed: float  # seconds

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str | None:
        if self.status < 400:
            return None
        return str(self.json().get("code"))

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.sent_at.timestamp() + self.elapsed, UTC)


class Client:
    """The service (at whatever app process is current) and the emulator's admin endpoints."""

    def __init__(self, session: aiohttp.ClientSession, app_url: Any, emulator_url: str) -> None:
        self.session = session
        self._app_url = app_url  # a callable: the app may be restarted on another port
        self.emulator_url = emulator_url

    @property
    def app_url(self) -> str:
        return str(self._app_url()) + PREFIX

    async def post(
        self,
        channel: str,
        payload: Any,
        *,
        caller: str | None = CALLER,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        if caller is not None:
            all_headers["X-Caller-Id"] = caller
        data: bytes | io.BytesIO = raw if raw is not None else json.dumps(payload).encode()
        if len(data) > 512 * 1024:
            data = io.BytesIO(data)  # aiohttp warns about large bytes bodies; a stream has the same length
        sent_at, started = datetime.now(UTC), time.monotonic()
        async with self.session.post(
            f"{self.app_url}/future/orders/instant/{channel}", data=data, headers=all_headers
        ) as response:
            body = await response.read()
            return Reply(response.status, dict(response.headers), body, sent_at, time.monotonic() - started)

    async def get(self, path: str, *, caller: str | None = CALLER) -> Reply:
        headers = {"X-Caller-Id": caller} if caller else {}
        sent_at, started = datetime.now(UTC), time.monotonic()
        async with self.session.get(f"{self.app_url}{path}", headers=headers) as response:
            body = await response.read()
            return Reply(response.status, dict(response.headers), body, sent_at, time.monotonic() - started)

    async def inbox(self, to: str | None = None) -> dict[str, list[dict[str, Any]]]:
        params = {"to": to} if to else {}
        async with self.session.get(f"{self.emulator_url}/_emulator/inbox", params=params) as response:
            result: dict[str, list[dict[str, Any]]] = await response.json()
            return result

    async def delivered(self, channel: str, provider_token: str) -> list[dict[str, Any]]:
        """Messages the emulator delivered under one provider token."""
        inbox = await self.inbox()
        if channel == "sms":
            return [m for m in inbox["sms"] if m["repeatabilityRequestId"] == provider_token]
        return [m for m in inbox["email"] if m["operationId"] == provider_token]

    async def provider_requests(self) -> list[dict[str, Any]]:
        async with self.session.get(f"{self.emulator_url}/_emulator/requests") as response:
            result: list[dict[str, Any]] = await response.json()
            return result

    async def requests_for(self, channel: str, provider_token: str) -> list[dict[str, Any]]:
        field_name = "repeatabilityRequestId" if channel == "sms" else "operationId"
        kinds = {"sms"} if channel == "sms" else {"email", "email-status"}
        return [r for r in await self.provider_requests() if r["kind"] in kinds and r.get(field_name) == provider_token]

    async def wait_for_provider_request(self, channel: str, provider_token: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.requests_for(channel, provider_token):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"no provider request with token {provider_token}")


# -- Table Storage, read directly ----------------------------------------------------------------


class Tables:
    """The service's table in one Azurite, read with azure-data-tables (not through the service)."""

    def __init__(self, connection_string: str, table: str = TABLE) -> None:
        self.connection_string = connection_string
        self.table = table

    def _store(self) -> TableOrderStore:
        return TableOrderStore(TableClient.from_connection_string(self.connection_string, self.table))

    async def order(self, shipment_id: str) -> OrderRecord | None:
        store = self._store()
        try:
            return await store.get(shipment_id)
        finally:
            await store.close()

    async def audit(self, shipment_id: str) -> list[AuditEntry]:
        store = self._store()
        try:
            return await store.audit_entries(shipment_id)
        finally:
            await store.close()

    async def orders_of(self, caller: str) -> list[dict[str, Any]]:
        async with TableClient.from_connection_string(self.connection_string, self.table) as client:
            query = "Caller eq @caller and RowKey eq 'order'"
            return [dict(e) async for e in client.query_entities(query, parameters={"caller": caller})]

    async def partition(self, shipment_id: str) -> list[dict[str, Any]]:
        async with TableClient.from_connection_string(self.connection_string, self.table) as client:
            query = "PartitionKey eq @pk"
            return [dict(e) async for e in client.query_entities(query, parameters={"pk": shipment_id})]

    async def every_entity(self) -> dict[str, list[dict[str, Any]]]:
        """Every entity of every table in this account."""
        result: dict[str, list[dict[str, Any]]] = {}
        async with TableServiceClient.from_connection_string(self.connection_string) as service:
            async for table in service.list_tables():
                name = str(table.name)
                client = service.get_table_client(name)
                result[name] = [dict(e) async for e in client.list_entities()]
        return result


# -- app processes of our own (crash points, storage faults) -----------------------------------


async def start_app(
    env: dict[str, str], workdir: Path, *, app: str = "function_app:app", port: int = 0
) -> LocalHostProcess:
    """The function app in a local host process of its own. host.json is passed explicitly: an app
    module outside the repository root (sandbox.crash_points) would not find it next to itself."""
    host = await start_local_host_process(
        env, port, app=app, workdir=workdir, extra_args=["--host-json", str(REPO_ROOT / "host.json")]
    )
    WATCHED.log_files.add(host.log_path)
    return host


# -- fixtures ----------------------------------------------------------------------------------


def reliability_environment(**overrides: str) -> dict[str, str]:
    env = base_environment(INSTANT_REQUEST_BUDGET_SECONDS=f"{BUDGET_SECONDS:g}", INSTANT_DIGEST_KEY=DIGEST_KEY)
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
async def rel_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    """Azurite + ACS emulator + the function app, for this suite alone."""
    workdir = tmp_path_factory.mktemp("reliability")
    async with LocalStack(workdir, port=0, env=reliability_environment()) as stack:
        assert stack.azurite is not None and stack.emulator is not None and stack.host is not None
        WATCHED.access_keys.add(stack.emulator.access_key)
        WATCHED.access_keys.add(DIGEST_KEY)
        WATCHED.log_files.add(stack.host.log_path)
        WATCHED.azurites["main"] = stack.azurite.connection_string
        yield stack


@pytest.fixture(scope="session")
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
async def client(rel_stack: LocalStack, http_session: aiohttp.ClientSession) -> Client:
    if rel_stack.host is None or rel_stack.host.returncode is not None:
        await rel_stack.start_app(port=0)
        assert rel_stack.host is not None
        WATCHED.log_files.add(rel_stack.host.log_path)
    assert rel_stack.emulator is not None

    def app_url() -> str:
        assert rel_stack.host is not None
        return rel_stack.host.base_url

    return Client(http_session, app_url, rel_stack.emulator.endpoint)


@pytest.fixture(scope="session")
def tables(rel_stack: LocalStack) -> Tables:
    assert rel_stack.azurite is not None
    return Tables(rel_stack.azurite.connection_string)


@pytest.fixture(scope="session")
def emulator_env(rel_stack: LocalStack) -> dict[str, str]:
    """ACS settings of the session's emulator, for apps started by the tests themselves."""
    assert rel_stack.emulator is not None
    return {"ACS_ENDPOINT": rel_stack.emulator.endpoint, "ACS_ACCESS_KEY": rel_stack.emulator.access_key}


@pytest.fixture(scope="session", autouse=True)
async def background(
    request: pytest.FixtureRequest, rel_stack: LocalStack, http_session: aiohttp.ClientSession
) -> AsyncIterator[dict[str, asyncio.Task[Any]]]:
    """Scenarios that mostly wait (time-to-live: > 60 s) start with the session and run alongside
    the other tests; the test named by each scenario awaits and judges its result."""
    from tests.reliability.test_ttl import BACKGROUND

    selected = {item.name for item in request.session.items}
    assert rel_stack.azurite is not None and rel_stack.emulator is not None
    tables = Tables(rel_stack.azurite.connection_string)

    def app_url() -> str:
        assert rel_stack.host is not None
        return rel_stack.host.base_url

    client = Client(http_session, app_url, rel_stack.emulator.endpoint)
    tasks = {
        name: asyncio.ensure_future(scenario(client, tables))
        for name, scenario in BACKGROUND.items()
        if name in selected
    }
    yield tasks
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
