"""One bench run: start the local stack, warm up, measure every phase, stop the stack.

Phases, in this order, one at a time (nothing else talks to the stack meanwhile):
  1. warm-up (discarded): floor and service, both channels; replays; point reads; health
  2. round trips: Table Storage and provider requests per new send and per replay, counted on
     the servers' side over a quiet window; then Table requests per delivery report (a status
     change, then its redelivery) for the orders just sent
  3. new sends: each service request paired with a floor measurement, alternating which goes
     first, so drifts in machine load hit both alike
  4. replays: each replay paired with its baseline (point read + HTTP round trip), alternating
  4b. the worst-case refusal (1 MiB of unknown fields) against its transfer and json.loads
  4c. the abuse and cost controls: new sends on the app (controls on) against a second app
      process with them off (bench/controls.py)
  4d. storage periods: the app is "away" from a period boundary (the harness wrote its layout
      row before it started); a second app process is "near" one (bench/periods.py): Table
      requests per operation for both, then new sends to both, paired
  5. concurrency: the emulator answers after ``latency_ms``; ``clients`` closed-loop callers
  6. memory of the serving process right after (5)
  7. start-up: import times in fresh interpreters (the stack is stopped by then)
  8. capacity: retention runs on an Azurite of its own (bench/capacity.py; not in the smoke run)
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench import phase_concurrency, phase_round_trips, phase_second_app, phase_sequential
from bench.app_settings import app_environment, app_settings
from bench.capacity import measure_capacity
from bench.counting import AzuriteLog
from bench.floor import Floor
from bench.load import ServiceClient, UnexpectedAnswer
from bench.periods import write_layouts
from bench.plan import Plan
from bench.run_context import HarnessBroken, RunContext
from bench.run_results import Results
from bench.startup import measure_startup
from sandbox.services import REPO_ROOT
from sandbox.stack import LocalStack

# The emulator's recorded timing (Retry-After: 3, operations Running 3-10 s), as production ACS
# answers: an email POST answers once ACS took the operation, and its floor does the same.
EMULATOR_ARGS: tuple[str, ...] = ("--timing", "realistic")


async def run_bench(plan: Plan, workdir: Path, log: Callable[[str], None]) -> Results:
    """One run of ``plan`` with its stack in ``workdir``; an unexpected answer breaks the harness."""
    ctx = RunContext(plan, workdir, log, Results(plan=plan, started_at=time.time()))
    try:
        return await _run(ctx)
    except UnexpectedAnswer as exc:
        raise HarnessBroken(str(exc)) from exc


async def _run(ctx: RunContext) -> Results:
    plan, results = ctx.plan, ctx.results
    if ctx.workdir.exists():
        shutil.rmtree(ctx.workdir)  # fresh logs: the round-trip counts read azurite.log
    ctx.note_foreign()
    ctx.say(f"starting the local stack in {ctx.workdir} ...")
    stack = LocalStack(ctx.workdir, port=0, with_app=False, env=app_environment(), emulator_args=EMULATOR_ARGS)
    async with stack:
        # The layout rows first: an app writes one (since = now) at its first request.
        await write_layouts(app_settings(stack.app_env))
        await stack.start_app()
        assert stack.host is not None and stack.azurite is not None and stack.emulator is not None
        results.stack_pids = {
            "local host (function app)": stack.host.pid,
            "Azurite (node)": stack.azurite.pid,
            "ACS emulator": stack.emulator.pid,
        }
        app_env = stack.app_env
        ctx.base = app_settings(app_env).instant_table_name
        floor = Floor.create(app_settings(app_env))
        connector = aiohttp.TCPConnector(limit=plan.clients + 8)
        timeout = aiohttp.ClientTimeout(total=30)
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                client = ServiceClient(session, stack.host.base_url)
                emulator = stack.emulator.endpoint
                await phase_sequential.warm_up(ctx, client, floor)
                azurite = AzuriteLog(stack.azurite.log_path)
                counted_sends = await phase_round_trips.round_trips(ctx, client, session, emulator, azurite)
                if not plan.controls_only:
                    await phase_round_trips.report_trips(
                        ctx, session, floor, stack.host.base_url, azurite, counted_sends
                    )
                    sent = await phase_sequential.new_sends(ctx, client, floor)
                    await phase_sequential.replays(ctx, client, floor, sent)
                    await phase_sequential.refusals(ctx, client)
                await phase_second_app.controls(ctx, client, session, stack.app_env)
                if not plan.controls_only:
                    await phase_second_app.periods(ctx, client, session, stack.app_env, stack.host.base_url, azurite)
                    await phase_concurrency.concurrency(ctx, client, floor, session, emulator, stack.host.pid)
        finally:
            await floor.close()
        ctx.note_foreign()
    if plan.controls_only:
        results.finished_at = time.time()
        return results
    ctx.say("stack stopped; measuring start-up ...")
    meter = ctx.meter()
    results.startup = await measure_startup(app_env, REPO_ROOT, plan.startup_runs, ctx.workdir / "pycache")
    results.cpu["start-up"] = meter.stop(time.perf_counter())
    ctx.note_foreign()
    if plan.capacity:
        meter = ctx.meter()
        results.capacity = await measure_capacity(ctx.workdir / "capacity", ctx.say)
        results.cpu["capacity (its own Azurite)"] = meter.stop(time.perf_counter())
        ctx.note_foreign()
    results.finished_at = time.time()
    return results
