"""The capacity bench (issue 14): what a retention run costs per expired row, and that the cost
does not grow with the rows that stay.

On an Azurite of its own (in memory), two designs, each at two sizes in the same run: the same
expired orders, with ``live`` and then ``factor`` x ``live`` orders that stay.

- periods: PeriodOrderStore with ``since`` two years back; the expired orders fill the period
  tables a run drops whole, the live ones the tables of the last year. ``Retention.purge``.
- tallies: the controls' counters, which stay in the base table: as many expired tallies as
  expired orders, with as many live ones as live orders. ``TableTallyStore.purge``.
- legacy: the same orders in one base table (``since`` in the future, so all of it is the
  legacy period, purged row by row by a scan); the live orders are from the last 6 days, so
  neither their order rows nor their audit entries expire. ``Retention.purge``.

Table requests are counted from this Azurite's access log around each run; the fill is not.
The large size is the small one's tables filled again: the expired orders once more (their
tables, or rows, are gone) and ``factor - 1`` x ``live`` more live orders.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.data.tables.aio import TableServiceClient

from bench.capacity_fill import ROWS_PER_ORDER, Filler, expired_periods, live_periods, spread
from bench.capacity_tallies import measure_tallies
from bench.counting import AzuriteLog, describe
from bench.timed_rows import TimedRows
from instant.adapters.table_retry import TABLE_CLIENT_OPTIONS
from instant.adapters.table_rows import TableRows
from instant.service.retention import PurgeReport, Retention
from instant.storage.order_store import PeriodOrderStore
from instant.storage.periods import Period, PeriodLayout
from sandbox.services import start_azurite

RETENTION_HOURS = 168
AUDIT_RETENTION_DAYS = 365
PURGE_LIMIT = 5000  # the service's (instant/service/instant_service.py, purge_limit)


@dataclass(frozen=True)
class CapacityPlan:
    """Orders per size (each an order row and two audit entries)."""

    expired: int = 1000
    live: int = 1000
    factor: int = 4


CAPACITY = CapacityPlan()


class FixedClock:
    """The clock of a retention run at one chosen moment."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        """The chosen moment."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Never called by a retention run."""
        raise NotImplementedError


@dataclass(frozen=True)
class Run:
    """One retention run: what it removed, the Table requests it made, its wall time."""

    design: str
    size: str
    live_rows: int
    expired_rows: int
    requests: int
    seconds: float
    kinds: str
    dropped: int
    scan_seconds: float = 0.0  # of ``seconds``: the legacy scans (Rows.older), deletes not included

    @property
    def requests_per_row(self) -> float:
        """Table requests per expired row."""
        return self.requests / self.expired_rows if self.expired_rows else float("nan")

    @property
    def seconds_per_row(self) -> float:
        """Wall time per expired row."""
        return self.seconds / self.expired_rows if self.expired_rows else float("nan")


@dataclass
class CapacityResult:
    """Both designs at both sizes, and how fast this Azurite took the fill."""

    plan: CapacityPlan
    runs: list[Run] = field(default_factory=list)
    idle: Run | None = None  # a periods run with nothing to drop: what most hourly runs cost
    fill_rows: int = 0
    fill_seconds: float = 0.0
    elapsed: float = 0.0

    def run(self, design: str, size: str) -> Run | None:
        """The run of ``design`` at ``size`` ("small" or "large"), if measured."""
        return next((r for r in self.runs if r.design == design and r.size == size), None)


@dataclass(frozen=True)
class _Account:
    """The capacity Azurite: a service client for the fill, its connection string, its log."""

    service: TableServiceClient
    connection_string: str
    log: AzuriteLog

    def store(self, base: str, layout: PeriodLayout, now: datetime, since: datetime) -> _Store:
        """The app's order store on ``base``, at ``now``, with ``since`` given (no layout row)."""
        rows = TimedRows(
            TableRows(TableServiceClient.from_connection_string(self.connection_string, **TABLE_CLIENT_OPTIONS))
        )
        return _Store(
            PeriodOrderStore(rows, base=base, retention=layout.retention, clock=FixedClock(now), since=since), rows
        )


@dataclass(frozen=True)
class _Store:
    orders: PeriodOrderStore
    rows: TimedRows


@dataclass(frozen=True)
class _Purged:
    requests: int
    seconds: float
    kinds: str
    report: PurgeReport
    scan_seconds: float


