"""Away from a period boundary and near one (instant/storage/periods.py).

The app reads ``since`` from its base table's layout row on first use; a fresh Azurite would
make every app "near" (since = now) for its first ``retention``. So the harness writes the
layout row itself before any app starts: the stack's app (and the floor, and the controls-off
app, which share its base table) are "away"; a second app process on a base table of its own
("near", since = an hour ago) claims in the table before and links in the current one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import aiohttp

from bench.counting import AzuriteLog, LogWindow, split_parts
from bench.load import Sent, ServiceClient, UnexpectedAnswer
from bench.reports import counted, deliver, report_events
from instant import bootstrap
from instant.adapters.table_rows import TableRows
from instant.config import Settings
from instant.domain.clock import SystemClock
from instant.storage.order_store import LAYOUT_PARTITION, LAYOUT_ROW, PeriodOrderStore
from instant.storage.periods import PeriodLayout
from instant.storage.rows import RowExists
from sandbox.services import LocalHostProcess, start_local_host_process

NEAR_TABLE: Final = "instantnear"  # the near app's base table (INSTANT_TABLE_NAME)
# The first period runs from ``since`` to the first month start at least 28 days later, so
# with since = now - 20 days "now" stays inside it for at least 8 more days, and past its first
# retention (at most 14 days): away, whatever the date.
AWAY_AGE: Final = timedelta(days=20)
NEAR_AGE: Final = timedelta(hours=1)

Paired = Callable[[int, Callable[[int], Awaitable[None]], Callable[[int], Awaitable[None]]], Awaitable[None]]


def layout_since(now: datetime, retention: timedelta, *, near: bool) -> datetime:
    """The ``since`` that makes ``now`` near a period boundary (or away from one)."""
    since = now - (NEAR_AGE if near else AWAY_AGE)
    where = PeriodLayout("check", since, retention).where(now)
    if (where.older is not None) != near:
        raise ValueError(f"since {since} does not make {now} {'near' if near else 'away'}")
    return since


async def write_layout(config: Settings, base: str, since: datetime) -> None:
    """Record ``since`` in ``base``'s layout row, as the first app ever would have."""
    rows = TableRows(bootstrap.table_service(config))
    try:
        await rows.insert(base, {"PartitionKey": LAYOUT_PARTITION, "RowKey": LAYOUT_ROW, "Since": since})
    except RowExists as exc:
        raise UnexpectedAnswer(f"{base} already has a layout row: not a fresh Azurite") from exc
    finally:
        await rows.close()


async def write_layouts(config: Settings) -> None:
    """Before any app starts: the stack's base table away from a period boundary, the near
    app's base table near one."""
    now, retention = datetime.now(UTC), timedelta(hours=config.idempotency_retention_hours)
    await write_layout(config, config.instant_table_name, layout_since(now, retention, near=False))
    await write_layout(config, NEAR_TABLE, layout_since(now, retention, near=True))


def period_store(config: Settings, base: str) -> PeriodOrderStore:
    """The app's order store on ``base`` (layout read from storage), for the harness's reads."""
    return PeriodOrderStore(
        TableRows(bootstrap.table_service(config)),
        base=base,
        retention=timedelta(hours=config.idempotency_retention_hours),
        clock=SystemClock(),
    )


async def start_near_app(app_env: dict[str, str], workdir: Path) -> LocalHostProcess:
    """A second app process like the stack's, on the base table ``NEAR_TABLE``."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    return await start_local_host_process({**app_env, "INSTANT_TABLE_NAME": NEAR_TABLE}, 0, workdir=workdir)


@dataclass(frozen=True)
class Counted:
    """Table requests per operation in one quiet window, in total and by part."""

    per: int
    total: float
    orders: float
    tallies: float
    kinds: str

    @classmethod
    def of(cls, window: LogWindow, base: str, per: int) -> Counted:
        """Per-operation figures of ``window`` (``per`` operations, the app on ``base``)."""
        parts = split_parts(window.requests, base)
        kinds = ", ".join(f"{k} {v / per:g}" for k, v in sorted(window.kinds.items())) or "none"
        return cls(per, window.lines / per, parts["orders"] / per, parts["tallies"] / per, kinds)


@dataclass
class PeriodsResult:
    """Counts and latencies away from a boundary (the stack's app) and near one (second app)."""

    counts: dict[str, Counted] = field(default_factory=dict)  # "<operation>, <away|near>"
    away: list[float] = field(default_factory=list)  # new SMS send latencies, paired
    near: list[float] = field(default_factory=list)


async def _shipments(client: ServiceClient, items: list[Sent]) -> None:
    for item in items:
        await client.shipment(item.shipment_id)


async def count_operations(
    result: PeriodsResult,
    mode: str,
    client: ServiceClient,
    azurite: AzuriteLog,
    *,
    base: str,
    store: PeriodOrderStore,
    session: aiohttp.ClientSession,
    host_url: str,
    count: int,
) -> None:
    """``count`` new SMS sends, then a GET of each shipment and a delivery report for each."""
    start = await azurite.settled_size()
    sent = [await client.send_new("sms") for _ in range(count)]
    result.counts[f"new sms send, {mode}"] = Counted.of(
        azurite.window(start, await azurite.settled_size()), base, len(sent)
    )
    window = await counted(azurite, _shipments(client, sent))
    result.counts[f"GET shipment, {mode}"] = Counted.of(window, base, len(sent))
    events = await report_events(store, "sms", [item.shipment_id for item in sent])
    window = await counted(azurite, deliver(session, host_url, events))
    result.counts[f"sms delivery report, {mode}"] = Counted.of(window, base, len(events))


async def paired_latencies(
    result: PeriodsResult, away: ServiceClient, near: ServiceClient, *, samples: int, paired: Paired
) -> None:
    """``samples`` new SMS sends to each app, paired and alternating which goes first."""

    async def send_away(_: int) -> None:
        result.away.append((await away.send_new("sms")).seconds)

    async def send_near(_: int) -> None:
        result.near.append((await near.send_new("sms")).seconds)

    await paired(samples, send_away, send_near)


@dataclass(frozen=True)
class PeriodsSetup:
    """What the periods phase talks to."""

    app_env: dict[str, str]
    config: Settings
    session: aiohttp.ClientSession
    away: ServiceClient  # the stack's app
    away_url: str
    azurite: AzuriteLog
    workdir: Path


async def measure_periods(
    setup: PeriodsSetup, *, count: int, warmup: int, samples: int, paired: Paired
) -> PeriodsResult:
    """Start the near app, count both apps' operations, then pair their new-send latencies."""
    result = PeriodsResult()
    near_app = await start_near_app(setup.app_env, setup.workdir)
    stores = {
        "away": period_store(setup.config, setup.config.instant_table_name),
        "near": period_store(setup.config, NEAR_TABLE),
    }
    try:
        near = ServiceClient(setup.session, near_app.base_url)
        for _ in range(warmup):
            item = await near.send_new("sms")
            await near.shipment(item.shipment_id)
        for mode, client, url, base in (
            ("away", setup.away, setup.away_url, setup.config.instant_table_name),
            ("near", near, near_app.base_url, NEAR_TABLE),
        ):
            await stores[mode].layout()  # read before the windows open: the harness's, not the app's
            await count_operations(
                result,
                mode,
                client,
                setup.azurite,
                base=base,
                store=stores[mode],
                session=setup.session,
                host_url=url,
                count=count,
            )
        await paired_latencies(result, setup.away, near, samples=samples, paired=paired)
    finally:
        for store in stores.values():
            await store.close()
        await near_app.stop()
    return result
