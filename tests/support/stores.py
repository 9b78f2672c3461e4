"""Order stores on Azurite for tests: the production PeriodOrderStore over real Table rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from azure.data.tables.aio import TableServiceClient

from instant.adapters.table_retry import TABLE_CLIENT_OPTIONS
from instant.adapters.table_rows import TableRows
from instant.domain.clock import Clock, SystemClock
from instant.storage.order_store import PeriodOrderStore

RETENTION = timedelta(hours=168)


def table_rows(connection_string: str) -> TableRows:
    """Rows on the Azurite (or Azure) account of ``connection_string``."""
    return TableRows(TableServiceClient.from_connection_string(connection_string, **TABLE_CLIENT_OPTIONS))


def period_store(
    connection_string: str,
    base: str,
    *,
    since: datetime | None = None,
    clock: Clock | None = None,
    retention: timedelta = RETENTION,
) -> PeriodOrderStore:
    """The app's order store on ``base`` (its layout read from storage unless ``since`` is given)."""
    return PeriodOrderStore(
        table_rows(connection_string), base=base, retention=retention, clock=clock or SystemClock(), since=since
    )
