"""The boundary scenarios of the storage periods, for the exhaustive interleaving tests
(tests/unit/test_period_interleavings.py: two requests; tests/reliability/
test_period_interleavings_three.py: three). Each request runs the whole service (guard, claim
protocol, final write) on its own worker: its own clock and its own production order store, all
on one in-memory Rows; tests/support/interleavings.py runs every order of their storage steps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from instant.domain.answer import Answer
from instant.domain.digests import PLAIN
from instant.domain.orders import SmsOrder
from instant.domain.records import OrderRecord, OrderState, shipment_id_for
from instant.idempotency import transitions
from instant.storage.entities import order_entity
from instant.storage.order_store import PeriodOrderStore
from tests.support.fake_rows import FakeRows
from tests.support.fakes import FakeClock, FakeSmsGateway
from tests.support.interleavings import Requests, explore
from tests.support.unit import CALLER, SETTINGS, World, world_on

BASE = "orders"
RETENTION = timedelta(hours=168)
SINCE = datetime(2026, 9, 1, tzinfo=UTC)  # periods: Sep 1 (the first), Oct, Nov, ...
BOUNDARY = datetime(2026, 11, 1, tzinfo=UTC)  # October's table | November's table
WINDOW_END = BOUNDARY + RETENTION  # from here on, November's requests look in November only
MS = timedelta(milliseconds=1)
KEY = "otp-7f3a"
ORDER = SmsOrder(KEY, None, "+4799999999", 300, None, "Your code is 123456.")
SHIPMENT = shipment_id_for(CALLER.caller, ORDER.channel, KEY)


class Workers:
    """One service per request, each with its own clock and its own store on the shared rows."""

    def __init__(self, rows: FakeRows) -> None:
        self.rows = rows
        self.sms = FakeSmsGateway()

    def worker(self, at: datetime) -> World[PeriodOrderStore]:
        clock = FakeClock(at)
        return world_on(
            PeriodOrderStore(self.rows, base=BASE, retention=RETENTION, clock=clock, since=SINCE), clock, self.sms
        )


async def scenario(at: list[datetime], seed: dict[str, list[dict[str, Any]]] | None = None) -> int:
    """Explore requests received at ``at`` (one each), on rows seeded with ``seed``; check each
    interleaving; the number of interleavings."""
    shared: dict[str, Workers] = {}

    async def build(rows: FakeRows) -> Requests:
        for table, entities in (seed or {}).items():
            for entity in entities:
                rows._stamp(table, entity)
        workers = shared["w"] = Workers(rows)
        return [(f"r{i}@{t:%d %H:%M:%S.%f}", _sender(workers.worker(t))) for i, t in enumerate(at)]

    async def check(rows: FakeRows, answers: dict[str, Any]) -> None:
        workers = shared["w"]
        sent = [m.token for m in workers.sms.calls]
        assert len(sent) <= 1, f"handed to the provider {len(sent)} times: {answers}"
        statuses = {name: a.status for name, a in answers.items()}
        assert set(statuses.values()) <= {200, 201, 409}, statuses  # 200: a replay of the 201
        assert (201 in statuses.values()) == (len(sent) == 1), (statuses, sent)
        # A later retry, from either side, finds the order that was sent (or takes the key if
        # nothing was): the rows name one order for the key.
        rows.step = None
        later = workers.worker(max(at) + MS)
        store = later.store
        found = await store.get(SHIPMENT)
        if sent:
            assert found is not None and found.state is OrderState.COMPLETED, found
            assert workers.sms.calls[0].first_sent_at == found.first_sent_at
        retry = await later.send(ORDER, CALLER)
        assert retry.status == (200 if sent else 201), retry.body
        assert len(workers.sms.calls) == 1, "a retry after the race sent again"

    return await explore(build, check)


def _sender(world: World[PeriodOrderStore]) -> Any:
    async def send() -> Answer:
        return await world.send(ORDER, CALLER)

    return send


def crashed_near_holder() -> dict[str, list[dict[str, Any]]]:
    """An order received near the window's end whose worker died after its claim in October's
    table and before its link in November's: in progress, its 30 s lease gone, no link, its
    time-to-live still running."""
    record = draft_of(WINDOW_END - timedelta(minutes=2))
    return {f"{BASE}202610": [order_entity(record)]}


def draft_of(received: datetime) -> OrderRecord:
    """The record a request for ORDER received at ``received`` claims (same payload)."""
    return transitions.draft(
        ORDER,
        caller=CALLER.caller,
        sender=SETTINGS.sms_default_sender or "",
        fingerprint=ORDER.fingerprint(PLAIN),
        now=received,
        lease_seconds=30,
        lease_owner="dead-worker",
    )
