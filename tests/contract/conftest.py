from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from azure.data.tables.aio import TableClient

from instant.adapters.table_store import TABLE_CLIENT_OPTIONS, TableOrderStore
from instant.domain.ports import OrderStore
from sandbox.services import AzuriteProcess
from tests.support.fakes import InMemoryOrderStore


@pytest.fixture
def memory_store() -> OrderStore:
    return InMemoryOrderStore()


@pytest.fixture
async def table_store(azurite: AzuriteProcess) -> AsyncIterator[OrderStore]:
    client = TableClient.from_connection_string(azurite.connection_string, "contract", **TABLE_CLIENT_OPTIONS)
    store = TableOrderStore(client)
    await store.ensure_table()
    yield store
    await store.close()


@pytest.fixture(params=["memory_store", "table_store"])
def store(request: pytest.FixtureRequest) -> OrderStore:
    # A sync fixture, so pytest-asyncio can set up the async one it names.
    chosen: OrderStore = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
async def empty_table_store(azurite: AzuriteProcess) -> AsyncIterator[OrderStore]:
    """A Table store on a table of its own: purge tests count rows, so no other test's rows."""
    name = f"purge{uuid.uuid4().hex[:16]}"
    client = TableClient.from_connection_string(azurite.connection_string, name, **TABLE_CLIENT_OPTIONS)
    store = TableOrderStore(client)
    await store.ensure_table()
    yield store
    await client.delete_table()
    await store.close()


@pytest.fixture(params=["memory_store", "empty_table_store"])
def empty_store(request: pytest.FixtureRequest) -> OrderStore:
    chosen: OrderStore = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
def key() -> str:
    return f"key-{uuid.uuid4().hex}"
