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

import os
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.capacity import CapacityResult, measure_capacity
from bench.controls import ControlsResult, measure_controls, start_controls_off_app
from bench.counting import ORDERS, TALLIES, AzuriteLog, split_parts
from bench.floor import Floor, FloorSample, closed_loop_floor
from bench.load import ClosedLoopResult, Sent, ServiceClient, UnexpectedAnswer, closed_loop, emulator_json
from bench.periods import PeriodsResult, PeriodsSetup, measure_periods, write_layouts
from bench.refusal import RefusalResult, measure_refusals
from bench.reports import counted, deliver, report_events
from bench.startup import StartupResult, measure_startup
from bench.system import CpuMeter, CpuUse, foreign_test_processes, memory_kib
from instant.config import SETTING_NAMES, Settings, load_settings
from sandbox.services import REPO_ROOT
from sandbox.stack import LocalStack

CHANNELS = ("sms", "email")
# The emulator's recorded timing (Retry-After: 3, operations Running 3-10 s), as production ACS
# answers: an email POST answers once ACS took the operation, and its floor does the same.
EMULATOR_ARGS: tuple[str, ...] = ("--timing", "realistic")


class HarnessBroken(RuntimeError):
    """The run could not measure what it claims to: fail loudly (also in the smoke run)."""


@dataclass(frozen=True)
class Plan:
    name: str
    warmup: int  # iterations of every sequential measurement, discarded
    samples: int  # new sends per channel (each paired with one floor sample)
    replays: int  # replays per channel (each paired with one baseline sample)
    count_window: int  # new sends / replays per channel in the round-trip counting windows
    clients: int = 16
    duration: float = 20.0
    latency_ms: int = 250
    concurrency_warmup: float = 3.0
    startup_runs: int = 15
    refusals: int = 60  # worst-case refusals (each with its transfer and json.loads baselines)
    controls: int = 500  # new sends per channel with the controls on, each paired with one with them off
    controls_only: bool = False  # warm-up, round trips and the controls phase only (python -m bench --controls-only)
    periods: int = 300  # new SMS sends away from a period boundary, each paired with one near it
    capacity: bool = True  # the capacity bench (bench/capacity.py, about a minute) after the rest


FULL = Plan("full", warmup=100, samples=1000, replays=1000, count_window=50)
SMOKE = Plan(
    "smoke",
    warmup=3,
    samples=10,
    replays=10,
    count_window=4,
    duration=2.0,
    concurrency_warmup=0.5,
    startup_runs=1,
    refusals=3,
    controls=40,
    periods=20,
    capacity=False,
)


@dataclass(frozen=True)
class RoundTrips:
    table: float
    table_kinds: Counter[str]
    provider: float
    provider_kinds: Counter[str]
    per: int
    orders: float = 0.0  # the order store's share of ``table`` (bench/counting.py, split_parts)
    tallies: float = 0.0  # the controls' share


@dataclass
class Results:
    plan: Plan
    started_at: float
    floor: dict[str, list[FloorSample]] = field(default_factory=dict)
    service: dict[str, list[float]] = field(default_factory=dict)
    replay: dict[str, list[float]] = field(default_factory=dict)
    point_read: list[float] = field(default_factory=list)
    http_round_trip: list[float] = field(default_factory=list)
    replay_baseline: list[float] = field(default_factory=list)
    new_send_trips: dict[str, RoundTrips] = field(default_factory=dict)
    replay_trips: dict[str, RoundTrips] = field(default_factory=dict)
    # channel -> (Table requests per report, per redelivered report), by kind
    report_trips: dict[str, tuple[RoundTrips, RoundTrips]] = field(default_factory=dict)
    concurrency: ClosedLoopResult | None = None
    concurrency_floor: ClosedLoopResult | None = None
    refusal: RefusalResult | None = None
    controls: ControlsResult | None = None
    periods: PeriodsResult | None = None
    capacity: CapacityResult | None = None
    rss_kib: int = 0
    hwm_kib: int = 0
    startup: StartupResult | None = None
    cpu: dict[str, CpuUse] = field(default_factory=dict)
    foreign: set[str] = field(default_factory=set)
    stack_pids: dict[str, int] = field(default_factory=dict)
    finished_at: float = 0.0


