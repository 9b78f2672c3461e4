"""Retention: what is past its retention is deleted, in bounded runs.

The timer (instant/entrypoints/retention_timer.py) runs ``Retention.purge`` hourly; Table Storage
has no TTL, so this is the only thing that ever deletes. Orders and their audit entries live in
a table per period (instant/storage/periods.py): a run drops the tables whose audit entries are
all past retention (one request per table, whatever it holds) and creates the next period's
table ahead of its first order. An order past the idempotency retention is not deleted: it
counts as absent. The base table of earlier versions is still purged row by row (its orders
and audit entries, and the controls' tallies, which live there), in runs of at most ``limit``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from instant.domain.clock import Clock
from instant.domain.ports import OrderStore
from instant.domain.tallies import TallyStore

log = logging.getLogger("instant.retention")

# The tallies live in the base table, one per recipient counted in the last day: at national
# volume up to a million expire a day. A run may delete this many times ``limit`` of them (the
# store deletes a page's rows at once), so the hourly runs keep up with several million a day.
TALLY_LIMIT_FACTOR = 40


@dataclass(frozen=True)
class PurgeReport:
    """What one purge run deleted, and whether it stopped at its limit."""

    orders: int
    audit_entries: int
    order_cutoff: datetime
    audit_cutoff: datetime
    limit: int
    tallies: int = 0  # the abuse controls' counters that count nothing any more
    dropped: tuple[str, ...] = ()  # period tables dropped whole
    prepared: tuple[str, ...] = ()  # period tables made ready ahead of their first order

    @property
    def more_left(self) -> bool:
        """A kind hit its limit: more expired rows may wait for the next run."""
        return max(self.orders, self.audit_entries) >= self.limit or self.tallies >= self.limit * TALLY_LIMIT_FACTOR


class Retention:
    """Deletes what is older than the idempotency and audit retention."""

    def __init__(
        self,
        *,
        store: OrderStore,
        clock: Clock,
        retention_hours: int,
        audit_retention_days: int,
        limit: int,
        tallies: TallyStore | None = None,
        longest_window_seconds: int = 0,
    ) -> None:
        self._store = store
        self._tallies = tallies
        # A tally whose newest entry left every window (and its UTC day) decides nothing any more.
        self._tally_retention = timedelta(seconds=max(longest_window_seconds, 86_400))
        self._clock = clock
        self._retention = timedelta(hours=retention_hours)
        self._audit_retention = timedelta(days=audit_retention_days)
        self._limit = limit

    async def purge(self, now: datetime | None = None) -> PurgeReport:
        """Delete order records older than the idempotency retention (their keys may be used
        again) and audit entries older than the audit retention, at most ``limit`` of each.

        The order cutoff is the replay cache's expiry (received_at + retention): a worker never
        replays from memory an order the store no longer holds. Records at or after the cutoff
        are never touched.
        """
        now = now or self._clock.now()
        order_cutoff = now - self._retention
        audit_cutoff = now - self._audit_retention
        prepared = await self._store.prepare_periods(now)
        dropped = await self._store.drop_expired_periods(now, self._audit_retention)
        orders = await self._store.purge_orders(order_cutoff, limit=self._limit)
        audit_entries = await self._store.purge_audit(audit_cutoff, limit=self._limit)
        tallies = 0
        if self._tallies is not None:
            tallies = await self._tallies.purge(now - self._tally_retention, limit=self._limit * TALLY_LIMIT_FACTOR)
        report = PurgeReport(
            orders, audit_entries, order_cutoff, audit_cutoff, self._limit, tallies, tuple(dropped), tuple(prepared)
        )
        log.info(
            "retention purge",
            extra={
                "orders_deleted": orders,
                "audit_entries_deleted": audit_entries,
                "tallies_deleted": tallies,
                "period_tables_dropped": ",".join(dropped) or None,
                "order_cutoff": order_cutoff.isoformat(),
                "audit_cutoff": audit_cutoff.isoformat(),
                "more_left": report.more_left,
            },
        )
        return report
