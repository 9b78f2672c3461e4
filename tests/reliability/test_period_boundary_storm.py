"""A storm with one key at a storage period boundary, on Azurite.

The exhaustive proof (tests/unit/test_period_interleavings.py) runs every interleaving on
in-memory rows; this runs the same protocol on Table Storage, with real latency and real
concurrency: 24 workers (each its own service, clock, store and connections, on one Azurite)
send one key at once, half with clocks just before an edge and half just after. Three edges:
a month boundary (October's table | November's), the end of the near window (until it, November's
requests claim in October's table and link; after it, in November's alone), and the first
period's start (the older table is the base table, where an earlier version kept every order).
Promise: one hand-off to the provider, every answer 201, a replay of it (200) or 409, and a later
request replays the sent order.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from instant.domain.answer import Answer
from instant.domain.orders import SmsOrder
from instant.domain.records import OrderRecord, OrderState, shipment_id_for
from instant.storage.entities import is_link, order_entity
from sandbox.stack import LocalStack
from tests.support.period_workers import AzureWorkers, Worker, dead_holder
from tests.support.reliability import figure
from tests.support.unit import CALLER

pytestmark = pytest.mark.integration

RETENTION = timedelta(hours=168)
SINCE = datetime(2026, 9, 1, tzinfo=UTC)  # periods: September (the first), October, November
BOUNDARY = datetime(2026, 11, 1, tzinfo=UTC)
WINDOW_END = BOUNDARY + RETENTION
REQUESTS = 24  # per key: half just before the edge, half just after
# Keys per edge, one round each: (a worker after the edge starts first, the other side's head
# start in seconds). A head start lets the slower path (near: claim, then link) win sometimes.
ROUNDS = [(False, 0.0), (True, 0.0), (False, 0.05), (True, 0.05), (False, 0.25)]
TIME_LIMIT_SECONDS = 60
MS = timedelta(milliseconds=1)
MINUTE = timedelta(minutes=1)


def clocks(edge: datetime, after_first: bool) -> list[datetime]:
    """Half the clocks just before ``edge``, half just after, alternating (so both sides start
    at once); ``after_first``: a worker after the edge starts first."""
    signs = (1, -1) if after_first else (-1, 1)
    return [edge + sign * (i + 1) * MS for i in range(REQUESTS // 2) for sign in signs]


def order(key: str) -> SmsOrder:
    return SmsOrder(key, None, "+4799999999", 300, None, "Your code is 123456.")


async def storm(workers: AzureWorkers, edge: datetime, key: str, after_first: bool, head_start: float) -> list[Answer]:
    """REQUESTS workers send ``key`` at once (the second side ``head_start`` later); their answers."""

    async def send(worker: Worker, delay: float) -> Answer:
        await asyncio.sleep(delay)
        return await worker.send(order(key), CALLER)

    senders = [workers.worker(at) for at in clocks(edge, after_first)]
    return await asyncio.gather(*(send(w, head_start * (i % 2)) for i, w in enumerate(senders)))


def judge(answers: list[Answer], hand_offs: int) -> Answer:
    """One hand-off, one 201, every other answer a replay of it or a 409; the 201."""
    statuses = Counter(a.status for a in answers)
    assert hand_offs == 1, f"handed to the provider {hand_offs} times: {statuses}"
    assert set(statuses) <= {200, 201, 409}, [(a.status, a.code) for a in answers if a.status not in (200, 201, 409)]
    assert statuses[201] == 1, statuses
    (created,) = [a for a in answers if a.status == 201]
    assert all(a.body == created.body for a in answers if a.status == 200), "a replay differs from the 201"
    return created


@pytest.mark.parametrize(
    ("edge", "older", "current", "start", "dead"),
    [
        pytest.param(BOUNDARY, "202610", "202611", BOUNDARY, False, id="month boundary"),
        pytest.param(WINDOW_END, "202610", "202611", BOUNDARY, False, id="end of the near window"),
        pytest.param(WINDOW_END, "202610", "202611", BOUNDARY, True, id="end of the near window, a dead holder"),
        pytest.param(SINCE, "", "202609", SINCE, False, id="first period's start, the base table before it"),
    ],
)
async def test_one_key_from_both_sides_of_an_edge_is_sent_once(
    rel_stack: LocalStack, edge: datetime, older: str, current: str, start: datetime, dead: bool
) -> None:
    """``dead``: the key's order was claimed two minutes before the edge, in the older table,
    by a worker that died before its link and its hand-off (its lease has run out)."""
    assert rel_stack.azurite is not None
    base = f"storm{uuid.uuid4().hex[:12]}"
    workers = AzureWorkers(rel_stack.azurite.connection_string, base, since=SINCE, retention=RETENTION)
    started = time.monotonic()
    tally: Counter[int] = Counter()
    winners: Counter[str] = Counter()
    try:
        for after_first, head_start in ROUNDS:
            key = f"storm-{uuid.uuid4().hex[:12]}"
            before = len(workers.sms.calls)
            if dead:
                await workers.admin.insert(base + older, order_entity(dead_holder(order(key), edge - 2 * MINUTE)))
            answers = await asyncio.wait_for(storm(workers, edge, key, after_first, head_start), TIME_LIMIT_SECONDS)
            tally.update(a.status for a in answers)
            created = judge(answers, len(workers.sms.calls) - before)
            # A later retry, on a worker of its own, replays the sent order and sends nothing.
            later = workers.worker(edge + timedelta(seconds=1))
            retry = await later.send(order(key), CALLER)
            assert (retry.status, retry.body) == (200, created.body)
            assert len(workers.sms.calls) - before == 1, "a later retry sent again"
            shipment_id = shipment_id_for(CALLER.caller, order(key).channel, key)
            found = await later.store.get(shipment_id)
            assert found is not None and found.state is OrderState.COMPLETED
            assert found.provider_id == f"msg-{len(workers.sms.sent)}"
            winners["after" if found.received_at > edge else "before"] += 1  # when the sent order came
            await _placed(workers, found, base + older, (base + current, start))
        assert time.monotonic() - started < TIME_LIMIT_SECONDS
    finally:
        await workers.close()
    figure(
        f"period boundary storm at {edge:%Y-%m-%d %H:%M}{', a dead holder' if dead else ''}",
        f"{len(ROUNDS)} keys x {REQUESTS} requests in {time.monotonic() - started:.1f} s: "
        f"{dict(sorted(tally.items()))}, the order sent received {dict(winners)} the edge",
    )


async def _placed(workers: AzureWorkers, found: OrderRecord, older: str, current: tuple[str, datetime]) -> None:
    """The sent order lives in one of the edge's two tables. In the older one, it is linked
    from the current table exactly when it was received in the current period (near its start):
    a request away from that start looks in the current table alone."""
    (table, start), home = current, found.stored_in
    assert home in (older, table), home
    row = await workers.admin.read(table, found.shipment_id, "order")
    if home == older:
        linked = row is not None and is_link(row.entity) and row.entity["Home"] == older
        assert linked == (found.received_at >= start), (found.received_at, row)
