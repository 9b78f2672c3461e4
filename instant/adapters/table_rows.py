"""The Rows port (instant/storage/rows.py) on Azure Table Storage (azure-data-tables, async).

One TableServiceClient; a TableClient per table, sharing its transport. A table is created the
first time an insert of this worker finds it missing (the retention timer also creates each
period's table ahead of its first order), so a worker never needs the period tables to exist at
start-up. A table this worker has written to and then finds missing has vanished (storage lost
its data): that is a 503 until a restart, never a silent new table that forgets every key.
Retries are the Table client's (instant/adapters/table_retry.py); each POST is given RETRIED_POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from instant.adapters.table_retry import RETRIED_POST
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.storage.rows import Entity, Row, RowExists

_PAGE = 100


def _row(entity: Any) -> Row:
    etag = entity.metadata.get("etag") if hasattr(entity, "metadata") else None
    if not isinstance(etag, str):
        raise StorageUnavailable("the store answered without an ETag")
    return Row(dict(entity), etag)


def _etag(metadata: Mapping[str, Any]) -> str:
    etag = metadata.get("etag")
    if not isinstance(etag, str):
        raise StorageUnavailable("the store answered without an ETag")
    return etag


def _missing_table(exc: HttpResponseError) -> bool:
    # Azure names the code in a header (error_code); Azurite only in the body.
    return getattr(exc, "error_code", None) == "TableNotFound" or "TableNotFound" in str(exc)


class TableRows:
    """Rows on the tables of one storage account."""

    def __init__(self, service: TableServiceClient) -> None:
        self._service = service
        self._clients: dict[str, TableClient] = {}
        self._known: set[str] = set()  # tables this worker created or wrote to

    def _table(self, name: str) -> TableClient:
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self._service.get_table_client(name)
        return client

    async def insert(self, table: str, entity: Entity) -> str:
        """See ``Rows.insert``."""
        for _ in range(2):
            try:
                etag = _etag(await self._table(table).create_entity(dict(entity), **RETRIED_POST))
                self._known.add(table)
                return etag
            except ResourceExistsError:
                self._known.add(table)
                raise RowExists(table) from None
            except ResourceNotFoundError as exc:
                if not _missing_table(exc) or table in self._known:
                    raise StorageUnavailable("insert failed: the table is missing") from exc
                await self.create(table)
            except AzureError as exc:
                raise StorageUnavailable("insert failed") from exc
        raise StorageUnavailable("the table could not be created")

    async def read(self, table: str, partition: str, row: str) -> Row | None:
        """See ``Rows.read``."""
        try:
            return _row(await self._table(table).get_entity(partition, row))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StorageUnavailable("read failed") from exc

    async def replace(self, table: str, entity: Entity, etag: str, *, insert: Entity | None = None) -> str:
        """See ``Rows.replace``."""
        client = self._table(table)
        condition: dict[str, Any] = {
            "mode": UpdateMode.REPLACE,
            "etag": etag,
            "match_condition": MatchConditions.IfNotModified,
        }
        try:
            if insert is None:
                return _etag(await client.update_entity(dict(entity), **condition))
            update, create = ("update", dict(entity), condition), ("create", dict(insert))
            results = await client.submit_transaction([update, create], **RETRIED_POST)
            return _etag(results[0])
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise RecordChanged("the row changed or vanished") from exc
        except TableTransactionError as exc:
            if exc.status_code in (404, 409, 412):
                raise RecordChanged("the row changed or vanished") from exc
            raise StorageUnavailable("transaction failed") from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise RecordChanged("the row changed") from exc
            raise StorageUnavailable("replace failed") from exc
        except AzureError as exc:
            raise StorageUnavailable("replace failed") from exc

    async def delete(self, table: str, partition: str, row: str, etag: str | None) -> bool:
        """See ``Rows.delete``."""
        options: dict[str, Any] = (
            {} if etag is None else {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        )
        try:
            # A 404 (a concurrent purge got there first) returns quietly: the row is gone either way.
            await self._table(table).delete_entity(partition, row, **options)
        except ResourceModifiedError:
            return False
        except HttpResponseError as exc:
            if exc.status_code == 412:
                return False
            raise StorageUnavailable("delete failed") from exc
        except AzureError as exc:
            raise StorageUnavailable("delete failed") from exc
        return True

    async def partition(self, table: str, partition: str, row_from: str, row_to: str) -> list[Row]:
        """See ``Rows.partition``."""
        query = "PartitionKey eq @pk and RowKey gt @lo and RowKey lt @hi"
        return await self._query(table, query, {"pk": partition, "lo": row_from, "hi": row_to})

    async def partitions(self, table: str, first: str, end: str, row: str) -> list[Row]:
        """See ``Rows.partitions``: a PartitionKey range, served by the key index."""
        query = "PartitionKey ge @lo and PartitionKey lt @hi and RowKey eq @row"
        return await self._query(table, query, {"lo": first, "hi": end, "row": row})

    async def older(
        self, table: str, row_from: str, row_to: str, time_property: str, before: datetime, limit: int
    ) -> list[Row]:
        """See ``Rows.older``: a filtered scan, paged, stopped after ``limit`` rows."""
        if limit <= 0:
            return []
        query = f"RowKey ge @lo and RowKey le @hi and {time_property} lt @cutoff"
        params = {"lo": row_from, "hi": row_to, "cutoff": before}
        return await self._query(table, query, params, limit=limit, select=["PartitionKey", "RowKey"])

    async def _query(
        self,
        table: str,
        query: str,
        params: dict[str, Any],
        *,
        limit: int | None = None,
        select: list[str] | None = None,
    ) -> list[Row]:
        found: list[Row] = []
        try:
            pages = self._table(table).query_entities(
                query, parameters=params, select=select, results_per_page=min(limit or _PAGE, _PAGE)
            )
            async for entity in pages:
                found.append(_row(entity))
                if limit is not None and len(found) >= limit:
                    break
        except ResourceNotFoundError:
            return []
        except AzureError as exc:
            raise StorageUnavailable("query failed") from exc
        return found

    async def tables(self, prefix: str) -> list[str]:
        """See ``Rows.tables``."""
        try:
            found = self._service.query_tables(
                "TableName ge @lo and TableName lt @hi", parameters={"lo": prefix, "hi": prefix + "{"}
            )
            return [item.name async for item in found]
        except AzureError as exc:
            raise StorageUnavailable("table listing failed") from exc

    async def create(self, table: str) -> None:
        """See ``Rows.create``."""
        try:
            await self._service.create_table(table, **RETRIED_POST)
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise StorageUnavailable("cannot create the table") from exc
        self._known.add(table)

    async def drop(self, table: str) -> None:
        """See ``Rows.drop``."""
        try:
            await self._service.delete_table(table)
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            raise StorageUnavailable("cannot drop the table") from exc
        self._known.discard(table)
        client = self._clients.pop(table, None)
        if client is not None:
            await client.close()

    async def close(self) -> None:
        """Close every table client and the service client."""
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        await self._service.close()
