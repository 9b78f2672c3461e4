"""The report of a run: its targets in the order the table shows them, and the Markdown results file."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bench.check import Check, md_table, targets_table
from bench.report_concurrency import concurrency_checks, concurrency_rows, memory_checks
from bench.report_latency import latency_checks, latency_rows
from bench.report_machine import cpu_markdown, machine_markdown
from bench.report_round_trips import round_trip_checks, round_trips_markdown
from bench.report_startup import startup_checks, startup_markdown
from bench.report_storage import (
    capacity_checks,
    capacity_markdown,
    cost_markdown,
    periods_checks,
    periods_markdown,
)
from bench.run_results import Results


def checks(results: Results) -> list[Check]:
    """Every target of the run, with its verdict, in the order of the table."""
    out = latency_checks(results)
    out += periods_checks(results)
    out += concurrency_checks(results)
    out += round_trip_checks(results)
    out += capacity_checks(results.capacity)
    out += startup_checks(results.startup)
    out += memory_checks(results)
    return out


def markdown(results: Results, rows: Sequence[Check], machine: dict[str, str], command: str) -> str:
    """The results file of the run: targets, distributions, round trips, storage, CPU, start-up, machine."""
    plan = results.plan
    day = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(results.started_at))
    duration = results.finished_at - results.started_at
    passed = sum(c.passed is True for c in rows)
    targets = sum(c.passed is not None for c in rows)
    out = [
        f"# Bench results, {time.strftime('%Y-%m-%d', time.localtime(results.started_at))}",
        "",
        f"`{command}` ({plan.name} plan), started {day}, took {duration:.0f} s. Everything below was measured in "
        "this one run on the local stack (Azurite + ACS emulator + the function app in sandbox/local_host.py, "
        "started by the harness); every target is a ratio against a baseline from the same run. "
        f"{passed} of {targets} targets pass. How to read it: [bench/README.md](../README.md).",
        "",
        "## Targets",
        "",
        *targets_table(rows),
        "",
        "## Latency distributions (ms)",
        "",
        "Client-side wall time per request (harness process, one aiohttp session, connections reused). "
        "The floor is the sum of its three timed SDK calls.",
        "",
    ]
    dist = latency_rows(results) + concurrency_rows(results)
    out += md_table(("series", "n", "p50", "p99", "mean", "min", "max"), dist)
    out += round_trips_markdown(results)
    out += periods_markdown(results.periods)
    out += capacity_markdown(results.capacity)
    out += cost_markdown(results)
    out += cpu_markdown(results, machine)
    out += startup_markdown(results.startup)
    out += machine_markdown(results, machine)
    return "\n".join(out)
