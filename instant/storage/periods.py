"""Which table holds an order: tables per period, so retention drops whole tables.

Periods are calendar months (UTC), named ``<base>YYYYMM``. The first period starts when this
layout was first used (``since``, recorded once in the base table) and runs to the first month
start at least 28 days later; before ``since`` is the base table itself, the single table of
earlier versions (the legacy period). Every period is therefore at least 28 days long, twice
the longest idempotency retention (``MAX_RETENTION``), so an order still live at time t was
received in the period of t or in the one before it, and only in the first ``retention`` of a
period (near its start) can it be in the one before. docs/architecture.md, "Storage periods",
gives the protocol that keeps a key exact across that boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Periods are at least twice this long (a February is 28 days).
MAX_RETENTION = timedelta(days=14)
# A write that began while its order was live lands within this (a lease, a report's read-write).
LATE_WRITE = timedelta(hours=1)
_BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    """One table and the receipt times [start, end) whose new orders it holds."""

    table: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Where:
    """The tables a request at one moment looks in: the current period's, and near its start
    the one before (where an order received up to ``retention`` ago may live)."""

    current: Period
    older: Period | None


def month_start(moment: datetime) -> datetime:
    """The first instant of the UTC month of ``moment``."""
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    """The first instant of the month after the one starting at ``start``."""
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


class PeriodLayout:
    """The periods of one deployment: its base table name, ``since``, and the retention."""

    def __init__(self, base: str, since: datetime, retention: timedelta) -> None:
        if retention > MAX_RETENTION:
            raise ValueError(f"the idempotency retention may be at most {MAX_RETENTION}")
        self.base = base
        self.since = since
        self.retention = retention
        # The first month boundary at least two maximum retentions after ``since``.
        first = month_start(since + 2 * MAX_RETENTION)
        self._first_month = first if first >= since + 2 * MAX_RETENTION else next_month(first)

    def period_of(self, moment: datetime) -> Period:
        """The period whose table a new order received at ``moment`` belongs to."""
        if moment < self.since:
            return Period(self.base, _BEGINNING, self.since)
        if moment < self._first_month:
            return Period(self._name(self.since), self.since, self._first_month)
        start = month_start(moment)
        return Period(self._name(start), start, next_month(start))

    def previous(self, period: Period) -> Period | None:
        """The period before ``period`` (None before the legacy one)."""
        return None if period.table == self.base else self.period_of(period.start - _TICK)

    def where(self, moment: datetime) -> Where:
        """Where a request at ``moment`` claims and reads."""
        current = self.period_of(moment)
        near = moment < current.start + self.retention
        return Where(current, self.previous(current) if near else None)

    def named(self, table: str) -> Period | None:
        """The period of a table name of this layout, or None (the base table, other tables)."""
        digits = table[len(self.base) :]
        if not table.startswith(self.base) or len(digits) != 6 or not digits.isdigit():
            return None
        year, month = int(digits[:4]), int(digits[4:])
        if not 1 <= month <= 12:
            return None
        start = datetime(year, month, 1, tzinfo=UTC)
        if table == self._name(self.since):
            return self.period_of(self.since)
        return self.period_of(start) if start >= self._first_month else None

    def last_write(self, period: Period) -> datetime:
        """After this moment nothing is written to the period's table any more: its newest
        order was received before ``end + retention`` (near the next period's start) and stays
        live for one more ``retention``; a write that began while it was live (a takeover's
        final write, a delivery report) lands within ``LATE_WRITE`` of that.

        With the longest retention allowed, not this deployment's: a deployment with a longer
        IDEMPOTENCY_RETENTION_HOURS may have written to the table until then."""
        return period.end + 2 * MAX_RETENTION + LATE_WRITE

    def upcoming(self, now: datetime) -> list[Period]:
        """The current period and the next one (their tables are created ahead of use)."""
        current = self.period_of(now)
        return [current, self.period_of(current.end)]

    def _name(self, start: datetime) -> str:
        return f"{self.base}{start:%Y%m}"
