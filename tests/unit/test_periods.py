"""Storage periods (instant/storage/periods.py): which table a moment belongs to, when a
request must also look in the table before, and when a table may be dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from instant.storage.periods import LATE_WRITE, MAX_RETENTION, PeriodLayout

WEEK = timedelta(days=7)
SINCE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
LAYOUT = PeriodLayout("orders", SINCE, WEEK)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_before_since_is_the_base_table_with_nothing_older() -> None:
    where = LAYOUT.where(SINCE - timedelta(microseconds=1))
    assert (where.current.table, where.older) == ("orders", None)


def test_the_first_period_runs_from_since_to_the_first_month_start_28_days_later() -> None:
    first = LAYOUT.period_of(SINCE)
    assert (first.table, first.start, first.end) == ("orders202611", SINCE, utc(2027, 1, 1))
    # December 1 is only 11 days after since: it is no boundary, December is in the first period
    assert LAYOUT.period_of(utc(2026, 12, 15)).table == "orders202611"
    assert LAYOUT.period_of(utc(2027, 1, 1)).table == "orders202701"
    assert LAYOUT.period_of(utc(2027, 2, 28, 23, 59)).table == "orders202702"


def test_near_a_start_the_table_before_is_consulted_and_away_from_it_not() -> None:
    january = utc(2027, 1, 1)
    assert LAYOUT.where(january).older is not None
    assert LAYOUT.where(january).older.table == "orders202611"  # type: ignore[union-attr]
    assert LAYOUT.where(january + WEEK - timedelta(microseconds=1)).older is not None
    assert LAYOUT.where(january + WEEK).older is None
    # the first period's start is near the base table, the single table of earlier versions
    assert LAYOUT.where(SINCE).older.table == "orders"  # type: ignore[union-attr]


@pytest.mark.parametrize("since", [utc(2026, 1, 31, 23), utc(2026, 2, 1), utc(2027, 12, 31), utc(2028, 2, 3)])
def test_every_period_is_at_least_twice_the_longest_retention(since: datetime) -> None:
    layout = PeriodLayout("t", since, MAX_RETENTION)
    period = layout.period_of(since)
    for _ in range(30):
        assert period.end - period.start >= 2 * MAX_RETENTION, period
        period = layout.period_of(period.end)


def test_a_retention_longer_than_the_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        PeriodLayout("t", SINCE, MAX_RETENTION + timedelta(hours=1))


def test_table_names_map_back_to_their_periods_and_nothing_else_does() -> None:
    assert LAYOUT.named("orders202611") == LAYOUT.period_of(SINCE)
    assert LAYOUT.named("orders202703") == LAYOUT.period_of(utc(2027, 3, 2))
    # December is inside the first period: no table of that name belongs to the layout
    assert [LAYOUT.named(n) for n in ("orders", "orders202612", "orders202613", "ordersx", "other202701")] == [None] * 5


def test_a_period_is_written_to_until_two_of_the_longest_retentions_after_its_end() -> None:
    november = LAYOUT.period_of(SINCE)
    # an order received in the window after the end lives in it, and stays live one retention;
    # the longest allowed, as a deployment with it may have written there (and a late write)
    assert LAYOUT.last_write(november) == november.end + 2 * MAX_RETENTION + LATE_WRITE


def test_the_tables_made_ready_ahead_are_this_period_and_the_next() -> None:
    assert [p.table for p in LAYOUT.upcoming(utc(2027, 1, 20))] == ["orders202701", "orders202702"]
    assert [p.table for p in LAYOUT.upcoming(utc(2027, 12, 20))] == ["orders202712", "orders202801"]
