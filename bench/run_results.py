"""What one bench run measured: every phase's raw samples and counts, before any verdict."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.capacity import CapacityResult
from bench.controls import ControlsResult
from bench.floor import FloorSample
from bench.load import ClosedLoopResult
from bench.periods import PeriodsResult
from bench.plan import Plan
from bench.refusal import RefusalResult
from bench.startup import StartupResult
from bench.system import CpuUse


@dataclass(frozen=True)
class RoundTrips:
    """Table Storage and provider requests per request counted, in total and by kind."""

    table: float
    table_kinds: Counter[str]
    provider: float
    provider_kinds: Counter[str]
    per: int
    orders: float = 0.0  # the order store's share of ``table`` (bench/counting.py, split_parts)
    tallies: float = 0.0  # the controls' share


@dataclass
class Results:
    """Everything one run measured, filled in phase by phase."""

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
