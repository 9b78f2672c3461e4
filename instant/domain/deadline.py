"""The one form of a request's time budget, passed unchanged from the service to the adapters.

A ``Deadline`` is a moment on the service's clock. Whoever needs a number asks it once, at the
place it is needed: ``remaining()`` for a timeout, ``monotonic_end()`` for azure-core's retry
policy (instant/adapters/retry.py). Unit tests give it a fake clock, so budgets are testable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from instant.domain.clock import Clock


@dataclass(frozen=True)
class Deadline:
    """The moment by which a piece of work must be done."""

    at: datetime
    clock: Clock

    @classmethod
    def after(cls, clock: Clock, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(clock.now() + timedelta(seconds=seconds), clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, (self.at - self.clock.now()).total_seconds())

    def expired(self) -> bool:
        """Nothing is left."""
        return self.clock.now() >= self.at

    def not_after(self, moment: datetime | None) -> Deadline:
        """This deadline, or ``moment`` if that comes first (an SMS's time-to-live)."""
        return self if moment is None or moment >= self.at else Deadline(moment, self.clock)

    def monotonic_end(self) -> float:
        """The same moment as a ``time.monotonic()`` value, for code that counts in those."""
        return time.monotonic() + self.remaining()
