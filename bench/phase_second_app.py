"""The phases against a second app process: the controls on vs off, and near a period boundary vs away."""

from __future__ import annotations

import time

import aiohttp

from bench.app_settings import app_settings
from bench.controls import measure_controls, start_controls_off_app
from bench.counting import AzuriteLog
from bench.load import ServiceClient
from bench.periods import PeriodsSetup, measure_periods
from bench.plan import CHANNELS
from bench.run_context import RunContext


async def controls(
    ctx: RunContext, client: ServiceClient, session: aiohttp.ClientSession, app_env: dict[str, str]
) -> None:
    """New sends with the controls on, each paired with one to a second app with them off."""
    samples = ctx.plan.controls
    ctx.say(f"controls: {samples} new sends per channel, controls on vs a second app with them off, alternating")
    off_app = await start_controls_off_app(app_env, ctx.workdir / "controls-off")
    try:
        meter = ctx.meter()
        ctx.results.controls = await measure_controls(
            client,
            session,
            off_app.base_url,
            channels=CHANNELS,
            warmup=max(ctx.plan.warmup, 10),
            samples=samples,
            paired=ctx.paired,
        )
        ctx.results.cpu["controls on vs off"] = meter.stop(time.perf_counter())
    finally:
        await off_app.stop()
    ctx.note_foreign()


async def periods(
    ctx: RunContext,
    client: ServiceClient,
    session: aiohttp.ClientSession,
    app_env: dict[str, str],
    url: str,
    log: AzuriteLog,
) -> None:
    """Requests and latency away from a period boundary (the stack's app) and near one (a second app)."""
    plan = ctx.plan
    ctx.say(
        f"periods: {plan.count_window} counted SMS sends, GETs and reports away from a boundary and near one "
        f"(a second app), then {plan.periods} paired new sends"
    )
    setup = PeriodsSetup(app_env, app_settings(app_env), session, client, url, log, ctx.workdir / "near")
    meter = ctx.meter()
    ctx.results.periods = await measure_periods(
        setup, count=plan.count_window, warmup=max(plan.warmup, 10), samples=plan.periods, paired=ctx.paired
    )
    ctx.results.cpu["periods: near vs away"] = meter.stop(time.perf_counter())
    ctx.note_foreign()
