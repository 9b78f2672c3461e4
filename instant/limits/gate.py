"""The counting controls: per-recipient limits and the caller's daily segment budget, exact
across workers and instances through the TallyStore's conditional writes.

Where the count is taken (InstantService.send):

    validation -> claim the key -> count -> hand-off

Only a request that holds the key counts, so a replay, a 409 or a 422 never does, and each
order is counted under its shipment id: a takeover of an order counted before (a transient
failure, a crashed worker) finds itself in the tally and is not counted twice. A refused order
writes nothing to the tallies. The count is committed before the hand-off, so two concurrent
requests can never both take the last place; a worker that dies after counting and before the
hand-off leaves a counted place that its retry reuses.

Each tally is decided on the worker's memory of it (instant/limits/tally_cache.py; an empty
tally when it has none) and written with a conditional replace (or an insert, which only
succeeds if the tally really did not exist), so the decision is exact whenever the write
lands. A write that loses (another worker wrote since) reads the tally and decides again. A
decision that writes nothing (a refusal, an order already counted) proves nothing about the
memory it was made on, so it is made again on a fresh read.

Cost per new send: one conditional write per tally; a read more when another worker wrote the
tally since this one last saw it, and one read to confirm a refusal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from instant.domain.digests import Digester
from instant.domain.errors import (
    ProblemCode,
    ProblemError,
    RecordChanged,
    StorageUnavailable,
    in_progress,
    storage_unavailable,
)
from instant.domain.orders import Order, SmsOrder
from instant.domain.tallies import Tally, TallyStore
from instant.limits.budget import budget_key, decide_budget
from instant.limits.policy import LimitSettings
from instant.limits.rates import RateLimit, Verdict, decide
from instant.limits.tally_cache import TallyCache

log = logging.getLogger("instant.limits")

# Conditional writes lost to concurrent requests before this one gives up with a 409; each
# lost round means another request took a place, so a full window ends the race sooner.
_ROUNDS = 16

Decide = Callable[[Tally, str, datetime], Verdict]


@dataclass
class _Check:
    """One tally this send must fit in."""

    key: str
    decide: Decide
    refusal: Callable[[int], ProblemError]
    written: Tally | None = None


def recipient_limited(retry_after: int) -> ProblemError:
    """429: the recipient's send limit is reached."""
    # "This request": a takeover's earlier attempt may have reached the provider before.
    return ProblemError(
        ProblemCode.RECIPIENT_RATE_LIMITED,
        "This recipient has been sent as many messages as the service allows for now; this request sent nothing.",
        retry_after=retry_after,
    )


def budget_exhausted(retry_after: int) -> ProblemError:
    """429: the caller's daily SMS segment budget is spent."""
    return ProblemError(
        ProblemCode.CALLER_BUDGET_EXHAUSTED,
        "This caller's SMS segment budget for today (UTC) is spent; this request sent nothing.",
        retry_after=retry_after,
    )


