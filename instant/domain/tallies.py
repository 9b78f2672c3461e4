"""The seam of the abuse and cost controls' counters (instant/limits): what a tally holds and
the store that keeps it. TableTallyStore (instant/adapters/table_tallies.py) in Azure,
InMemoryTallyStore in tests/support/fakes.py; tests/contract/test_tally_store.py runs both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TallyEntry:
    """One counted send: the order it belongs to, when it was counted, and its weight
    (1 for a recipient's send, the segments for a caller's SMS budget)."""

    shipment_id: str
    at: datetime
    weight: int = 1


@dataclass(frozen=True)
class Tally:
    """A counter of the abuse and cost controls (instant/limits): its recent entries, the sum of
    every weight it ever counted, and the ETag it was read with (None: it does not exist yet)."""

    key: str
    entries: tuple[TallyEntry, ...] = ()
    total: int = 0
    etag: str | None = None


class TallyStore(Protocol):
    """The counters of the abuse and cost controls (Table Storage in Azure, a dict in unit tests).
    Keys never hold a recipient in clear: instant/limits builds them from keyed digests."""

    async def read(self, key: str) -> Tally:
        """The tally with its ETag, or an empty one (etag None). Raises StorageUnavailable."""
        ...

    async def write(self, tally: Tally) -> Tally:
        """Create the tally if ``tally.etag`` is None, else replace it if its stored ETag still
        equals ``tally.etag``. Returns it with its new ETag.

        Raises RecordChanged (another request wrote first) or StorageUnavailable.
        """
        ...

    async def purge(self, last_before: datetime, *, limit: int) -> int:
        """Delete at most ``limit`` tallies whose newest entry (or, with none, whose last write)
        is before the cutoff (whole milliseconds), each only if unchanged since it was found.
        Returns the number deleted. Raises StorageUnavailable.
        """
        ...

    async def close(self) -> None:
        """Release the client."""
        ...
