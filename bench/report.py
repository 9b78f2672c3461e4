"""Targets, verdicts, and the results as a console table and a Markdown file."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence

from bench.check import Check, md_table, targets_table
from bench.counting import describe
from bench.report_storage import (
    capacity_checks,
    capacity_markdown,
    cost_markdown,
    periods_checks,
    periods_markdown,
)
from bench.run_results import Results, RoundTrips
from bench.stats import Summary, ms, ratio
from bench.system import CpuUse

MIB = 1024
EMAIL_POLL_NOTE = (
    "; with the recorded timing (Retry-After: 3, Running 3-10 s) the send answers once ACS took the operation "
    "(INSTANT_EMAIL_WAIT_SECONDS 0): no GET of the operation on the POST path"
)


def _latency_checks(name: str, service: Summary, floor: Summary, floor_label: str) -> list[Check]:
    r50, r99 = ratio(service.p50, floor.p50), ratio(service.p99, floor.p99)
    return [
        Check(
            f"{name} p50",
            f"{ms(service.p50)} ms",
            f"{floor_label} p50 {ms(floor.p50)} ms",
            f"{r50:.2f}x",
            "<= 1.3x",
            r50 <= 1.3,
        ),
        Check(
            f"{name} p99",
            f"{ms(service.p99)} ms",
            f"{floor_label} p99 {ms(floor.p99)} ms",
            f"{r99:.2f}x",
            "<= 2x",
            r99 <= 2.0,
        ),
    ]


def _trips_note(trips: RoundTrips, provider: bool) -> str:
    kinds = trips.provider_kinds if provider else trips.table_kinds
    return describe(kinds, trips.per) if kinds else "none"


def _refusal_checks(results: Results) -> list[Check]:
    found = results.refusal
    if found is None or not found.refusal:
        return []
    refusal, transfer, parse = (Summary.of(s).p50 for s in (found.refusal, found.transfer, found.parse))
    added = ratio(refusal - transfer, parse)
    return [
        Check(
            "worst-case refusal p50, beyond moving the body",
            f"{ms(refusal - transfer)} ms",
            f"json.loads of the body {ms(parse)} ms",
            f"{added:.2f}x",
            "<= 2x",
            added <= 2.0,
            f"{found.fields} unknown fields in {found.body_bytes} bytes: 400 in {ms(refusal)} ms "
            f"({found.answer_bytes}-byte answer), the same body as text/plain 415 in {ms(transfer)} ms",
        )
    ]


def _controls_checks(results: Results) -> list[Check]:
    controls = results.controls
    if controls is None:
        return []
    out = []
    for channel, samples in controls.on.items():
        on, off = Summary.of(samples), Summary.of(controls.off[channel])
        r50 = ratio(on.p50, off.p50)
        out.append(
            Check(
                f"new {channel} send, controls on vs off p50",
                f"{ms(on.p50)} ms",
                f"controls off p50 {ms(off.p50)} ms",
                f"{r50:.2f}x",
                "<= 1.1x",
                r50 <= 1.1,
                f"p99 {ms(on.p99)} ms vs {ms(off.p99)} ms; {len(samples)} pairs, two app processes on one Azurite",
            )
        )
    return out


def checks(results: Results) -> list[Check]:
    out: list[Check] = []
    for channel in ("sms", "email"):
        if channel not in results.service:
            continue
        service = Summary.of(results.service[channel])
        floor = Summary.of([s.total for s in results.floor[channel]])
        out += _latency_checks(f"new {channel} send", service, floor, "floor")
    baseline = Summary.of(results.replay_baseline) if results.replay_baseline else None
    for channel, samples in results.replay.items():
        if baseline is None:
            break
        replay = Summary.of(samples)
        r50 = ratio(replay.p50, baseline.p50)
        out.append(
            Check(
                f"replay {channel} p50",
                f"{ms(replay.p50)} ms",
                f"read + HTTP p50 {ms(baseline.p50)} ms",
                f"{r50:.2f}x",
                "<= 1.5x",
                r50 <= 1.5,
                f"p99 {ms(replay.p99)} ms vs {ms(baseline.p99)} ms",
            )
        )
    out += _refusal_checks(results)
    out += _controls_checks(results)
    out += periods_checks(results)
    conc = results.concurrency
    if conc is not None and conc.latencies:
        plan = results.plan
        ideal = plan.clients / (plan.latency_ms / 1000)
        fraction = conc.throughput / ideal
        p99 = Summary.of(conc.latencies).p99
        limit = 2 * plan.latency_ms / 1000
        failures = ", ".join(f"{k} x{v}" for k, v in conc.failures.items()) or "no failures"
        out += [
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
    for channel, trips in results.new_send_trips.items():
        out.append(
            Check(
                f"Table requests / new {channel} send, away from a period boundary",
                f"{trips.table:g} (orders {trips.orders:g} + controls {trips.tallies:g})",
                "",
                "",
                # The claim and the final write in the current period's table, plus the controls'
                # recipient tally in the base table: at most 2 (issue 12); the gate makes one
                # conditional write, and a read only after a lost write (instant/limits/gate.py).
                "<= 2 + 2 controls",
                trips.orders <= 2 and trips.tallies <= 2 and trips.table == trips.orders + trips.tallies,
                _trips_note(trips, provider=False),
            )
        )
    for channel, trips in results.replay_trips.items():
        out.append(
            Check(
                f"Table requests / {channel} replay",
                f"{trips.table:g}",
                "",
                "",
                "<= 1",
                trips.table <= 1,
                _trips_note(trips, provider=False),
            )
        )
    for channel, (first, again) in results.report_trips.items():
        out.append(
            Check(
                f"Table requests / {channel} delivery report",
                f"{first.table:g}",
                "",
                "",
                "<= 2",
                first.table <= 2,
                _trips_note(first, provider=False) + " (1 read + 1 transaction)",
            )
        )
        out.append(
            Check(
                f"Table requests / {channel} report redelivered",
                f"{again.table:g}",
                "",
                "",
                "<= 1",
                again.table <= 1,
                _trips_note(again, provider=False) + " (the read alone)",
            )
        )
    for channel, trips in results.new_send_trips.items():
        note = _trips_note(trips, provider=True)
        if channel == "email":
            note += EMAIL_POLL_NOTE
        out.append(
            Check(
                f"provider requests / new {channel} send",
                f"{trips.provider:g}",
                "",
                "",
                "= 1",
                math.isclose(trips.provider, 1.0),
                note,
            )
        )
    for channel, trips in results.replay_trips.items():
        out.append(
            Check(
                f"provider requests / {channel} replay",
                f"{trips.provider:g}",
                "",
                "",
                "= 0",
                trips.provider == 0,
                _trips_note(trips, provider=True),
            )
        )
    out += capacity_checks(results.capacity)
    startup = results.startup
    if startup is not None:
        r = ratio(startup.app_median, startup.deps_median)
        out.append(
            Check(
                "import function_app",
                f"{ms(startup.app_median)} ms",
                f"deps alone {ms(startup.deps_median)} ms",
                f"{r:.2f}x",
                "<= 1.15x",
                r <= 1.15,
                f"medians of {len(startup.app_seconds)} alternating runs, bytecode cached for both",
            )
        )
        cold = ratio(startup.cold_app_median, startup.cold_deps_median)
        out.append(
            Check(
                "import function_app, no bytecode for our own modules",
                f"{ms(startup.cold_app_median)} ms",
                f"deps alone {ms(startup.cold_deps_median)} ms",
                f"{cold:.2f}x",
                "",
                None,
                "what a cold start pays if the deployed package has no __pycache__ (.funcignore drops it) "
                "and cannot write one",
            )
        )
    if results.rss_kib:
        out.append(
            Check(
                "RSS after the concurrency run",
                f"{results.rss_kib / MIB:.0f} MiB",
                "",
                "",
                "<= 200 MiB",
                results.rss_kib <= 200 * MIB,
                f"peak (VmHWM) {results.hwm_kib / MIB:.0f} MiB",
            )
        )
    return out


# -- console ------------------------------------------------------------------------------------


def console_table(rows: Sequence[Check]) -> str:
    header = ("metric", "measured", "baseline (same run)", "ratio", "target", "result")
    body = [(c.metric, c.measured, c.baseline, c.ratio, c.target, c.verdict) for c in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- Markdown -----------------------------------------------------------------------------------


def _dist_row(name: str, samples: Sequence[float]) -> list[str]:
    s = Summary.of(samples)
    return [name, str(s.n), ms(s.p50), ms(s.p99), ms(s.mean), ms(s.minimum), ms(s.maximum)]


def _cpu_rows(cpu: dict[str, CpuUse]) -> list[list[str]]:
    rows: list[list[str]] = []
    for phase, use in cpu.items():
        parts = [f"{name} {use.cores(sec):.2f}" for name, sec in use.ours.items()]
        rows.append([phase, f"{use.wall:.1f}", "; ".join(parts), f"{use.cores(use.others):.2f}"])
    return rows


def markdown(results: Results, rows: Sequence[Check], machine: dict[str, str], command: str) -> str:
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
    dist: list[list[str]] = []
    for channel in ("sms", "email"):
        if channel in results.service:
            floor = results.floor[channel]
            dist += [
                _dist_row(f"new {channel} send (service, HTTP)", results.service[channel]),
                _dist_row(f"{channel} floor: total", [s.total for s in floor]),
                _dist_row(f"{channel} floor: claim (create_entity)", [s.claim for s in floor]),
                _dist_row(f"{channel} floor: provider (gateway.send)", [s.provider for s in floor]),
                _dist_row(f"{channel} floor: final write (submit_transaction)", [s.update for s in floor]),
            ]
    if results.controls is not None:
        for channel, samples in results.controls.on.items():
            dist += [
                _dist_row(f"new {channel} send, controls on", samples),
                _dist_row(f"new {channel} send, controls off (second app)", results.controls.off[channel]),
            ]
    for channel, samples in results.replay.items():
        dist.append(_dist_row(f"replay {channel} (service, HTTP)", samples))
    if results.replay_baseline:
        dist += [
            _dist_row("replay baseline: point read + HTTP round trip", results.replay_baseline),
            _dist_row("point read (get_entity)", results.point_read),
            _dist_row("HTTP round trip (GET /health)", results.http_round_trip),
        ]
    if results.refusal is not None and results.refusal.refusal:
        dist += [
            _dist_row("worst-case refusal: 400 (service, HTTP)", results.refusal.refusal),
            _dist_row("worst-case refusal baseline: the same body, 415 (HTTP)", results.refusal.transfer),
            _dist_row("worst-case refusal baseline: json.loads (harness)", results.refusal.parse),
        ]
    if results.concurrency_floor is not None and results.concurrency_floor.latencies:
        dist.append(
            _dist_row(
                f"floor (claim + SMS send + final write), {plan.clients} callers, provider +{plan.latency_ms} ms",
                results.concurrency_floor.latencies,
            )
        )
    if results.concurrency is not None and results.concurrency.latencies:
        dist.append(
            _dist_row(
                f"new SMS send, {plan.clients} clients, provider +{plan.latency_ms} ms", results.concurrency.latencies
            )
        )
    out += md_table(("series", "n", "p50", "p99", "mean", "min", "max"), dist)
    out += ["", "## Round trips (counted by the servers)", ""]
    trips_rows: list[list[str]] = []
    for label, trips_by_channel in (("new send", results.new_send_trips), ("replay", results.replay_trips)):
        for channel, trips in trips_by_channel.items():
            trips_rows.append(
                [
                    f"{channel} {label}",
                    str(trips.per),
                    f"{trips.table:g}",
                    _trips_note(trips, provider=False),
                    f"{trips.provider:g}",
                    _trips_note(trips, provider=True),
                ]
            )
    for channel, pair in results.report_trips.items():
        for label, trips in zip(("delivery report", "delivery report redelivered"), pair, strict=True):
            row = [f"{channel} {label}", str(trips.per), f"{trips.table:g}", _trips_note(trips, provider=False)]
            trips_rows.append([*row, "0", "none"])
    out += md_table(
        (
            "what",
            "requests counted",
            "Table requests each",
            "by kind (Azurite access log)",
            "provider requests each",
            "by kind (emulator request log)",
        ),
        trips_rows,
    )
    out += periods_markdown(results.periods)
    out += capacity_markdown(results.capacity)
    out += cost_markdown(results)
    out += [
        "",
        "## CPU per phase (average cores busy; the machine has "
        f"{machine.get('CPU', '?').split(', ')[-1].split(' (')[0]})",
        "",
        "`others` is everything on the machine that is not one of our processes: other people's test "
        "suites show up here.",
        "",
        *md_table(("phase", "wall s", "ours (cores)", "others (cores)"), _cpu_rows(results.cpu)),
    ]
    startup = results.startup
    if startup is not None:
        out += [
            "",
            "## Start-up",
            "",
            f"Time to import `function_app` in a fresh interpreter (with the app's environment) against the "
            f"time to import the {startup.third_party_modules} third-party modules it pulls in, alone; "
            f"{len(startup.app_seconds)} alternating runs each, timed inside the child around the import. "
            "Both read bytecode from one cache (PYTHONPYCACHEPREFIX) filled by discarded first runs; then "
            "the same without bytecode for our own modules.",
            "",
            f"- function_app: median {ms(startup.app_median)} ms; runs: "
            + ", ".join(ms(s) for s in startup.app_seconds),
            f"- dependencies alone: median {ms(startup.deps_median)} ms; runs: "
            + ", ".join(ms(s) for s in startup.deps_seconds),
            f"- function_app without bytecode for instant/ and function_app.py (compiled on import): median "
            f"{ms(startup.cold_app_median)} ms; runs: " + ", ".join(ms(s) for s in startup.cold_app_seconds),
            f"- dependencies alone, paired with those: median {ms(startup.cold_deps_median)} ms; runs: "
            + ", ".join(ms(s) for s in startup.cold_deps_seconds),
            f"- packages: {', '.join(startup.top_level)}",
        ]
        if startup.failed:
            out.append(f"- not importable alone (skipped): {', '.join(startup.failed)}")
    out += ["", "## Machine", ""]
    out += [f"- {name}: {value}" for name, value in machine.items()]
    if results.cpu:
        worst = max(use.cores(use.others) for use in results.cpu.values())
        mean = statistics.fmean(use.cores(use.others) for use in results.cpu.values())
        out.append(f"- Other load during the run: {mean:.2f} cores on average over the phases, {worst:.2f} at most")
    if results.foreign:
        out += [
            "- **Other test suites were running on this machine during the run** (their CPU is in `others` "
            "above; ratios are still same-run, but the absolute times are noisier):",
            *(f"  - `{cmd}`" for cmd in sorted(results.foreign)),
        ]
    else:
        out.append("- No other pytest or bench process was seen during the run.")
    out += [
        f"- Plan: warm-up {plan.warmup} per series, {plan.samples} new sends per channel, {plan.replays} replays "
        f"per channel, {plan.count_window} per round-trip window, {plan.clients} clients x {plan.duration:g} s at "
        f"{plan.latency_ms} ms provider latency, {plan.startup_runs} start-up runs each",
        "",
    ]
    return "\n".join(out)
