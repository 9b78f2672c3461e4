"""In-process workers on one Azurite, for the storage-period tests on real Table Storage
(tests/reliability/test_period_boundary_storm.py, tests/integration/test_upgrade_from_single_table.py).

Each worker is what one Functions worker is in production: an InstantService with its own clock
and its own PeriodOrderStore over its own TableRows (its own connections, its own memory of the
tables it wrote to), all on the same storage account. Only the SMS gateway is shared, a fake, so
the test counts every hand-off to the provider. tests/support/period_scenarios.py is the
in-memory version for the exhaustive interleaving proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from instant.domain.answer import Answer
from instant.domain.delivery_status import Report
from instant.domain.digests import PLAIN
from instant.domain.errors import ProblemError
from instant.domain.orders import Order
from instant.domain.records import OrderRecord
from instant.entrypoints.answers import WireRenderer, problem_answer
from instant.idempotency import transitions
from instant.service.instant_service import InstantService, RequestInfo
from instant.storage.order_store import PeriodOrderStore
from tests.support.fakes import FakeClock, FakeEmailGateway, FakeSmsGateway, InMemoryTallyStore
from tests.support.stores import RETENTION, period_store, table_rows
from tests.support.unit import CALLER, SETTINGS

TRACE = "e" * 32
DEAD_LEASE_SECONDS = 30


def dead_holder(order: Order, received: datetime) -> OrderRecord:
    """The record of a request for ``order`` received at ``received`` whose worker died after
    its claim and before the hand-off: in progress, its lease run out 30 s later."""
    return transitions.draft(
        order,
        caller=CALLER.caller,
        sender=SETTINGS.sms_default_sender or "",
        fingerprint=order.fingerprint(PLAIN),
        now=received,
        lease_seconds=DEAD_LEASE_SECONDS,
        lease_owner="dead-worker",
    )


@dataclass
class Worker:
    """One worker's service, its store and its clock."""

    service: InstantService
    store: PeriodOrderStore
    clock: FakeClock

    async def send(self, order: Order, request: RequestInfo) -> Answer:
        """The answer the caller gets: a raised problem rendered as the edge renders it."""
        try:
            return await self.service.send(order, request)
        except ProblemError as problem:
            return problem_answer(problem)

    async def get_shipment(self, caller: str, shipment_id: str) -> Answer:
        """GET shipment as the caller sees it."""
        try:
            return await self.service.get_shipment(caller, shipment_id, TRACE)
        except ProblemError as problem:
            return problem_answer(problem)

    async def report(self, report: Report) -> str:
        """A delivery report, as the delivery_report function hands it to the service."""
        return await self.service.delivery_report(report, TRACE)


class AzureWorkers:
    """Workers on the tables of ``base`` in one storage account, sharing a fake SMS gateway.

    ``since`` None: each worker reads the layout row (the first ever writes it), as the app does.
    """

    def __init__(
        self,
        connection_string: str,
        base: str,
        *,
        since: datetime | None,
        retention: timedelta = RETENTION,
        provider_delay: float = 0.02,
    ) -> None:
        self.connection_string = connection_string
        self.base = base
        self.since = since
        self.retention = retention
        # A short provider call keeps a holder's hand-off open while the others arrive.
        self.sms = FakeSmsGateway(delay=provider_delay)
        # The test's own view of the account (listing, seeding, dropping), apart from the workers'.
        self.admin = table_rows(connection_string)
        self._workers: list[Worker] = []

    def worker(self, at: datetime) -> Worker:
        """A new worker whose clock stands at ``at``."""
        clock = FakeClock(at)
        store = period_store(self.connection_string, self.base, since=self.since, clock=clock, retention=self.retention)
        service = InstantService(
            store=store,
            sms=self.sms,
            email=FakeEmailGateway(),
            clock=clock,
            settings=SETTINGS,
            renderer=WireRenderer(),
            tallies=InMemoryTallyStore(),
        )
        made = Worker(service, store, clock)
        self._workers.append(made)
        return made

    async def tables(self) -> list[str]:
        """The tables of this base (the base table and its period tables)."""
        return sorted(await self.admin.tables(self.base))

    async def close(self, *, drop: bool = True) -> None:
        """Close every worker's store; drop this base's tables first (``drop``)."""
        if drop:
            for name in await self.admin.tables(self.base):
                await self.admin.drop(name)
        for made in self._workers:
            await made.store.close()
        self._workers.clear()
        await self.admin.close()
