"""A table created on first use: local runs create their table, Bicep does in Azure.

Creating it on first use, not at start-up, means a storage that is down when a worker starts
gives 503s until it is back, and then works, with no restart. One create per worker.
"""

from __future__ import annotations

import asyncio

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.data.tables.aio import TableClient

from instant.adapters.table_retry import RETRIED_POST
from instant.domain.errors import StorageUnavailable


class LazyTable:
    """Makes sure a table exists, once, the first time a call needs it."""

    def __init__(self, client: TableClient, *, create: bool) -> None:
        self._client = client
        self._ready = not create
        self._creating = asyncio.Lock()

    async def create(self) -> None:
        """Create the table if it is missing."""
        try:
            await self._client.create_table(**RETRIED_POST)
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise StorageUnavailable("cannot create the table") from exc

    async def ready(self) -> None:
        """The table exists (created now if this worker has not seen it yet)."""
        if self._ready:
            return
        async with self._creating:
            if not self._ready:
                await self.create()
                self._ready = True
