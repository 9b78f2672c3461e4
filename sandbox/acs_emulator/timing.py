"""How long the emulated ACS takes: the recorded (realistic) defaults and a fast mode for unit-speed tests.

Recorded (azure-sdk-assets, python/sdk/communication/azure-communication-email recordings of
2024-08-30): ``POST /emails:send`` and every non-terminal status poll answer ``Retry-After: 3``, and
the operation reports ``Running`` for about 3-4 s before ``Succeeded``; issue 16 measured 3-10 s.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace

TIMING_ENV = "ACS_EMULATOR_TIMING"


@dataclass(frozen=True)
class Timing:
    """Email operation running time (drawn per operation in [min, max]), Retry-After, slow-fault delay."""

    email_running_min: float
    email_running_max: float
    email_retry_after: str
    slow_seconds: float

    def running_seconds(self, operation_id: str) -> float:
        """Deterministic per operation id, so a test run is repeatable yet operations differ."""
        if self.email_running_max <= self.email_running_min:
            return self.email_running_min
        fraction = int.from_bytes(hashlib.sha256(operation_id.lower().encode()).digest()[:4], "big") / 2**32
        return self.email_running_min + fraction * (self.email_running_max - self.email_running_min)

    def with_overrides(
        self,
        *,
        slow_seconds: float | None = None,
        email_running_seconds: float | None = None,
        email_retry_after: str | None = None,
    ) -> Timing:
        """This preset with single values replaced (None keeps the preset's)."""
        timing = self
        if slow_seconds is not None:
            timing = replace(timing, slow_seconds=slow_seconds)
        if email_running_seconds is not None:
            timing = replace(timing, email_running_min=email_running_seconds, email_running_max=email_running_seconds)
        if email_retry_after is not None:
            timing = replace(timing, email_retry_after=email_retry_after)
        return timing


# The default: what real ACS was recorded doing.
REALISTIC = Timing(email_running_min=3.0, email_running_max=10.0, email_retry_after="3", slow_seconds=2.0)
# Unit-speed tests: Retry-After "0" makes the SDK poller fall back to its polling_interval.
FAST = Timing(email_running_min=0.2, email_running_max=0.2, email_retry_after="0", slow_seconds=0.5)
PRESETS = {"realistic": REALISTIC, "fast": FAST}


def resolve_timing(timing: Timing | str | None) -> Timing:
    """A Timing, a preset name, or None (then $ACS_EMULATOR_TIMING, else realistic)."""
    if isinstance(timing, Timing):
        return timing
    name = timing if timing is not None else os.environ.get(TIMING_ENV, "realistic")
    try:
        return PRESETS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown timing {name!r}; expected one of {sorted(PRESETS)}") from None
