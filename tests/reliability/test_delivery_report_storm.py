"""11. Delivery-report storm: Event Grid's at-least-once, any-order delivery against GET shipment.

200 orders (SMS and email); each one's report is delivered three times, and every fourth order
also gets a contradicting report, three times too; all deliveries in random order and 32 at a
time, while readers GET the shipments (an email still sending is refreshed from ACS by the read,
so reads write too). Promise: every shipment ends with the status of the first terminal report
that was written, exactly one `delivery_report` audit entry per status change, and one more for
a contradicting report, however often it came.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import pytest

from sandbox.delivery_events import NOTIFICATION, WEBHOOK, email_report_event, sms_report_event
from sandbox.stack import LocalStack
from tests.support.reliability import figure, new_email, new_key, new_phone, payload_for, shipment
from tests.support.reliability_clients import Client, Tables

pytestmark = pytest.mark.integration

CALLER = "rel-reports"
SMS_ORDERS, EMAIL_ORDERS = 140, 60
COPIES = 3
CONCURRENCY = 32
READERS = 8
SMS_OUTCOMES = {"Delivered": "SMS_Delivered", "Failed": "SMS_Failed", "Expired": "SMS_Failed_Expired"}
EMAIL_OUTCOMES = {
    "Delivered": "Email_Delivered",
    "Bounced": "Email_Failed_Bounced",
    "Quarantined": "Email_Failed_Quarantined",
}
TIME_LIMIT_SECONDS = 90


async def _orders(client: Client, channel: str, count: int) -> list[tuple[str, str]]:
    """(key, recipient) of ``count`` new orders, sent 20 at a time."""
    orders = [(new_key("report"), new_phone() if channel == "sms" else new_email()) for _ in range(count)]
    gate = asyncio.Semaphore(20)

    async def send(key: str, recipient: str) -> None:
        async with gate:
            reply = await client.post(channel, payload_for(channel, key, recipient), caller=CALLER)
            assert reply.status == 201, reply.body

    await asyncio.gather(*(send(k, r) for k, r in orders))
    return orders


async def test_duplicated_shuffled_reports_end_in_one_status_and_one_entry_each(
    client: Client, tables: Tables, rel_stack: LocalStack
) -> None:
    assert rel_stack.host is not None
    rng = random.Random(11)
    webhook = rel_stack.host.base_url + WEBHOOK
    sms = await _orders(client, "sms", SMS_ORDERS)
    email = await _orders(client, "email", EMAIL_ORDERS)
    # shipment id -> the statuses its reports stand for (the first one written wins)
    expected: dict[str, set[str]] = {}
    events: list[dict[str, Any]] = []
    for n, (key, phone) in enumerate(sms):
        shipment_id = shipment(CALLER, "sms", key)
        record = await tables.order(shipment_id)
        assert record is not None and record.provider_id is not None
        statuses = rng.sample(sorted(SMS_OUTCOMES), 2 if n % 4 == 0 else 1)
        expected[shipment_id] = {SMS_OUTCOMES[s] for s in statuses}
        for i, status in enumerate(statuses):
            when = f"2026-11-26T10:00:0{3 + i}.1234567Z"
            events += [sms_report_event(shipment_id, record.provider_id, phone, status, event_time=when)] * COPIES
    for n, (key, address) in enumerate(email):
        shipment_id = shipment(CALLER, "email", key)
        record = await tables.order(shipment_id)
        assert record is not None and record.provider_id is not None
        statuses = rng.sample(sorted(EMAIL_OUTCOMES), 2 if n % 4 == 0 else 1)
        expected[shipment_id] = {EMAIL_OUTCOMES[s] for s in statuses}
        events += [email_report_event(record.provider_id, address, status) for status in statuses] * COPIES
    rng.shuffle(events)

    answers: Counter[int] = Counter()
    gate = asyncio.Semaphore(CONCURRENCY)
    done = asyncio.Event()
    reads = 0

    async def deliver(event: dict[str, Any]) -> None:
        async with gate, client.session.post(webhook, json=[event], headers=NOTIFICATION) as response:
            answers[response.status] += 1

    async def reader() -> None:
        nonlocal reads
        ids = sorted(expected)
        while not done.is_set():
            reply = await client.get(f"/future/shipment/{rng.choice(ids)}", caller=CALLER)
            assert reply.status == 200, reply.body
            reads += 1

    started = time.monotonic()
    readers = [asyncio.create_task(reader()) for _ in range(READERS)]
    try:
        await asyncio.gather(*(deliver(e) for e in events))
    finally:
        done.set()
        await asyncio.gather(*readers)
    elapsed = time.monotonic() - started

    assert answers == Counter({202: len(events)}), answers
    contradicted = 0
    for shipment_id, outcomes in expected.items():
        record = await tables.order(shipment_id)
        assert record is not None and record.status.value in outcomes, (shipment_id, record and record.status)
        final = record.status.value
        reports = [a for a in await tables.audit(shipment_id) if a.outcome == "delivery_report"]
        # one entry per report written, each naming the status after it: the change, then (if a
        # second report contradicted it) that report, once however often it came
        assert [a.status for a in reports] == [final] * len(outcomes), shipment_id
        assert len({a.provider_status for a in reports}) == len(outcomes), shipment_id
        contradicted += len(outcomes) - 1
        seen = (await client.get(f"/future/shipment/{shipment_id}", caller=CALLER)).json()
        assert (seen["status"], seen["recipients"][0]["status"]) == ("Order_Completed", final)
    assert elapsed < TIME_LIMIT_SECONDS
    figure(
        "delivery-report storm",
        f"{len(expected)} orders ({SMS_ORDERS} SMS, {EMAIL_ORDERS} email), {contradicted} of them also "
        f"contradicted, {len(events)} deliveries ({COPIES} per report, shuffled, {CONCURRENCY} at once) "
        f"with {reads} GET shipment reads in {elapsed:.1f} s: every status the first written report's, "
        "one delivery_report entry per report written",
    )
