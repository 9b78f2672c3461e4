"""The machine a run ran on: CPU per phase, other load, other test suites, the plan (Markdown sections)."""

from __future__ import annotations

import statistics

from bench.check import md_table
from bench.run_results import Results
from bench.system import CpuUse


def _cpu_rows(cpu: dict[str, CpuUse]) -> list[list[str]]:
    rows: list[list[str]] = []
    for phase, use in cpu.items():
        parts = [f"{name} {use.cores(sec):.2f}" for name, sec in use.ours.items()]
        rows.append([phase, f"{use.wall:.1f}", "; ".join(parts), f"{use.cores(use.others):.2f}"])
    return rows


def cpu_markdown(results: Results, machine: dict[str, str]) -> list[str]:
    """The section "CPU per phase" of the results file: our processes' cores and everyone else's."""
    return [
        "",
        "## CPU per phase (average cores busy; the machine has "
        f"{machine.get('CPU', '?').split(', ')[-1].split(' (')[0]})",
        "",
        "`others` is everything on the machine that is not one of our processes: other people's test "
        "suites show up here.",
        "",
        *md_table(("phase", "wall s", "ours (cores)", "others (cores)"), _cpu_rows(results.cpu)),
    ]


def machine_markdown(results: Results, machine: dict[str, str]) -> list[str]:
    """The section "Machine" of the results file: the machine, the other load on it and the plan."""
    plan = results.plan
    out = ["", "## Machine", ""]
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
    return out
