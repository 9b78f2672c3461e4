"""The bench's arithmetic and log parsing (the timing itself is never asserted: bench/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.counting import AzuriteLog, classify
from bench.load import ClosedLoopResult
from bench.stats import Summary, percentile


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
