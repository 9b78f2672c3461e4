"""``python -m bench``: the full run, results in bench/results/<YYYY-MM-DD>.md.
``python -m bench --smoke``: a few requests per phase, to prove the harness works (CI); it asserts
nothing about timing, prints the table and writes only to .stack/ (ignored by git).
``python -m bench --controls-only``: the warm-up, the round-trip counts and the controls phase
(issue 12) alone, ~1 minute; writes only to .stack/ unless given --output.
``python -m bench --capacity``: the capacity bench alone (bench/capacity.py, about a minute),
results in .stack/bench-capacity/results.md."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.capacity import measure_capacity
from bench.check import console_table, targets_table
from bench.plan import FULL, SMOKE
from bench.report import checks, markdown
from bench.report_storage import capacity_checks, capacity_markdown
from bench.run import run_bench
from bench.run_context import HarnessBroken
from bench.system import machine_info
from sandbox.processes import StackError
from sandbox.services import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few requests per phase; writes only to .stack/")
    parser.add_argument(
        "--controls-only",
        action="store_true",
        help="only the warm-up, round trips and controls on vs off; writes only to .stack/",
    )
    parser.add_argument("--capacity", action="store_true", help="only the capacity bench; writes only to .stack/")
    parser.add_argument("--samples", type=int, help="new sends and replays per channel (default 1000)")
    parser.add_argument("--duration", type=float, help="seconds of the concurrency run (default 20)")
    parser.add_argument("--startup-runs", type=int, help="alternating import runs each (default 15)")
    parser.add_argument("--output", type=Path, help="the Markdown results file (default bench/results/<date>.md)")
    return parser.parse_args(argv)


def _log(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


def _capacity_only(output: Path | None) -> int:
    workdir = REPO_ROOT / ".stack" / "bench-capacity"
    if workdir.exists():
        shutil.rmtree(workdir)
    started = time.time()
    try:
        capacity = asyncio.run(measure_capacity(workdir, _log))
    except StackError as exc:
        _log(f"BROKEN: {exc}")
        return 1
    rows = capacity_checks(capacity)
    print(console_table(rows), flush=True)
    day = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started))
    text = [
        f"# Capacity bench, {day}",
        "",
        f'`python -m bench --capacity`, took {capacity.elapsed:.0f} s. How to read it: bench/README.md, "Capacity".',
        "",
        *targets_table(rows),
        *capacity_markdown(capacity),
        "",
        "## Machine",
        "",
        *(f"- {name}: {value}" for name, value in machine_info(REPO_ROOT).items()),
        "",
    ]
    output = output or workdir / "results.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(text), encoding="utf-8")
    _log(f"capacity bench done in {capacity.elapsed:.0f} s; results in {output}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.capacity:
        return _capacity_only(args.output)
    plan = SMOKE if args.smoke else FULL
    overrides: dict[str, object] = {}
    if args.samples is not None:
        overrides.update(samples=args.samples, replays=args.samples)
    if args.duration is not None:
        overrides["duration"] = args.duration
    if args.startup_runs is not None:
        overrides["startup_runs"] = args.startup_runs
    if args.controls_only:
        overrides["controls_only"] = True
        overrides["capacity"] = False
    if overrides:
        plan = dataclasses.replace(plan, name=f"{plan.name}, modified", **overrides)  # type: ignore[arg-type]
    scratch = args.smoke or args.controls_only
    workdir = (
        REPO_ROOT / ".stack" / ("bench-smoke" if args.smoke else "bench-controls" if args.controls_only else "bench")
    )
    command = "python -m bench" + (" --smoke" if args.smoke else "")
    if argv is None and len(sys.argv) > 1:
        command = "python -m bench " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    try:
        results = asyncio.run(run_bench(plan, workdir, _log))
    except (HarnessBroken, StackError) as exc:
        _log(f"BROKEN: {exc}")
        return 1
    rows = checks(results)
    print(console_table(rows), flush=True)
    text = markdown(results, rows, machine_info(REPO_ROOT), command)
    if args.output is not None:
        output = args.output
    elif scratch:
        output = workdir / "results.md"
    else:
        output = RESULTS_DIR / f"{time.strftime('%Y-%m-%d', time.localtime(results.started_at))}.md"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    passed = sum(c.passed is True for c in rows)
    targets = sum(c.passed is not None for c in rows)
    _log(f"{passed}/{targets} targets pass; results in {output}; took {time.perf_counter() - started:.1f} s")
    return 0
