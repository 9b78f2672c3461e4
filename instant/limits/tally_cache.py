"""The tallies one worker last read or wrote, with their ETags: what the send gate decides on
before it writes, so a send costs one conditional write per tally instead of a read and a write.

Never a source of truth. A write made on a cached tally carries its ETag, so it lands only if the
tally is still exactly what this worker saw; a decision that writes nothing (a refusal, an order
already counted) is made again on a fresh read (instant/limits/gate.py). A stale entry can only
cost a request, never a wrong count.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from instant.domain.tallies import Tally

# A recipient's tally holds at most the longest limit's count of entries (20 by default): a few
# thousand tallies are a few MiB, and cover every recipient one worker sent to in the last minutes.
TALLY_CACHE_SIZE: Final = 2048


class TallyCache:
    """A bounded least-recently-used map of tally key -> the tally as last seen, with its ETag."""

    def __init__(self, capacity: int = TALLY_CACHE_SIZE) -> None:
        self._capacity = max(1, capacity)
        self._tallies: OrderedDict[str, Tally] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tallies)

    def get(self, key: str) -> Tally | None:
        """The tally as this worker last saw it, or None."""
        tally = self._tallies.get(key)
        if tally is not None:
            self._tallies.move_to_end(key)
        return tally

    def put(self, tally: Tally) -> None:
        """Remember ``tally`` (read or written just now), forgetting the least recently used."""
        self._tallies[tally.key] = tally
        self._tallies.move_to_end(tally.key)
        if len(self._tallies) > self._capacity:
            self._tallies.popitem(last=False)

    def drop(self, key: str) -> None:
        """Forget ``key`` (its last write's outcome is unknown)."""
        self._tallies.pop(key, None)
