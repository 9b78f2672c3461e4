"""The capacity bench's third design: the controls' tallies, which stay in the base table and are
purged by a scan (TableTallyStore.purge), at the same two sizes as the orders."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta

from azure.data.tables.aio import TableClient, TableServiceClient

from bench.counting import AzuriteLog, describe
from instant.adapters.table_tallies import TableTallyStore, tally_entity
from instant.domain.tallies import Tally, TallyEntry

TABLE = "captallies"
# A tally decides nothing once its newest entry left the longest window and its UTC day
# (instant/service/retention.py): a day with the default limits.
TALLY_RETENTION = timedelta(days=1)
_CONCURRENCY = 16


async def _fill(client: TableClient, count: int, last_at: datetime) -> None:
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def one() -> None:
        key = f"recipient|sms|{uuid.uuid4().hex}"  # the shape of instant/limits' keys
        async with gate:
            await client.create_entity(tally_entity(Tally(key, (TallyEntry(uuid.uuid4().hex, last_at),), 1)))

    await asyncio.gather(*(one() for _ in range(count)))


async def measure_tallies(
    service: TableServiceClient, log: AzuriteLog, now: datetime, *, expired: int, live: tuple[int, int], limit: int
) -> list[tuple[str, int, int, int, float, str]]:
    """(size, live rows, expired rows purged, Table requests, seconds, kinds) for each size:
    ``expired`` tallies past retention with ``live[0]``, then ``live[1]`` more, that stay."""
    await service.create_table(TABLE)
    client = service.get_table_client(TABLE)
    store = TableTallyStore(client)
    runs = []
    live_rows = 0
    try:
        for size, more in zip(("small", "large"), live, strict=True):
            await _fill(client, expired, now - 2 * TALLY_RETENTION)
            await _fill(client, more, now - timedelta(hours=1))
            live_rows += more
            start = await log.settled_size()
            started = time.perf_counter()
            deleted = await store.purge(now - TALLY_RETENTION, limit=limit)
            seconds = time.perf_counter() - started
            window = log.window(start, await log.settled_size())
            runs.append((size, live_rows, deleted, window.lines, seconds, describe(window.kinds, 1)))
    finally:
        await client.close()
    return runs
