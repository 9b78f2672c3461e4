"""How much a bench run measures: the full plan, the smoke plan and the channels."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class Plan:
    """The sizes of every phase of one run (requests, seconds, runs)."""

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
