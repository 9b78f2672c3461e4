"""Delivery reports, counted: Table Storage requests per report the delivery_report function takes.

The reports name orders the round-trip phase sent. Their message ids are read from the table
before the counting window opens, so the harness's own reads are not counted. Each report is
POSTed once (a status change: one read + one transaction), then once more (a redelivery: the
read alone) to the local host's Event Grid webhook, as Event Grid would deliver it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp

from bench.counting import AzuriteLog, LogWindow
from bench.load import UnexpectedAnswer
from instant.domain.ports import OrderStore
from sandbox.delivery_events import NOTIFICATION, WEBHOOK, email_report_event, sms_report_event


async def report_events(store: OrderStore, channel: str, shipment_ids: list[str]) -> list[dict[str, Any]]:
    """A ``Delivered`` report for each order, as ACS would send it."""
    events = []
    for shipment_id in shipment_ids:
        record = await store.get(shipment_id)
        if record is None or record.provider_id is None:
            raise UnexpectedAnswer(f"order {shipment_id} has no provider id to report on")
        if channel == "sms":
            events.append(sms_report_event(shipment_id, record.provider_id, record.recipient, "Delivered"))
        else:
            events.append(email_report_event(record.provider_id, record.recipient, "Delivered"))
    return events


async def deliver(session: aiohttp.ClientSession, host_url: str, events: list[dict[str, Any]]) -> None:
    """POST each event on its own, as a subscription with maxEventsPerBatch 1 does."""
    for event in events:
        async with session.post(host_url + WEBHOOK, json=[event], headers=NOTIFICATION) as response:
            if response.status != 202:
                raise UnexpectedAnswer(f"the delivery_report webhook answered {response.status}")


async def counted(azurite: AzuriteLog, action: Awaitable[None]) -> LogWindow:
    """Azurite's requests while ``action`` runs (started only once the log is quiet)."""
    start = await azurite.settled_size()
    await action
    return azurite.window(start, await azurite.settled_size())
