"""The storage figures of a run: away from a period boundary and near one, the capacity bench,
and the projected daily cost at national scale (targets and Markdown)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.capacity import CapacityResult, Run
from bench.check import Check, md_table
from bench.cost import PRICE_PER_10K_USD, Counts, Volumes, daily_cost, projection
from bench.periods import Counted, PeriodsResult
from bench.run_results import Results
from bench.stats import Summary, ms, ratio

# A hourly run that drops nothing, from the code, when the capacity bench did not run (smoke):
# two period tables made ready, the listing, the base table's two scans.
IDLE_RUN_FROM_CODE = 5.0
# An expired tally, from the code (TableTallyStore.purge): its delete, and a query page per 100.
PER_TALLY_FROM_CODE = 1.01


def _split(counted: Counted) -> str:
    return f"{counted.total:g} (orders {counted.orders:g} + controls {counted.tallies:g})"


def periods_checks(results: Results) -> list[Check]:
    """Table requests near a boundary against away from one, and the near send's latency."""
    found = results.periods
    if found is None:
        return []
    out: list[Check] = []
    away, near = found.counts.get("new sms send, away"), found.counts.get("new sms send, near")
    if away is not None and near is not None:
        out.append(
            Check(
                "Table requests / new sms send, near a period boundary",
                _split(near),
                f"away {_split(away)}",
                "",
                "<= away + 1",
                near.total <= away.total + 1 and near.orders <= away.orders + 1,
                f"{near.kinds}; the claim in the table before, then the link in the current one "
                "(second app, since = 1 h ago)",
            )
        )
    for operation, limit in (("GET shipment", 1), ("sms delivery report", 2)):
        far, close = found.counts.get(f"{operation}, away"), found.counts.get(f"{operation}, near")
        if far is None or close is None:
            continue
        out.append(
            Check(
                f"Table requests / {operation}, away / near",
                f"{far.total:g} / {close.total:g}",
                "",
                "",
                f"<= {limit} / <= {limit + 1}",
                far.total <= limit and close.total <= limit + 1,
                f"away: {far.kinds}; near: {close.kinds}",
            )
        )
    if found.away and found.near and "sms" in results.floor:
        a, n = Summary.of(found.away), Summary.of(found.near)
        insert = Summary.of([s.claim for s in results.floor["sms"]]).p50
        out.append(
            Check(
                "new sms send near a period boundary vs away p50",
                f"{ms(n.p50)} ms",
                f"away p50 {ms(a.p50)} ms + one insert (floor claim p50 {ms(insert)} ms)",
                f"{ratio(n.p50, a.p50):.2f}x",
                "<= away + 1.5 inserts",
                n.p50 - a.p50 <= 1.5 * insert,
                f"+{ms(n.p50 - a.p50)} ms; p99 {ms(n.p99)} ms vs {ms(a.p99)} ms; {len(found.near)} pairs, "
                "two app processes on one Azurite",
            )
        )
    return out


def _per_row(run: Run, seconds: bool = False) -> str:
    return f"{run.seconds_per_row * 1000:.3f} ms" if seconds else f"{run.requests_per_row:.4f}"


def capacity_checks(capacity: CapacityResult | None) -> list[Check]:
    """Retention's cost per expired row, small and large, for both designs."""
    if capacity is None:
        return []
    out: list[Check] = []
    for design, target in (("periods", True), ("legacy", False), ("tallies", False)):
        small, large = capacity.run(design, "small"), capacity.run(design, "large")
        if small is None or large is None:
            continue
        grew = ratio(large.requests_per_row, small.requests_per_row)
        slower = ratio(large.seconds_per_row, small.seconds_per_row)
        sizes = f"{small.expired_rows} expired rows with {small.live_rows} live, then with {large.live_rows}"
        out += [
            Check(
                f"retention: Table requests / expired row, {design}, large vs small",
                f"{_per_row(large)}",
                f"small {_per_row(small)}",
                f"{grew:.2f}x",
                "<= 1.2x" if target else "",
                grew <= 1.2 if target else None,
                f"{sizes}; large run: {large.kinds}",
            ),
            Check(
                f"retention: seconds / expired row, {design}, large vs small",
                _per_row(large, seconds=True),
                f"small {_per_row(small, seconds=True)}",
                f"{slower:.2f}x",
                "",
                None,
                f"runs of {ms(small.seconds)} ms and {ms(large.seconds)} ms",
            ),
        ]
        if small.scan_seconds and large.scan_seconds:
            out.append(
                Check(
                    f"retention: scan seconds / expired row, {design}, large vs small",
                    f"{large.scan_seconds / large.expired_rows * 1000:.3f} ms",
                    f"small {small.scan_seconds / small.expired_rows * 1000:.3f} ms",
                    f"{ratio(large.scan_seconds, small.scan_seconds):.2f}x",
                    "",
                    None,
                    "the time in the scans that find the expired rows (Rows.older), the deletes left out",
                )
            )
    return out


