"""What every phase of a run shares: the plan, the results so far, the log and the CPU meter."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.plan import Plan
from bench.run_results import Results
from bench.system import CpuMeter, foreign_test_processes


class HarnessBroken(RuntimeError):
    """The run could not measure what it claims to: fail loudly (also in the smoke run)."""


@dataclass
class RunContext:
    """The state of one run that its phases read and fill in."""

    plan: Plan
    workdir: Path
    say: Callable[[str], None]
    results: Results
    base: str = "instantorders"  # the app's base table, read from its settings at start

    def note_foreign(self) -> None:
        """Remember the other test suites running on the machine right now."""
        self.results.foreign.update(foreign_test_processes(self._our_pids()))

    def _our_pids(self) -> set[int]:
        return {os.getpid(), *self.results.stack_pids.values()}

    def meter(self) -> CpuMeter:
        """A CPU meter over the harness and the stack's processes, started now."""
        pids = {"harness (load generator + floor)": os.getpid()}
        pids.update({f"{name}": pid for name, pid in self.results.stack_pids.items()})
        return CpuMeter(pids, time.perf_counter())

    async def paired(
        self, count: int, first: Callable[[int], Awaitable[None]], second: Callable[[int], Awaitable[None]]
    ) -> None:
        """``count`` pairs of measurements, alternating which of the two goes first."""
        for index in range(count):
            if index % 2 == 0:
                await first(index)
                await second(index)
            else:
                await second(index)
                await first(index)