async def _purge(store: _Store, now: datetime, limit: int, log: AzuriteLog) -> _Purged:
    retention = Retention(
        store=store.orders,
        clock=FixedClock(now),
        retention_hours=RETENTION_HOURS,
        audit_retention_days=AUDIT_RETENTION_DAYS,
        limit=limit,
    )
    start = await log.settled_size()
    scanned = store.rows.scan_seconds
    started = time.perf_counter()
    report = await retention.purge(now)
    seconds = time.perf_counter() - started
    window = log.window(start, await log.settled_size())
    return _Purged(window.lines, seconds, describe(window.kinds, 1), report, store.rows.scan_seconds - scanned)


async def _periods(result: CapacityResult, account: _Account, now: datetime) -> None:
    plan, base = result.plan, "capperiods"
    audit = timedelta(days=AUDIT_RETENTION_DAYS)
    layout = PeriodLayout(base, now - timedelta(days=730), timedelta(hours=RETENTION_HOURS))
    expired, live = expired_periods(layout, now, audit), live_periods(layout, now, audit)
    filler = Filler(account.service, now)
    store = account.store(base, layout, now, layout.since)
    try:
        for size, live_orders in (("small", plan.live), ("large", plan.live * (plan.factor - 1))):
            await filler.fill(spread(expired, plan.expired, now))
            await filler.fill(spread(live, live_orders, now))
            total = sum(filler.rows.values())
            purged = await _purge(store, now, PURGE_LIMIT, account.log)
            gone = await filler.forget(purged.report.dropped)
            result.runs.append(
                Run(
                    "periods",
                    size,
                    total - gone,
                    gone,
                    purged.requests,
                    purged.seconds,
                    purged.kinds,
                    len(purged.report.dropped),
                )
            )
        purged = await _purge(store, now, PURGE_LIMIT, account.log)
        result.idle = Run(
            "periods", "idle", sum(filler.rows.values()), 0, purged.requests, purged.seconds, purged.kinds, 0
        )
    finally:
        await store.orders.close()
        await filler.close()
    result.fill_rows += filler.written
    result.fill_seconds += filler.seconds


async def _legacy(result: CapacityResult, account: _Account, now: datetime) -> None:
    plan, base = result.plan, "caplegacy"
    audit = timedelta(days=AUDIT_RETENTION_DAYS)
    # The same receipt times as the periods' expired orders, all in the base table.
    layout = PeriodLayout("capperiods", now - timedelta(days=730), timedelta(hours=RETENTION_HOURS))
    expired = [Period(base, p.start, p.end) for p in expired_periods(layout, now, audit)]
    recent = [Period(base, now - timedelta(days=6), now)]
    filler = Filler(account.service, now)
    store = account.store(base, layout, now, now + timedelta(days=1))  # since in the future: all legacy
    try:
        for size, live_orders in (("small", plan.live), ("large", plan.live * (plan.factor - 1))):
            await filler.fill(spread(expired, plan.expired, now))
            await filler.fill(spread(recent, live_orders, now))
            total = filler.rows[base]
            limit = plan.expired * ROWS_PER_ORDER + 1  # one run takes them all: the scan's best case
            purged = await _purge(store, now, limit, account.log)
            deleted = purged.report.orders + purged.report.audit_entries
            filler.rows[base] -= deleted
            result.runs.append(
                Run(
                    "legacy",
                    size,
                    total - deleted,
                    deleted,
                    purged.requests,
                    purged.seconds,
                    purged.kinds,
                    0,
                    purged.scan_seconds,
                )
            )
    finally:
        await store.orders.close()
        await filler.close()
    result.fill_rows += filler.written
    result.fill_seconds += filler.seconds


async def measure_capacity(workdir: Path, say: Callable[[str], None], plan: CapacityPlan = CAPACITY) -> CapacityResult:
    """Start an in-memory Azurite in ``workdir``, measure both designs at both sizes, stop it."""
    result = CapacityResult(plan)
    started = time.perf_counter()
    say(
        f"capacity: {plan.expired} expired orders with {plan.live}, then {plan.factor * plan.live} live ones "
        f"({ROWS_PER_ORDER} rows each), periods and legacy; as many tallies; on an Azurite of its own"
    )
    azurite = await start_azurite(workdir)
    service = TableServiceClient.from_connection_string(azurite.connection_string, **TABLE_CLIENT_OPTIONS)
    account = _Account(service, azurite.connection_string, AzuriteLog(azurite.log_path))
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        await _periods(result, account, now)
        await _legacy(result, account, now)
        tallies = await measure_tallies(
            service,
            account.log,
            now,
            expired=plan.expired,
            live=(plan.live, plan.live * (plan.factor - 1)),
            limit=PURGE_LIMIT,
        )
        for size, live_rows, deleted, requests, seconds, kinds in tallies:
            result.runs.append(Run("tallies", size, live_rows, deleted, requests, seconds, kinds, 0))
    finally:
        await service.close()
        await azurite.stop()
    result.elapsed = time.perf_counter() - started
    return result