def app_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}


def app_settings(env: Mapping[str, str]) -> Settings:
    """The app's own Settings, read from the environment the stack gives the app."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


class Bench:
    def __init__(self, plan: Plan, workdir: Path, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.workdir = workdir
        self.say = log
        self.results = Results(plan=plan, started_at=time.time())
        self.base = "instantorders"  # the app's base table, read from its settings at start

    # -- helpers ----------------------------------------------------------------------------

    def _note_foreign(self) -> None:
        self.results.foreign.update(foreign_test_processes(self._our_pids()))

    def _our_pids(self) -> set[int]:
        return {os.getpid(), *self.results.stack_pids.values()}

    def _meter(self) -> CpuMeter:
        pids = {"harness (load generator + floor)": os.getpid()}
        pids.update({f"{name}": pid for name, pid in self.results.stack_pids.items()})
        return CpuMeter(pids, time.perf_counter())

    async def _paired(
        self, count: int, first: Callable[[int], Awaitable[None]], second: Callable[[int], Awaitable[None]]
    ) -> None:
        for index in range(count):
            if index % 2 == 0:
                await first(index)
                await second(index)
            else:
                await second(index)
                await first(index)

    # -- the run ----------------------------------------------------------------------------

    async def run(self) -> Results:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)  # fresh logs: the round-trip counts read azurite.log
        self._note_foreign()
        self.say(f"starting the local stack in {self.workdir} ...")
        stack = LocalStack(self.workdir, port=0, with_app=False, env=app_environment(), emulator_args=EMULATOR_ARGS)
        async with stack:
            # The layout rows first: an app writes one (since = now) at its first request.
            await write_layouts(app_settings(stack.app_env))
            await stack.start_app()
            assert stack.host is not None and stack.azurite is not None and stack.emulator is not None
            self.results.stack_pids = {
                "local host (function app)": stack.host.pid,
                "Azurite (node)": stack.azurite.pid,
                "ACS emulator": stack.emulator.pid,
            }
            app_env = stack.app_env
            self.base = app_settings(app_env).instant_table_name
            floor = Floor.create(app_settings(app_env))
            connector = aiohttp.TCPConnector(limit=self.plan.clients + 8)
            timeout = aiohttp.ClientTimeout(total=30)
            try:
                async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
                    client = ServiceClient(session, stack.host.base_url)
                    emulator = stack.emulator.endpoint
                    await self._warm_up(client, floor)
                    azurite = AzuriteLog(stack.azurite.log_path)
                    counted_sends = await self._round_trips(client, session, emulator, azurite)
                    if not self.plan.controls_only:
                        await self._report_trips(session, floor, stack.host.base_url, azurite, counted_sends)
                        sent = await self._new_sends(client, floor)
                        await self._replays(client, floor, sent)
                        await self._refusals(client)
                    await self._controls(client, session, stack.app_env)
                    if not self.plan.controls_only:
                        await self._periods(client, session, stack.app_env, stack.host.base_url, azurite)
                        await self._concurrency(client, floor, session, emulator, stack.host.pid)
            finally:
                await floor.close()
            self._note_foreign()
        if self.plan.controls_only:
            self.results.finished_at = time.time()
            return self.results
        self.say("stack stopped; measuring start-up ...")
        meter = self._meter()
        self.results.startup = await measure_startup(
            app_env, REPO_ROOT, self.plan.startup_runs, self.workdir / "pycache"
        )
        self.results.cpu["start-up"] = meter.stop(time.perf_counter())
        self._note_foreign()
        if self.plan.capacity:
            meter = self._meter()
            self.results.capacity = await measure_capacity(self.workdir / "capacity", self.say)
            self.results.cpu["capacity (its own Azurite)"] = meter.stop(time.perf_counter())
            self._note_foreign()
        self.results.finished_at = time.time()
        return self.results

    async def _warm_up(self, client: ServiceClient, floor: Floor) -> None:
        self.say(f"warm-up: {self.plan.warmup} x (floor + service) per channel, replays, reads")
        sent: list[Sent] = []
        await floor.ensure_table()
        for _ in range(self.plan.warmup):
            await floor.sms_send()
            await floor.email_send()
            for channel in CHANNELS:
                sent.append(await client.send_new(channel))
            await client.health()
        for item in sent:
            await client.replay(item)
            await floor.point_read(item.shipment_id)

    async def _round_trips(
        self, client: ServiceClient, session: aiohttp.ClientSession, emulator: str, azurite: AzuriteLog
    ) -> dict[str, list[Sent]]:
        count = self.plan.count_window
        self.say(f"round trips: {count} new sends and {count} replays per channel, counted by Azurite and the emulator")
        all_sent: dict[str, list[Sent]] = {}
        for channel in CHANNELS:
            await emulator_json(session, "DELETE", f"{emulator}/_emulator/inbox")
            start = await azurite.settled_size()
            sent = all_sent[channel] = [await client.send_new(channel) for _ in range(count)]
            end = await azurite.settled_size()
            self.results.new_send_trips[channel] = await self._trips(session, emulator, azurite, start, end, count)
            await emulator_json(session, "DELETE", f"{emulator}/_emulator/inbox")
            start = await azurite.settled_size()
            for item in sent:
                await client.replay(item)
            end = await azurite.settled_size()
            self.results.replay_trips[channel] = await self._trips(session, emulator, azurite, start, end, count)
        sms = self.results.new_send_trips["sms"]
        if sms.table == 0 or sms.provider == 0:
            raise HarnessBroken(
                f"counted {sms.table} Table Storage and {sms.provider} provider requests per new SMS: "
                f"the counting is broken (see {azurite.path})"
            )
        return all_sent

    async def _report_trips(
        self,
        session: aiohttp.ClientSession,
        floor: Floor,
        host_url: str,
        azurite: AzuriteLog,
        sent: dict[str, list[Sent]],
    ) -> None:
        self.say("delivery reports: one per order just counted, then each again, counted by Azurite")
        for channel, items in sent.items():
            events = await report_events(floor.store, channel, [item.shipment_id for item in items])
            first = await counted(azurite, deliver(session, host_url, events))
            again = await counted(azurite, deliver(session, host_url, events))
            n = len(events)
            self.results.report_trips[channel] = (
                RoundTrips(first.lines / n, first.kinds, 0, Counter(), n),
                RoundTrips(again.lines / n, again.kinds, 0, Counter(), n),
            )

    async def _trips(
        self, session: aiohttp.ClientSession, emulator: str, azurite: AzuriteLog, start: int, end: int, count: int
    ) -> RoundTrips:
        window = azurite.window(start, end)
        requests: list[dict[str, Any]] = await emulator_json(session, "GET", f"{emulator}/_emulator/requests")
        kinds: Counter[str] = Counter(f"{r['kind']} {r['method']}" for r in requests)
        parts = split_parts(window.requests, self.base)
        return RoundTrips(
            window.lines / count,
            window.kinds,
            len(requests) / count,
            kinds,
            count,
            parts[ORDERS] / count,
            parts[TALLIES] / count,
        )

    async def _new_sends(self, client: ServiceClient, floor: Floor) -> dict[str, list[Sent]]:
        self.say(f"new sends: {self.plan.samples} per channel, each paired with a floor measurement")
        sent: dict[str, list[Sent]] = {channel: [] for channel in CHANNELS}
        floors = {"sms": floor.sms_send, "email": floor.email_send}
        meter = self._meter()
        for channel in CHANNELS:
            self.results.floor[channel] = []
            self.results.service[channel] = []
        for channel in CHANNELS:

            async def measure_floor(_: int, channel: str = channel) -> None:
                self.results.floor[channel].append(await floors[channel]())

            async def measure_service(_: int, channel: str = channel) -> None:
                item = await client.send_new(channel)
                sent[channel].append(item)
                self.results.service[channel].append(item.seconds)

            await self._paired(self.plan.samples, measure_floor, measure_service)
        self.results.cpu["new sends (sequential)"] = meter.stop(time.perf_counter())
        self._note_foreign()
        return sent

    async def _replays(self, client: ServiceClient, floor: Floor, sent: dict[str, list[Sent]]) -> None:
        self.say(f"replays: {self.plan.replays} per channel, each paired with a point read + HTTP round trip")
        meter = self._meter()
        for channel in CHANNELS:
            items = sent[channel]
            self.results.replay[channel] = []

            async def baseline(index: int, items: list[Sent] = items) -> None:
                read = await floor.point_read(items[index % len(items)].shipment_id)
                trip = await client.health()
                self.results.point_read.append(read)
                self.results.http_round_trip.append(trip)
                self.results.replay_baseline.append(read + trip)

            async def replay(index: int, items: list[Sent] = items, channel: str = channel) -> None:
                self.results.replay[channel].append(await client.replay(items[index % len(items)]))

            await self._paired(self.plan.replays, baseline, replay)
        self.results.cpu["replays (sequential)"] = meter.stop(time.perf_counter())
        self._note_foreign()

    async def _refusals(self, client: ServiceClient) -> None:
        self.say(f"refusals: {self.plan.refusals} x the worst-case body, its 415 transfer and json.loads, alternating")
        meter = self._meter()
        self.results.refusal = await measure_refusals(client, self.plan.refusals)
        self.results.cpu["worst-case refusals"] = meter.stop(time.perf_counter())
        self._note_foreign()

    async def _controls(self, client: ServiceClient, session: aiohttp.ClientSession, app_env: dict[str, str]) -> None:
        samples = self.plan.controls
        self.say(f"controls: {samples} new sends per channel, controls on vs a second app with them off, alternating")
        off_app = await start_controls_off_app(app_env, self.workdir / "controls-off")
        try:
            meter = self._meter()
            self.results.controls = await measure_controls(
                client,
                session,
                off_app.base_url,
                channels=CHANNELS,
                warmup=max(self.plan.warmup, 10),
                samples=samples,
                paired=self._paired,
            )
            self.results.cpu["controls on vs off"] = meter.stop(time.perf_counter())
        finally:
            await off_app.stop()
        self._note_foreign()

    async def _periods(
        self, client: ServiceClient, session: aiohttp.ClientSession, app_env: dict[str, str], url: str, log: AzuriteLog
    ) -> None:
        plan = self.plan
        self.say(
            f"periods: {plan.count_window} counted SMS sends, GETs and reports away from a boundary and near one "
            f"(a second app), then {plan.periods} paired new sends"
        )
        setup = PeriodsSetup(app_env, app_settings(app_env), session, client, url, log, self.workdir / "near")
        meter = self._meter()
        self.results.periods = await measure_periods(
            setup, count=plan.count_window, warmup=max(plan.warmup, 10), samples=plan.periods, paired=self._paired
        )
        self.results.cpu["periods: near vs away"] = meter.stop(time.perf_counter())
        self._note_foreign()

    async def _concurrency(
        self, client: ServiceClient, floor: Floor, session: aiohttp.ClientSession, emulator: str, host_pid: int
    ) -> None:
        plan = self.plan
        self.say(
            f"concurrency: emulator latency {plan.latency_ms} ms, {plan.clients} clients, "
            f"{plan.concurrency_warmup:g} s warm-up + {plan.duration:g} s, first the floor, then the service"
        )
        config = f"{emulator}/_emulator/config"
        await emulator_json(session, "POST", config, {"latency_ms": plan.latency_ms})
        try:
            await closed_loop_floor(floor, plan.clients, plan.concurrency_warmup)
            meter = self._meter()
            self.results.concurrency_floor = await closed_loop_floor(floor, plan.clients, plan.duration)
            self.results.cpu["concurrency: floor in the harness"] = meter.stop(time.perf_counter())
            await closed_loop(client, "sms", plan.clients, plan.concurrency_warmup)
            meter = self._meter()
            result = await closed_loop(client, "sms", plan.clients, plan.duration)
            self.results.cpu["concurrency: service"] = meter.stop(time.perf_counter())
            self.results.rss_kib, self.results.hwm_kib = memory_kib(host_pid)
        finally:
            await emulator_json(session, "POST", config, {"latency_ms": 0})
        self.results.concurrency = result
        self._note_foreign()
        if result.completed == 0:
            raise HarnessBroken(f"no request completed under concurrency: {result.failures}")


async def run_bench(plan: Plan, workdir: Path, log: Callable[[str], None]) -> Results:
    bench = Bench(plan, workdir, log)
    try:
        return await bench.run()
    except UnexpectedAnswer as exc:
        raise HarnessBroken(str(exc)) from exc
