"""The sequential latency phases: warm-up, new sends against the floor, replays, worst-case refusals."""

from __future__ import annotations

import time

from bench.floor import Floor
from bench.load import Sent, ServiceClient
from bench.plan import CHANNELS
from bench.refusal import measure_refusals
from bench.run_context import RunContext


async def warm_up(ctx: RunContext, client: ServiceClient, floor: Floor) -> None:
    """Every sequential series a few times, discarded: floor and service, replays, reads, health."""
    ctx.say(f"warm-up: {ctx.plan.warmup} x (floor + service) per channel, replays, reads")
    sent: list[Sent] = []
    await floor.ensure_table()
    for _ in range(ctx.plan.warmup):
        await floor.sms_send()
        await floor.email_send()
        for channel in CHANNELS:
            sent.append(await client.send_new(channel))
        await client.health()
    for item in sent:
        await client.replay(item)
        await floor.point_read(item.shipment_id)


async def new_sends(ctx: RunContext, client: ServiceClient, floor: Floor) -> dict[str, list[Sent]]:
    """New sends per channel, each paired with a floor measurement; the orders sent."""
    results = ctx.results
    ctx.say(f"new sends: {ctx.plan.samples} per channel, each paired with a floor measurement")
    sent: dict[str, list[Sent]] = {channel: [] for channel in CHANNELS}
    floors = {"sms": floor.sms_send, "email": floor.email_send}
    meter = ctx.meter()
    for channel in CHANNELS:
        results.floor[channel] = []
        results.service[channel] = []
    for channel in CHANNELS:

        async def measure_floor(_: int, channel: str = channel) -> None:
            results.floor[channel].append(await floors[channel]())

        async def measure_service(_: int, channel: str = channel) -> None:
            item = await client.send_new(channel)
            sent[channel].append(item)
            results.service[channel].append(item.seconds)

        await ctx.paired(ctx.plan.samples, measure_floor, measure_service)
    results.cpu["new sends (sequential)"] = meter.stop(time.perf_counter())
    ctx.note_foreign()
    return sent


async def replays(ctx: RunContext, client: ServiceClient, floor: Floor, sent: dict[str, list[Sent]]) -> None:
    """Replays of the orders sent, each paired with a point read + an HTTP round trip."""
    results = ctx.results
    ctx.say(f"replays: {ctx.plan.replays} per channel, each paired with a point read + HTTP round trip")
    meter = ctx.meter()
    for channel in CHANNELS:
        items = sent[channel]
        results.replay[channel] = []

        async def baseline(index: int, items: list[Sent] = items) -> None:
            read = await floor.point_read(items[index % len(items)].shipment_id)
            trip = await client.health()
            results.point_read.append(read)
            results.http_round_trip.append(trip)
            results.replay_baseline.append(read + trip)

        async def replay(index: int, items: list[Sent] = items, channel: str = channel) -> None:
            results.replay[channel].append(await client.replay(items[index % len(items)]))

        await ctx.paired(ctx.plan.replays, baseline, replay)
    results.cpu["replays (sequential)"] = meter.stop(time.perf_counter())
    ctx.note_foreign()


async def refusals(ctx: RunContext, client: ServiceClient) -> None:
    """The worst-case refusal against its transfer and json.loads (bench/refusal.py)."""
    ctx.say(f"refusals: {ctx.plan.refusals} x the worst-case body, its 415 transfer and json.loads, alternating")
    meter = ctx.meter()
    ctx.results.refusal = await measure_refusals(client, ctx.plan.refusals)
    ctx.results.cpu["worst-case refusals"] = meter.stop(time.perf_counter())
    ctx.note_foreign()
