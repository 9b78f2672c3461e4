"""In-process workers on one Azurite, for the storage-period tests on real Table Storage
(tests/reliability/test_period_boundary_storm.py, tests/integration/test_upgrade_from_single_table.py).

Each worker is what one Functions worker is in production: an InstantService with its own clock
and its own PeriodOrderStore over its own TableRows (its own connections, its own memory of the
tables it wrote to), all on the same storage account. Only the SMS gateway is shared, a fake, so
the test counts every hand-off to the provider. tests/support/period_scenarios.py is the
in-memory version for the exhaustive interleaving proof.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from instant.domain.digests import PLAIN
from instant.domain.orders import Order
from instant.domain.records import OrderRecord
from instant.idempotency import transitions
from instant.storage.order_store import PeriodOrderStore
from tests.support.fakes import FakeClock, FakeSmsGateway
from tests.support.stores import RETENTION, period_store, table_rows
from tests.support.unit import CALLER, SETTINGS, World, world_on

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


# A worker: the service, its production store on Azurite, its clock (tests/support/unit.py).
Worker = World[PeriodOrderStore]


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
        made = world_on(store, clock, self.sms)
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