def _counts(results: Results) -> Counts | None:
    found = results.periods
    replay = results.replay_trips.get("sms")
    if found is None or replay is None:
        return None
    needed = [
        f"{op}, {mode}" for op in ("new sms send", "GET shipment", "sms delivery report") for mode in ("away", "near")
    ]
    if any(name not in found.counts for name in needed):
        return None
    c = {name: found.counts[name].total for name in needed}
    capacity = results.capacity
    idle = capacity.idle if capacity is not None else None
    tallies = capacity.run("tallies", "large") if capacity is not None else None
    return Counts(
        c["new sms send, away"],
        c["new sms send, near"],
        replay.table,
        c["GET shipment, away"],
        c["GET shipment, near"],
        c["sms delivery report, away"],
        c["sms delivery report, near"],
        float(idle.requests) if idle is not None else IDLE_RUN_FROM_CODE,
        per_expired_tally=tallies.requests_per_row if tallies is not None else PER_TALLY_FROM_CODE,
    )


def cost_markdown(results: Results) -> list[str]:
    """The projected daily Table transactions and their price at 1 M new sends a day."""
    counts = _counts(results)
    if counts is None:
        return []
    volumes = Volumes()
    lines = projection(counts, volumes)
    total, usd = daily_cost(lines)
    rows = [
        [
            ln.what,
            (f"{ln.per_day:,.0f}" if ln.per_day >= 10 else f"{ln.per_day:.3g}"),
            f"{ln.each:.3g}",
            f"{ln.requests:,.0f}",
            ln.note,
        ]
        for ln in lines
    ]
    rows.append(["total", "", "", f"{total:,.0f}", f"USD {usd:.2f} a day, {usd * 30.4:.2f} a month"])
    idle = "measured" if results.capacity is not None else "from the code"
    return [
        "",
        "## Projected Table Storage transactions at 1 M new sends a day",
        "",
        f"Requests per operation as counted in this run (SMS; the retention runs and the tallies' purge "
        f"{idle}); volumes "
        f"per new send are assumptions: {volumes.replays_per_send:g} replays, {volumes.shipment_reads_per_send:g} "
        f"GET shipment, {volumes.reports_per_send:g} delivery report. Price: USD {PRICE_PER_10K_USD} per 10,000 "
        "transactions (ASSUMPTION: Table Storage list price, Standard LRS; see bench/README.md).",
        "",
        *md_table(("operation", "per day", "Table requests each", "requests a day", "note"), rows),
    ]


def capacity_markdown(capacity: CapacityResult | None) -> list[str]:
    """The capacity bench's runs, one row each."""
    if capacity is None:
        return []
    runs: Sequence[Run] = [*capacity.runs, *([capacity.idle] if capacity.idle else [])]
    rows = [
        [
            r.design,
            r.size,
            str(r.live_rows),
            str(r.expired_rows),
            str(r.requests),
            "" if math.isnan(r.requests_per_row) else _per_row(r),
            ms(r.seconds),
            ms(r.scan_seconds) if r.scan_seconds else "",
            r.kinds,
        ]
        for r in runs
    ]
    rate = capacity.fill_rows / capacity.fill_seconds if capacity.fill_seconds else 0.0
    return [
        "",
        "## Capacity: retention runs (bench/capacity.py)",
        "",
        f"An in-memory Azurite of its own, filled with {capacity.fill_rows} rows in {capacity.fill_seconds:.0f} s "
        f"({rate:.0f} rows/s, one entity-group transaction per order: an order row and two audit entries); "
        f"the whole bench took {capacity.elapsed:.0f} s. Table requests counted from this Azurite's access log.",
        "",
        *md_table(
            (
                "design",
                "size",
                "live rows",
                "expired rows",
                "Table requests",
                "per expired row",
                "run ms",
                "of which scans ms",
                "by kind",
            ),
            rows,
        ),
    ]


def periods_markdown(found: PeriodsResult | None) -> list[str]:
    """Table requests per operation away from a boundary and near one, and the paired sends."""
    if found is None:
        return []
    rows = [
        [name, str(c.per), f"{c.total:g}", f"{c.orders:g}", f"{c.tallies:g}", c.kinds]
        for name, c in found.counts.items()
    ]
    out = [
        "",
        "## Away from a period boundary and near one (bench/periods.py)",
        "",
        "The stack's app is away (its base table's layout row, written by the harness before it started, says "
        "since = 20 days ago); a second app process on the base table `instantnear` is near (since = 1 h ago). "
        "Orders vs controls: bench/counting.py, `split_parts`.",
        "",
        *md_table(("operation", "counted", "Table requests each", "orders", "controls", "by kind"), rows),
    ]
    if found.away and found.near:
        a, n = Summary.of(found.away), Summary.of(found.near)
        out += [
            "",
            f"New SMS sends, paired: away p50 {ms(a.p50)} ms, p99 {ms(a.p99)} ms; near p50 {ms(n.p50)} ms, "
            f"p99 {ms(n.p99)} ms ({len(found.near)} pairs).",
        ]
    return out
