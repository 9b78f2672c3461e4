"""The concurrency figures of a run and the serving process's memory after it (targets and
distribution rows)."""

from __future__ import annotations

from bench.check import Check, dist_row
from bench.run_results import Results
from bench.stats import Summary, ms, ratio

MIB = 1024


def concurrency_checks(results: Results) -> list[Check]:
    """Throughput against the ideal and the floor under the same load; p99 against the provider latency."""
    conc = results.concurrency
    if conc is None or not conc.latencies:
        return []
    plan = results.plan
    ideal = plan.clients / (plan.latency_ms / 1000)
    fraction = conc.throughput / ideal
    p99 = Summary.of(conc.latencies).p99
    limit = 2 * plan.latency_ms / 1000
    failures = ", ".join(f"{k} x{v}" for k, v in conc.failures.items()) or "no failures"
    out = [
        Check(
            "concurrency throughput",
            f"{conc.throughput:.1f}/s",
            f"ideal {ideal:.0f}/s",
            f"{fraction:.0%}",
            ">= 85%",
            fraction >= 0.85,
            f"{conc.completed} sends in {conc.elapsed:.1f} s, {failures}",
        ),
        Check(
            "concurrency p99",
            f"{ms(p99)} ms",
            f"provider latency {plan.latency_ms} ms",
            f"{ratio(p99, plan.latency_ms / 1000):.2f}x",
            "<= 2x",
            p99 <= limit,
            f"p50 {ms(Summary.of(conc.latencies).p50)} ms",
        ),
    ]
    loaded = results.concurrency_floor
    if loaded is not None and loaded.latencies:
        floor_summary = Summary.of(loaded.latencies)
        out.append(
            Check(
                "concurrency throughput vs the floor under the same load",
                f"{conc.throughput:.1f}/s",
                f"floor {loaded.throughput:.1f}/s ({loaded.throughput / ideal:.0%} of ideal)",
                f"{ratio(conc.throughput, loaded.throughput):.0%}",
                "",
                None,
                f"floor p50 {ms(floor_summary.p50)} ms, p99 {ms(floor_summary.p99)} ms: {plan.clients} callers "
                "doing claim + send + final write in the harness process",
            )
        )
    return out


def memory_checks(results: Results) -> list[Check]:
    """The serving process's RSS right after the concurrency run."""
    if not results.rss_kib:
        return []
    return [
        Check(
            "RSS after the concurrency run",
            f"{results.rss_kib / MIB:.0f} MiB",
            "",
            "",
            "<= 200 MiB",
            results.rss_kib <= 200 * MIB,
            f"peak (VmHWM) {results.hwm_kib / MIB:.0f} MiB",
        )
    ]


def concurrency_rows(results: Results) -> list[list[str]]:
    """The distribution rows of the floor and the service under load."""
    plan = results.plan
    dist: list[list[str]] = []
    if results.concurrency_floor is not None and results.concurrency_floor.latencies:
        dist.append(
            dist_row(
                f"floor (claim + SMS send + final write), {plan.clients} callers, provider +{plan.latency_ms} ms",
                results.concurrency_floor.latencies,
            )
        )
    if results.concurrency is not None and results.concurrency.latencies:
        dist.append(
            dist_row(
                f"new SMS send, {plan.clients} clients, provider +{plan.latency_ms} ms", results.concurrency.latencies
            )
        )
    return dist
