"""The reliability suite's views of the running service: its HTTP API and its table, read directly."""

from __future__ import annotations

import asyncio
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from azure.data.tables.aio import TableServiceClient

from instant.domain.records import AuditEntry, OrderRecord
from instant.storage.order_store import PeriodOrderStore
from tests.support.reliability import CALLER, PREFIX, TABLE, shipment, token
from tests.support.stores import period_store

# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Reply:
    """An answer of the service, with when it was sent and how long it took."""

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
        body = raw if raw is not None else json.dumps(payload).encode()
        # aiohttp warns about large bytes bodies; a stream has the same length.
        data: bytes | io.BytesIO = io.BytesIO(body) if len(body) > 512 * 1024 else body
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

    async def requests_to(self, channel: str, recipient: str) -> list[dict[str, Any]]:
        """Provider requests of a channel addressed to ``recipient`` (for orders that have no
        record, and so no provider token, to look it up by)."""
        kinds = {"sms"} if channel == "sms" else {"email"}
        return [r for r in await self.provider_requests() if r["kind"] in kinds and recipient in r.get("to", [])]

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

    def _store(self) -> PeriodOrderStore:
        return period_store(self.connection_string, self.table)

    async def order(self, shipment_id: str) -> OrderRecord | None:
        store = self._store()
        try:
            return await store.get(shipment_id)
        finally:
            await store.close()

    async def provider_token(self, caller: str, channel: str, key: str, wait: float = 10.0) -> str:
        """The provider token of a key's order, once its record exists (it depends on the
        record's first receipt)."""
        deadline = time.monotonic() + wait
        while True:
            record = await self.order(shipment(caller, channel, key))
            if record is not None:
                return token(caller, channel, key, record.received_at)
            if time.monotonic() > deadline:
                raise AssertionError(f"no order for {channel} key {key}")
            await asyncio.sleep(0.05)

    async def delete_order(self, shipment_id: str) -> None:
        """Take an order's record away, as if it had aged out of retention (its audit entries
        stay): its row in whichever table holds it, and a link to it."""
        record = await self.order(shipment_id)
        assert record is not None and record.stored_in is not None, f"no order {shipment_id}"
        async with TableServiceClient.from_connection_string(self.connection_string) as service:
            async for table in service.query_tables(
                "TableName ge @lo and TableName lt @hi", parameters={"lo": self.table, "hi": self.table + "{"}
            ):
                client = service.get_table_client(str(table.name))
                await client.delete_entity(shipment_id, "order")

    async def audit(self, shipment_id: str) -> list[AuditEntry]:
        store = self._store()
        try:
            return await store.audit_entries(shipment_id)
        finally:
            await store.close()

    async def orders_of(self, caller: str) -> list[dict[str, Any]]:
        """Every order row of a caller, in every table of the service."""
        return await self._across("Caller eq @caller and RowKey eq 'order'", {"caller": caller})

    async def partition(self, shipment_id: str) -> list[dict[str, Any]]:
        """Every row of an order's partition (its record, links, audit entries), in every table."""
        return await self._across("PartitionKey eq @pk", {"pk": shipment_id})

    async def _across(self, query: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async with TableServiceClient.from_connection_string(self.connection_string) as service:
            async for table in service.query_tables(
                "TableName ge @lo and TableName lt @hi", parameters={"lo": self.table, "hi": self.table + "{"}
            ):
                client = service.get_table_client(str(table.name))
                found.extend([dict(e) async for e in client.query_entities(query, parameters=parameters)])
        return found

    async def every_entity(self) -> dict[str, list[dict[str, Any]]]:
        """Every entity of every table in this account."""
        result: dict[str, list[dict[str, Any]]] = {}
        async with TableServiceClient.from_connection_string(self.connection_string) as service:
            async for table in service.list_tables():
                name = str(table.name)
                client = service.get_table_client(name)
                result[name] = [dict(e) async for e in client.list_entities()]
        return result
