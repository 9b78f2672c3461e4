"""The counted phases: Table Storage and provider requests per new send, replay and delivery report."""

from __future__ import annotations

from collections import Counter
from typing import Any

import aiohttp

from bench.counting import ORDERS, TALLIES, AzuriteLog, split_parts
from bench.floor import Floor
from bench.load import Sent, ServiceClient, emulator_json
from bench.plan import CHANNELS
from bench.reports import counted, deliver, report_events
from bench.run_context import HarnessBroken, RunContext
from bench.run_results import RoundTrips


async def round_trips(
    ctx: RunContext, client: ServiceClient, session: aiohttp.ClientSession, emulator: str, azurite: AzuriteLog
) -> dict[str, list[Sent]]:
    """Requests per new send and per replay over quiet windows; the orders sent, per channel."""
    count = ctx.plan.count_window
    ctx.say(f"round trips: {count} new sends and {count} replays per channel, counted by Azurite and the emulator")
    all_sent: dict[str, list[Sent]] = {}
    for channel in CHANNELS:
        await emulator_json(session, "DELETE", f"{emulator}/_emulator/inbox")
        start = await azurite.settled_size()
        sent = all_sent[channel] = [await client.send_new(channel) for _ in range(count)]
        end = await azurite.settled_size()
        ctx.results.new_send_trips[channel] = await _trips(ctx, session, emulator, azurite, start, end, count)
        await emulator_json(session, "DELETE", f"{emulator}/_emulator/inbox")
        start = await azurite.settled_size()
        for item in sent:
            await client.replay(item)
        end = await azurite.settled_size()
        ctx.results.replay_trips[channel] = await _trips(ctx, session, emulator, azurite, start, end, count)
    sms = ctx.results.new_send_trips["sms"]
    if sms.table == 0 or sms.provider == 0:
        raise HarnessBroken(
            f"counted {sms.table} Table Storage and {sms.provider} provider requests per new SMS: "
            f"the counting is broken (see {azurite.path})"
        )
    return all_sent


async def report_trips(
    ctx: RunContext,
    session: aiohttp.ClientSession,
    floor: Floor,
    host_url: str,
    azurite: AzuriteLog,
    sent: dict[str, list[Sent]],
) -> None:
    """Table requests per delivery report for the orders just counted, then per redelivery."""
    ctx.say("delivery reports: one per order just counted, then each again, counted by Azurite")
    for channel, items in sent.items():
        events = await report_events(floor.store, channel, [item.shipment_id for item in items])
        first = await counted(azurite, deliver(session, host_url, events))
        again = await counted(azurite, deliver(session, host_url, events))
        n = len(events)
        ctx.results.report_trips[channel] = (
            RoundTrips(first.lines / n, first.kinds, 0, Counter(), n),
            RoundTrips(again.lines / n, again.kinds, 0, Counter(), n),
        )


async def _trips(
    ctx: RunContext,
    session: aiohttp.ClientSession,
    emulator: str,
    azurite: AzuriteLog,
    start: int,
    end: int,
    count: int,
) -> RoundTrips:
    window = azurite.window(start, end)
    requests: list[dict[str, Any]] = await emulator_json(session, "GET", f"{emulator}/_emulator/requests")
    kinds: Counter[str] = Counter(f"{r['kind']} {r['method']}" for r in requests)
    parts = split_parts(window.requests, ctx.base)
    return RoundTrips(
        window.lines / count,
        window.kinds,
        len(requests) / count,
        kinds,
        count,
        parts[ORDERS] / count,
        parts[TALLIES] / count,
    )
