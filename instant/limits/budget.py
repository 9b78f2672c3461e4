"""The caller's daily SMS segment budget, decided on its tally for the UTC day (pure).

The tally keeps the total of the day and the most recent counted orders, so a takeover of an
order counted before (its attempt failed transiently, or its worker died) is not counted twice.
Only the last ``KEPT_ENTRIES`` orders are remembered: a takeover of an order older than that is
counted again, which can only make the budget stricter, never let more through.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

from instant.domain.tallies import Tally, TallyEntry
from instant.limits.rates import Verdict

# About 57 characters each as stored (instant/adapters/table_tallies.py): 400 stay well inside Table
# Storage's 32K-character string property.
KEPT_ENTRIES = 400


def budget_key(caller: str, now: datetime) -> str:
    """The tally of ``caller``'s UTC day."""
    return f"budget|{caller}|{now.date().isoformat()}"


def seconds_to_midnight(now: datetime) -> int:
    """Whole seconds until the next UTC midnight, at least 1."""
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=now.tzinfo)
    return max(1, math.ceil((midnight - now).total_seconds()))


def decide_budget(tally: Tally, budget: int, shipment_id: str, segments: int, now: datetime) -> Verdict:
    """Allow and count the segments, allow an order already counted, or refuse until midnight."""
    if any(entry.shipment_id == shipment_id for entry in tally.entries):
        return Verdict(allowed=True)
    if tally.total + segments > budget:
        return Verdict(allowed=False, retry_after=seconds_to_midnight(now))
    entries = (*tally.entries[-(KEPT_ENTRIES - 1) :], TallyEntry(shipment_id, now, segments))
    return Verdict(allowed=True, to_write=Tally(tally.key, entries, tally.total + segments, tally.etag))