class Counting:
    """The checks of one send, settled once the key is held."""

    def __init__(self, store: TallyStore, cache: TallyCache, checks: list[_Check]) -> None:
        self._store = store
        self._cache = cache
        self._checks = checks

    def cancel(self) -> None:
        """The request did not get the key (a replay, 409, 422): it counts nothing. Nothing runs
        before ``admit``, so there is nothing to stop."""

    async def admit(self, shipment_id: str, now: datetime) -> None:
        """Count the send in every tally, or raise its 429 (nothing counted), 409 or 503."""
        # Every check runs to its end before any is undone: a write still in flight must not
        # land after the retraction.
        results = await asyncio.gather(
            *(self._settle(c, shipment_id, now) for c in self._checks), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        refusals = [r for r in results if isinstance(r, ProblemError)]
        if not failures and not refusals:
            return
        await self._retract(shipment_id)
        for failure in failures:
            if isinstance(failure, StorageUnavailable):
                raise storage_unavailable() from None
            raise failure
        raise refusals[0]

    async def _settle(self, check: _Check, shipment_id: str, now: datetime) -> ProblemError | None:
        cached = self._cache.get(check.key)
        tally = cached if cached is not None else Tally(check.key)
        fresh = False
        for _ in range(_ROUNDS):
            verdict = check.decide(tally, shipment_id, now)
            if verdict.to_write is None and not fresh:
                # Only a write that lands proves the memory current: a refusal may rest on an
                # entry another worker took out, "already counted" on one it took out too.
                tally, fresh = await self._read(check.key), True
                continue
            if not verdict.allowed:
                return check.refusal(verdict.retry_after)
            if verdict.to_write is None:
                return None
            try:
                check.written = await self._write(verdict.to_write)
                return None
            except RecordChanged:
                tally, fresh = await self._read(check.key), True
        return in_progress()

    async def _read(self, key: str) -> Tally:
        tally = await self._store.read(key)
        self._cache.put(tally)
        return tally

    async def _write(self, tally: Tally) -> Tally:
        try:
            written = await self._store.write(tally)
        except RecordChanged:
            raise  # the read that follows remembers the tally as it is
        except BaseException:
            self._cache.drop(tally.key)  # landed or not: unknown
            raise
        self._cache.put(written)
        return written

    async def _retract(self, shipment_id: str) -> None:
        """Take this send out of the tallies it was counted in while another refused it or failed."""
        for check in self._checks:
            if check.written is not None and not await self._take_out(check.written, shipment_id):
                # Counted without a send: stricter, never looser; the window or the day ends it.
                log.warning(
                    "a send not handed off stays counted in its %s tally (taking it out failed) "
                    "until it leaves the window: %s",
                    check.key.split("|", 1)[0],
                    shipment_id,
                )

    async def _take_out(self, tally: Tally, shipment_id: str) -> bool:
        """Remove ``shipment_id`` from ``tally`` (as this send wrote it); False if that failed."""
        try:
            for _ in range(_ROUNDS):
                mine = [e for e in tally.entries if e.shipment_id == shipment_id]
                if not mine:
                    return True
                rest = tuple(e for e in tally.entries if e.shipment_id != shipment_id)
                try:
                    await self._write(Tally(tally.key, rest, tally.total - mine[0].weight, tally.etag))
                    return True
                except RecordChanged:
                    tally = await self._read(tally.key)
        except StorageUnavailable:
            pass
        return False


class SendGate:
    """Builds the counting checks of a send from the settings; holds the worker's tally cache."""

    def __init__(
        self, *, store: TallyStore, digester: Digester, settings: LimitSettings, cache: TallyCache | None = None
    ) -> None:
        self._store = store
        self._digester = digester
        self._settings = settings
        self._cache = cache if cache is not None else TallyCache()

    def _limits(self, order: Order) -> tuple[RateLimit, ...]:
        s = self._settings
        return s.sms_recipient_limits if isinstance(order, SmsOrder) else s.email_recipient_limits

    def start(self, order: Order, caller: str, segments: int, now: datetime) -> Counting:
        """The checks of ``order``; nothing is read or written until ``Counting.admit``."""
        checks: list[_Check] = []
        limits = self._limits(order)
        if limits:
            # Keyed digest only: the tallies never hold a phone number or an address. An address
            # is counted case-insensitively: mail systems deliver Victim@ and victim@ to one box.
            recipient = order.recipient if isinstance(order, SmsOrder) else order.recipient.casefold()
            key = f"recipient|{order.channel.value}|{self._digester.text('recipient:' + recipient)}"
            checks.append(_Check(key, lambda t, sid, at: decide(t, limits, sid, at), recipient_limited))
        budget = self._settings.sms_daily_segment_budget
        if budget is not None and isinstance(order, SmsOrder):
            checks.append(
                _Check(
                    budget_key(caller, now),
                    lambda t, sid, at: decide_budget(t, budget, sid, segments, at),
                    budget_exhausted,
                )
            )
        return Counting(self._store, self._cache, checks)
