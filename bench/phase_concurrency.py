"""The concurrency phase: closed-loop callers against a slow provider, the floor first, then the service."""

from __future__ import annotations

import time

import aiohttp

from bench.floor import Floor, closed_loop_floor
from bench.load import ServiceClient, closed_loop, emulator_json
from bench.run_context import HarnessBroken, RunContext
from bench.system import memory_kib


async def concurrency(
    ctx: RunContext, client: ServiceClient, floor: Floor, session: aiohttp.ClientSession, emulator: str, host_pid: int
) -> None:
    """Throughput and latency under load, then the serving process's memory right after."""
    plan = ctx.plan
    results = ctx.results
    ctx.say(
        f"concurrency: emulator latency {plan.latency_ms} ms, {plan.clients} clients, "
        f"{plan.concurrency_warmup:g} s warm-up + {plan.duration:g} s, first the floor, then the service"
    )
    config = f"{emulator}/_emulator/config"
    await emulator_json(session, "POST", config, {"latency_ms": plan.latency_ms})
    try:
        await closed_loop_floor(floor, plan.clients, plan.concurrency_warmup)
        meter = ctx.meter()
        results.concurrency_floor = await closed_loop_floor(floor, plan.clients, plan.duration)
        results.cpu["concurrency: floor in the harness"] = meter.stop(time.perf_counter())
        await closed_loop(client, "sms", plan.clients, plan.concurrency_warmup)
        meter = ctx.meter()
        result = await closed_loop(client, "sms", plan.clients, plan.duration)
        results.cpu["concurrency: service"] = meter.stop(time.perf_counter())
        results.rss_kib, results.hwm_kib = memory_kib(host_pid)
    finally:
        await emulator_json(session, "POST", config, {"latency_ms": 0})
    results.concurrency = result
    ctx.note_foreign()
    if result.completed == 0:
        raise HarnessBroken(f"no request completed under concurrency: {result.failures}")
