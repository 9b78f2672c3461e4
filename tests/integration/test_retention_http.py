"""The retention timer on the local host: invoked like Core Tools does (POST /admin/functions/<name>),
against Azurite, next to orders the running app just took."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables.aio import TableClient

from instant.domain.records import (
    AuditEntry,
    OrderRecord,
    OrderState,
    RecipientStatus,
)
from instant.storage.order_store import PeriodOrderStore
from sandbox.services import AzuriteProcess
from tests.support.builders import audit_entry, order_record
from tests.support.integration import CALLER, Api, new_key, new_phone, sms_payload
from tests.support.stores import period_store

pytestmark = pytest.mark.integration


@pytest.fixture
async def app_table(azurite: AzuriteProcess) -> AsyncIterator[PeriodOrderStore]:
    """The app's own store (INSTANT_TABLE_NAME's default), opened beside the running app."""
    store = period_store(azurite.connection_string, "instantorders")
    yield store
    await store.close()


def order_received_at(received_at: datetime) -> OrderRecord:
    return order_record(
        new_key("old"),
        caller=CALLER,
        at=received_at,
        state=OrderState.COMPLETED,
        status=RecipientStatus.SMS_ACCEPTED,
        lease_until=None,
        lease_owner=None,
    )


def audit_at(shipment_id: str, at: datetime) -> AuditEntry:
    return audit_entry(shipment_id, at, caller=CALLER, provider_id=str(uuid.uuid4()))


async def run_purge(api: Api) -> int:
    assert api.stack.host is not None
    url = f"{api.stack.host.base_url}/admin/functions/purge_expired"
    async with api.session.post(url, json={"input": ""}) as response:
        return response.status


async def test_the_purge_timer_deletes_expired_rows_and_keeps_young_ones(
    api: Api, app_table: PeriodOrderStore, azurite: AzuriteProcess
) -> None:
    # given: an order the app takes now, and rows written long ago straight into its table
    reply = await api.post("sms", sms_payload(new_key(), new_phone()))
    assert reply.status == 201, reply.body
    young_location = reply.headers["Location"].removeprefix("/notifications/api/v1")
    now = datetime.now(UTC)
    old = await app_table.claim(order_received_at(now - timedelta(days=200)))
    ancient_audit = audit_at(old.shipment_id, now - timedelta(days=400))
    recent_audit = audit_at(old.shipment_id, now - timedelta(days=200))
    await app_table.append_audit(ancient_audit)
    await app_table.append_audit(recent_audit)

    # when: the timer runs twice at once (a slow run overlapping the next, or two instances)
    # (gather gives a list at run time; typeshed types it as a tuple)
    assert list(await asyncio.gather(run_purge(api), run_purge(api))) == [202, 202]

    # then: the expired order (an earlier version's row, in the base table) and the year-old
    # audit entry are gone, nothing young was touched
    assert old.stored_in == "instantorders"
    async with TableClient.from_connection_string(azurite.connection_string, "instantorders") as base:
        query = "PartitionKey eq @pk"
        left = [e["RowKey"] async for e in base.query_entities(query, parameters={"pk": old.shipment_id})]
    assert len(left) == 1 and left[0].startswith("audit|")
    assert await app_table.audit_entries(old.shipment_id) == [recent_audit]
    shipment = await api.get(young_location)
    assert shipment.status == 200
    assert shipment.json()["recipients"][0]["status"] == "SMS_Accepted"


async def test_an_unknown_timer_is_404(api: Api) -> None:
    assert api.stack.host is not None
    async with api.session.post(f"{api.stack.host.base_url}/admin/functions/no_such_timer") as response:
        assert response.status == 404
