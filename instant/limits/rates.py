"""Sliding-window limits, decided on a tally's entries (pure: the gate reads and writes them).

A limit "5/600" allows 5 counted sends in any 600 seconds. A send is allowed when every limit
still has room; Retry-After is the time until the oldest send that fills a full window leaves it.
An order already in the tally (a takeover of an order counted before it failed transiently or
its worker crashed) is allowed again without being counted twice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from instant.domain.tallies import Tally, TallyEntry

_LIMIT = re.compile(r"^\s*([1-9][0-9]{0,5})\s*/\s*([1-9][0-9]{0,7})\s*$")


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` sends in any ``seconds``."""

    count: int
    seconds: int


def parse_rate_limits(text: str) -> tuple[RateLimit, ...]:
    """ "5/600,20/86400" -> two limits; "off" or "" -> none. Raises ValueError naming the bad part."""
    if text.strip().lower() in ("", "off"):
        return ()
    limits = []
    for part in text.split(","):
        match = _LIMIT.fullmatch(part)
        if match is None:
            raise ValueError(f"{part.strip()!r} is not <count>/<seconds> (e.g. 5/600), and the whole is not 'off'")
        limits.append(RateLimit(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(limits, key=lambda limit: limit.seconds))


@dataclass(frozen=True)
class Verdict:
    """Whether one more send fits: the tally to write (None: nothing to write) or the wait."""

    allowed: bool
    to_write: Tally | None = None
    retry_after: int = 0


def decide(tally: Tally, limits: tuple[RateLimit, ...], shipment_id: str, now: datetime) -> Verdict:
    """Allow and count the order, allow it as already counted, or refuse with Retry-After."""
    if any(entry.shipment_id == shipment_id for entry in tally.entries):
        return Verdict(allowed=True)
    longest = max(limit.seconds for limit in limits)
    # Entries that left the longest window count for nothing: dropping them keeps the tally small.
    recent = [e for e in tally.entries if e.at > now - timedelta(seconds=longest)]
    wait = 0.0
    for limit in limits:
        inside = sorted(e.at for e in recent if e.at > now - timedelta(seconds=limit.seconds))
        if len(inside) >= limit.count:
            # The send that must leave first is the one that would make room for one more.
            leaves = inside[len(inside) - limit.count] + timedelta(seconds=limit.seconds)
            wait = max(wait, (leaves - now).total_seconds())
    if wait > 0:
        return Verdict(allowed=False, retry_after=max(1, math.ceil(wait)))
    entries = (*recent, TallyEntry(shipment_id, now))
    return Verdict(allowed=True, to_write=Tally(tally.key, entries, tally.total + 1, tally.etag))
