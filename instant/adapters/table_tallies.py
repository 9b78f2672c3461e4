"""TallyStore on Azure Table Storage: the counters of the abuse and cost controls.

PartitionKey = the tally's key ("recipient|<channel>|<keyed digest>" or
"budget|<caller>|<UTC day>"), RowKey = "tally": one entity per counter, so a count is one
conditional write (insert if new, else replace if the ETag still matches), plus a point read
when the gate's memory of the tally was out of date (instant/limits/gate.py). The
entries are one JSON property of [shipment id, epoch milliseconds, weight] triples. They share
the orders' table; the retention purge only ever selects RowKey "order" and "audit|...".
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from instant.adapters.lazy_table import LazyTable
from instant.adapters.table_retry import RETRIED_POST
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.domain.ports import purge_cutoff
from instant.domain.tallies import Tally, TallyEntry

TALLY_ROW = "tally"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PURGE_PAGE_SIZE = 100
_PURGE_CONCURRENCY = 16


def tally_entity(tally: Tally) -> dict[str, Any]:
    """The entity of a tally."""
    entries = [[e.shipment_id, round(e.at.timestamp() * 1000), e.weight] for e in tally.entries]
    return {
        "PartitionKey": tally.key,
        "RowKey": TALLY_ROW,
        "Kind": "tally",
        "Total": tally.total,
        "Entries": json.dumps(entries, separators=(",", ":")),
        # What the retention purge selects on: a tally with nothing newer than the longest
        # window decides nothing any more (an empty one: at once).
        "LastAt": max((e.at for e in tally.entries), default=_EPOCH),
    }


def tally_from(key: str, entity: Any) -> Tally:
    """The tally of an entity, with its ETag."""
    try:
        raw = json.loads(entity.get("Entries") or "[]")
        entries = tuple(TallyEntry(str(s), datetime.fromtimestamp(ms / 1000, UTC), int(w)) for s, ms, w in raw)
        total = int(entity.get("Total", 0))
    except (ValueError, TypeError) as exc:
        raise StorageUnavailable("a stored tally is not readable") from exc
    return Tally(key, entries, total, _etag(entity.metadata))


def _etag(metadata: Any) -> str:
    etag = metadata.get("etag") if metadata else None
    if not isinstance(etag, str):
        raise StorageUnavailable("the store answered without an ETag")
    return etag


class TableTallyStore:
    """TallyStore on one Azure table (the orders' table)."""

    def __init__(self, client: TableClient, *, create_table: bool = False) -> None:
        self._client = client
        self._table = LazyTable(client, create=create_table)

    async def _ready(self) -> None:
        await self._table.ready()

    async def read(self, key: str) -> Tally:
        """Point read; a missing tally is an empty one."""
        await self._ready()
        try:
            entity = await self._client.get_entity(key, TALLY_ROW)
        except ResourceNotFoundError:
            return Tally(key)
        except AzureError as exc:
            raise StorageUnavailable("tally read failed") from exc
        return tally_from(key, entity)

    async def write(self, tally: Tally) -> Tally:
        """Insert a new tally, or replace one whose ETag still matches."""
        await self._ready()
        try:
            if tally.etag is None:
                # 204 with the ETag instead of 201 with the entity echoed back: the store has
                # nothing to learn from the echo, and parsing it costs the send time.
                metadata = await self._client.create_entity(
                    tally_entity(tally), response_preference="return-no-content", **RETRIED_POST
                )
            else:
                metadata = await self._client.update_entity(
                    tally_entity(tally),
                    mode=UpdateMode.REPLACE,
                    etag=tally.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as exc:
            raise RecordChanged("the tally changed") from exc
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                raise RecordChanged("the tally changed") from exc
            raise StorageUnavailable("tally write failed") from exc
        except AzureError as exc:
            raise StorageUnavailable("tally write failed") from exc
        return Tally(tally.key, tally.entries, tally.total, _etag(metadata))

    async def purge(self, last_before: datetime, *, limit: int) -> int:
        """See ``TallyStore.purge``: page by page, each delete ETag-matched (one written since
        it was found is left for the next run; one already gone counts as deleted)."""
        await self._ready()
        deleted = found = 0
        try:
            pages = self._client.query_entities(
                "RowKey eq @row and LastAt lt @cutoff",
                parameters={"row": TALLY_ROW, "cutoff": purge_cutoff(last_before)},
                select=["PartitionKey", "RowKey"],
                results_per_page=max(1, min(limit, _PURGE_PAGE_SIZE)),
            ).by_page()
            gate = asyncio.Semaphore(_PURGE_CONCURRENCY)

            async def delete(entity: Any) -> int:
                async with gate:
                    return await self._delete(entity)

            async for page in pages:
                batch = [e async for e in page][: limit - found]
                found += len(batch)
                # A page's deletes in flight at once: a day's expired tallies at national volume
                # (up to a million) must fit in the hourly runs.
                deleted += sum(await asyncio.gather(*(delete(e) for e in batch)))
                if found >= limit:
                    break
        except AzureError as exc:
            raise StorageUnavailable("tally purge failed") from exc
        return deleted

    async def _delete(self, entity: Any) -> int:
        try:
            # A 404 (a concurrent purge got there first) returns quietly: gone either way.
            await self._client.delete_entity(
                entity["PartitionKey"],
                TALLY_ROW,
                etag=_etag(entity.metadata),
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return 0  # counted again since the query: the next run decides again
        except HttpResponseError as exc:
            if exc.status_code == 412:
                return 0
            raise
        return 1

    async def close(self) -> None:
        """Close the client."""
        await self._client.close()
