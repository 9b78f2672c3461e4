"""Orders as the version before storage periods left them: every order and audit entry in one
table (the base table), no layout row. For tests/integration/test_upgrade_from_single_table.py.

The records come from the service itself (on in-memory fakes, its clock in the past), so their
answers are the exact bytes an earlier version stored; they are then written with a plain
azure-data-tables client in the entity shapes of instant/storage/entities.py, which the period
layout left unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from azure.data.tables.aio import TableServiceClient

from instant.domain.answer import Answer
from instant.domain.orders import SmsOrder
from instant.domain.records import Channel, OrderRecord, shipment_id_for
from instant.storage.entities import audit_entity, order_entity
from tests.support.period_workers import DEAD_LEASE_SECONDS, dead_holder
from tests.support.reports import email_order
from tests.support.unit import CALLER, build_world


def sms(key: str) -> SmsOrder:
    """The SMS order the legacy history and the upgraded workers send under ``key``."""
    return SmsOrder(key, None, "+4799999999", 300, None, "Your code is 123456.")


def shipment(key: str) -> str:
    """The shipment id of ``key``'s SMS order from CALLER."""
    return shipment_id_for(CALLER.caller, sms(key).channel, key)


@dataclass(frozen=True)
class LegacyHistory:
    """The legacy orders, the answers they were given, and their rows."""

    completed: OrderRecord  # sent two days before the upgrade
    completed_answer: Answer
    email: OrderRecord  # an email sent two days before the upgrade (same key, other channel)
    in_progress: OrderRecord  # its worker died before the hand-off; the lease ran out
    expired: OrderRecord  # sent longer ago than the retention
    entities: list[dict[str, Any]]


async def legacy_history(upgrade: datetime, retention: timedelta, keys: tuple[str, str, str]) -> LegacyHistory:
    """Run the service of an earlier day on fakes: one order sent, one crashed, one past retention."""
    completed_key, in_progress_key, expired_key = keys
    world = build_world()
    world.clock.current = upgrade - retention - timedelta(days=1)
    expired_answer = await world.send(sms(expired_key), CALLER)
    world.clock.current = upgrade - timedelta(days=2)
    completed_answer = await world.send(sms(completed_key), CALLER)
    email_answer = await world.send(email_order(completed_key), CALLER)
    assert [a.status for a in (expired_answer, completed_answer, email_answer)] == [201, 201, 201]
    # Received a minute before the upgrade (its 300 s time-to-live still running), claimed, and
    # never sent: its worker died, and its lease ran out 30 s before the upgrade.
    crashed = dead_holder(sms(in_progress_key), upgrade - timedelta(seconds=2 * DEAD_LEASE_SECONDS))
    records = world.store.records
    entities = [order_entity(r) for r in records.values()] + [order_entity(crashed)]
    entities += [audit_entity(a) for audits in world.store.audits.values() for a in audits]
    return LegacyHistory(
        completed=_plain(records[shipment(completed_key)]),
        completed_answer=completed_answer,
        email=_plain(records[shipment_id_for(CALLER.caller, Channel.EMAIL, completed_key)]),
        in_progress=crashed,
        expired=_plain(records[shipment(expired_key)]),
        entities=entities,
    )


def _plain(record: OrderRecord) -> OrderRecord:
    return replace(record, etag=None, stored_in=None)


async def write_legacy(connection_string: str, table: str, entities: list[dict[str, Any]]) -> None:
    """Write ``entities`` into ``table`` as the single-table version did: a plain client."""
    async with TableServiceClient.from_connection_string(connection_string) as service:
        await service.create_table(table)
        client = service.get_table_client(table)
        for entity in entities:
            await client.create_entity(entity)
