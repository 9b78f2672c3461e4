"""The bench's arithmetic and log parsing (the timing itself is never asserted: bench/README.md)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench.capacity import Run
from bench.capacity_fill import expired_periods, live_periods, spread
from bench.cost import Counts, Volumes, daily_cost, mixed, projection
from bench.counting import AzuriteLog, LogWindow, TableRequest, classify, parse_access, split_parts
from bench.load import ClosedLoopResult
from bench.periods import Counted, layout_since
from bench.stats import Summary, percentile
from instant.storage.periods import PeriodLayout


def test_percentile_is_the_nearest_rank() -> None:
    samples = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile(samples, 1.0) == 100.0
    assert percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)


def test_summary_of_samples() -> None:
    summary = Summary.of([4.0, 1.0, 3.0, 2.0])
    assert (summary.n, summary.p50, summary.p99, summary.minimum, summary.maximum) == (4, 2.5, 4.0, 1.0, 4.0)


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("POST", "/devstoreaccount1/instantorders", "insert"),
        ("POST", "/devstoreaccount1/$batch", "batch"),
        ("GET", "/devstoreaccount1/instantorders(PartitionKey='a',RowKey='order')", "point read"),
        ("GET", "/devstoreaccount1/instantorders()?$filter=PartitionKey%20eq%20'a'", "query"),
        ("PUT", "/devstoreaccount1/instantorders(PartitionKey='a',RowKey='order')", "update"),
        ("POST", "/devstoreaccount1/Tables", "table admin"),
    ],
)
def test_table_requests_are_classified(method: str, path: str, kind: str) -> None:
    assert classify(method, path) == kind


def _access(request: str, status: int) -> str:
    return f'127.0.0.1 - - [26/Nov/2026:19:55:14 +0000] "{request} HTTP/1.1" {status} -\n'


def test_a_log_window_counts_access_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "azurite.log"
    log.write_text("Azurite Table service is listening\n" + _access("POST /devstoreaccount1/instantorders", 201))
    start = log.stat().st_size
    with log.open("a") as handle:
        handle.write(_access("POST /devstoreaccount1/instantorders", 201))
        handle.write(_access("POST /devstoreaccount1/$batch", 202))
        handle.write("some other line\n")
    window = AzuriteLog(log).window(start, log.stat().st_size)
    assert window.lines == 2
    assert dict(window.kinds) == {"insert": 1, "batch": 1}


def test_throughput_is_the_sum_of_the_clients_own_rates() -> None:
    # Two clients, each 4 answers in 1 s: 8/s, whatever the tail after the window.
    result = ClosedLoopResult(clients=2, duration=1.0, elapsed=1.25, per_client=[(4, 1.0), (4, 1.0)])
    assert result.throughput == pytest.approx(8.0)


def _requests(*lines: tuple[str, str, int]) -> list[TableRequest]:
    return [TableRequest(method, path, status) for method, path, status in lines]


def test_a_request_names_its_table_and_keys() -> None:
    keyed = TableRequest("GET", "/devstoreaccount1/instantorders(PartitionKey='a%7Cb',RowKey='tally')", 404)
    assert (keyed.table, keyed.keys) == ("instantorders", ("a%7Cb", "tally"))
    insert = TableRequest("POST", "/devstoreaccount1/instantorders202611", 201)
    assert (insert.table, insert.keys) == ("instantorders202611", None)
    assert TableRequest("POST", "/devstoreaccount1/$batch", 202).table == "$batch"
    assert parse_access(_access("GET /devstoreaccount1/t()?$filter=x", 200)) == TableRequest(
        "GET", "/devstoreaccount1/t()?$filter=x", 200
    )
    assert parse_access("Azurite Table service is listening") is None


def test_away_the_base_table_holds_only_the_tallies() -> None:
    parts = split_parts(
        _requests(
            ("POST", "/a/instantorders202611", 201),  # the claim, in the current period's table
            ("POST", "/a/instantorders", 204),  # the new tally (return-no-content)
            ("POST", "/a/$batch", 202),  # the final write
        ),
        "instantorders",
    )
    assert dict(parts) == {"orders": 2, "tallies": 1}


def test_near_a_boundary_the_base_table_inserts_are_split_by_their_status() -> None:
    parts = split_parts(
        _requests(
            ("POST", "/a/instantnear", 201),  # the claim in the table before (here the base table)
            ("POST", "/a/instantnear", 204),  # the new tally: return-no-content
            ("POST", "/a/instantnear202611", 201),  # the link
            ("POST", "/a/$batch", 202),
            ("GET", "/a/instantnear(PartitionKey='recipient|sms|y',RowKey='tally')", 200),
            ("PUT", "/a/instantnear(PartitionKey='recipient|sms|y',RowKey='tally')", 204),  # an existing tally
            ("POST", "/a/Tables", 201),
        ),
        "instantnear",
    )
    assert dict(parts) == {"orders": 3, "tallies": 3, "other": 1}


def test_the_layout_since_makes_now_away_or_near_whatever_the_date() -> None:
    retention = timedelta(hours=336)  # the longest allowed
    for day in range(0, 366, 3):
        now = datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=day)
        for near in (False, True):
            since = layout_since(now, retention, near=near)
            assert (PeriodLayout("t", since, retention).where(now).older is not None) is near


def test_the_capacity_model_splits_the_tables_a_run_drops_from_those_it_keeps() -> None:
    now = datetime(2026, 11, 29, 8, tzinfo=UTC)
    layout = PeriodLayout("cap", now - timedelta(days=730), timedelta(hours=168))
    audit = timedelta(days=365)
    expired, live = expired_periods(layout, now, audit), live_periods(layout, now, audit)
    assert all(layout.last_write(p) + audit <= now for p in expired)
    assert all(layout.last_write(p) + audit > now for p in live)
    assert len(expired) == 11 and len(live) == 13 and expired[-1].end == live[0].start
    placed = list(spread(expired, 25, now))
    assert len(placed) == 25
    assert all(p.start <= at < p.end for table, at in placed for p in expired if p.table == table)
    assert {table for table, _ in placed} == {p.table for p in expired}
    assert all(at <= now for _, at in spread(live, 30, now))


def test_a_send_near_a_boundary_weighs_in_for_the_first_retention_of_each_month() -> None:
    volumes = Volumes(retention_days=7)
    assert volumes.near_fraction == pytest.approx(7 / 30.4375)
    assert mixed(4, 5, volumes) == pytest.approx(4 + 7 / 30.4375)
    counts = Counts(4, 5, 1, 1, 2, 2, 3, 5)
    lines = {line.what: line for line in projection(counts, volumes)}
    assert lines["new send"].requests == pytest.approx(1_000_000 * (4 + 7 / 30.4375))
    assert lines["retention run"].requests == 24 * 5
    total, usd = daily_cost(list(lines.values()), price_per_10k=0.001)
    assert total == pytest.approx(sum(line.requests for line in lines.values()))
    assert usd == pytest.approx(total / 10_000 * 0.001)


def test_counted_figures_are_per_operation_and_split() -> None:
    requests = _requests(
        ("POST", "/a/base202611", 201),
        ("POST", "/a/base", 204),
        ("POST", "/a/$batch", 202),
    )
    window = LogWindow(len(requests) * 2, Counter({"insert": 4, "batch": 2}), tuple(requests * 2))
    counted = Counted.of(window, "base", per=2)
    assert (counted.total, counted.orders, counted.tallies) == (3, 2, 1)
    assert counted.kinds == "batch 1, insert 2"


def test_a_retention_run_costs_per_expired_row() -> None:
    run = Run("periods", "small", live_rows=10, expired_rows=400, requests=16, seconds=0.2, kinds="", dropped=11)
    assert (run.requests_per_row, run.seconds_per_row) == (0.04, 0.0005)
    idle = Run("periods", "idle", live_rows=10, expired_rows=0, requests=5, seconds=0.01, kinds="", dropped=0)
    assert math.isnan(idle.requests_per_row)
