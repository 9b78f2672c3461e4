from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from instant.adapters.table_rows import TableRows
from instant.domain.ports import OrderStore
from instant.storage.order_store import PeriodOrderStore
from instant.storage.rows import Rows
from sandbox.services import AzuriteProcess
from tests.support.builders import T0
from tests.support.fake_rows import FakeRows
from tests.support.fakes import FakeClock, InMemoryOrderStore
from tests.support.stores import period_store, table_rows

# The contract's records are received around T0: the table store runs with the clock there, and
# its periods placed so T0 is away from a period's start (one table), or near it (two tables),
# or before the first period (the base table alone: how an earlier version's table is kept).
AWAY = T0 - timedelta(days=40)
NEAR = T0 - timedelta(days=1)
LEGACY = datetime(2100, 1, 1, tzinfo=UTC)
RETENTION = timedelta(days=14)


@pytest.fixture
def memory_store() -> OrderStore:
    return InMemoryOrderStore()


@pytest.fixture
def rows_store() -> OrderStore:
    """The production store over the in-memory rows, away from a period's start."""
    return PeriodOrderStore(FakeRows(), base="contract", retention=RETENTION, clock=FakeClock(T0), since=AWAY)


@pytest.fixture
async def table_store(azurite: AzuriteProcess) -> AsyncIterator[OrderStore]:
    store = period_store(azurite.connection_string, "contract", since=AWAY, clock=FakeClock(T0), retention=RETENTION)
    yield store
    await store.close()


@pytest.fixture
async def near_table_store(azurite: AzuriteProcess) -> AsyncIterator[OrderStore]:
    clock = FakeClock(T0)
    store = period_store(azurite.connection_string, "contractnear", since=NEAR, clock=clock, retention=RETENTION)
    yield store
    await store.close()


@pytest.fixture(params=["memory_store", "rows_store", "table_store", "near_table_store"])
def store(request: pytest.FixtureRequest) -> OrderStore:
    # A sync fixture, so pytest-asyncio can set up the async one it names.
    chosen: OrderStore = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
async def empty_table_store(azurite: AzuriteProcess) -> AsyncIterator[OrderStore]:
    """A Table store on a table of its own: purge tests count rows, so no other test's rows."""
    name = f"purge{uuid.uuid4().hex[:16]}"
    store = period_store(azurite.connection_string, name, since=LEGACY, clock=FakeClock(T0), retention=RETENTION)
    yield store
    await store._rows.drop(name)
    await store.close()


@pytest.fixture(params=["memory_store", "empty_table_store"])
def empty_store(request: pytest.FixtureRequest) -> OrderStore:
    chosen: OrderStore = request.getfixturevalue(request.param)
    return chosen


@pytest.fixture
def key() -> str:
    return f"key-{uuid.uuid4().hex}"


# -- the Rows contract (tests/contract/test_rows*.py): the in-memory rows and TableRows ---------


@pytest.fixture
def prefix() -> str:
    """A table name prefix of this test's own (no other test's tables share it)."""
    return f"rows{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def azure_rows(azurite: AzuriteProcess, prefix: str) -> AsyncIterator[TableRows]:
    rows = table_rows(azurite.connection_string)
    yield rows
    for name in await rows.tables(prefix):
        await rows.drop(name)
    await rows.close()


@pytest.fixture(params=["fake", "azure_rows"])
def rows(request: pytest.FixtureRequest) -> Rows:
    # A sync fixture, so pytest-asyncio can set up the async one it names.
    if request.param == "fake":
        return FakeRows()
    chosen: Rows = request.getfixturevalue(request.param)
    return chosen
