"""The counting controls: per-recipient limits and the caller's daily segment budget, exact
across workers and instances through the TallyStore's conditional writes.

Where the count is taken (InstantService.send):

    validation -> claim the key (the tallies are read at the same time) -> count -> hand-off

Only a request that holds the key counts, so a replay, a 409 or a 422 never does, and each
order is counted under its shipment id: a takeover of an order counted before (a transient
failure, a crashed worker) finds itself in the tally and is not counted twice. A refused order
writes nothing to the tallies. The count is committed before the hand-off, so two concurrent
requests can never both take the last place; a worker that dies after counting and before the
hand-off leaves a counted place that its retry reuses.

Cost per new send: one read (concurrent with the claim) and one conditional write per tally.
"""

from __future__ import annotations

import asyncio
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
from instant.domain.ports import Tally, TallyStore
from instant.limits.budget import budget_key, decide_budget
from instant.limits.policy import LimitSettings
from instant.limits.rates import RateLimit, Verdict, decide

# Conditional writes lost to concurrent requests before this one gives up with a 409; each
# lost round means another request took a place, so a full window ends the race sooner.
_ROUNDS = 16

Decide = Callable[[Tally, str, datetime], Verdict]


@dataclass
class _Check:
    """One tally this send must fit in, with its read in flight."""

    key: str
    decide: Decide
    refusal: Callable[[int], ProblemError]
    read: asyncio.Task[Tally]
    written: Tally | None = None


def recipient_limited(retry_after: int) -> ProblemError:
    """429: the recipient's send limit is reached."""
    return ProblemError(
        ProblemCode.RECIPIENT_RATE_LIMITED,
        "This recipient has been sent as many messages as the service allows for now; nothing was sent.",
        retry_after=retry_after,
    )


def budget_exhausted(retry_after: int) -> ProblemError:
    """429: the caller's daily SMS segment budget is spent."""
    return ProblemError(
        ProblemCode.CALLER_BUDGET_EXHAUSTED,
        "This caller's SMS segment budget for today (UTC) is spent; nothing was sent.",
        retry_after=retry_after,
    )


class Counting:
    """The checks of one send: started before the claim, settled once the key is held."""

    def __init__(self, store: TallyStore, checks: list[_Check]) -> None:
        self._store = store
        self._checks = checks

    def cancel(self) -> None:
        """The request did not get the key (a replay, 409, 422): it counts nothing."""
        for check in self._checks:
            check.read.cancel()

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
        tally = await check.read
        for _ in range(_ROUNDS):
            verdict = check.decide(tally, shipment_id, now)
            if not verdict.allowed:
                return check.refusal(verdict.retry_after)
            if verdict.to_write is None:
                return None
            try:
                check.written = await self._store.write(verdict.to_write)
                return None
            except RecordChanged:
                tally = await self._store.read(check.key)
        return in_progress()

    async def _retract(self, shipment_id: str) -> None:
        """Take this send out of the tallies it was counted in while another refused it."""
        for check in self._checks:
            if check.written is None:
                continue
            for _ in range(_ROUNDS):
                try:
                    tally = await self._store.read(check.key)
                    mine = [e for e in tally.entries if e.shipment_id == shipment_id]
                    if not mine:
                        break
                    rest = tuple(e for e in tally.entries if e.shipment_id != shipment_id)
                    await self._store.write(Tally(tally.key, rest, tally.total - mine[0].weight, tally.etag))
                    break
                except RecordChanged:
                    continue
                except StorageUnavailable:
                    break  # counted without a send: stricter, never looser


class SendGate:
    """Builds the counting checks of a send from the settings."""

    def __init__(self, *, store: TallyStore, digester: Digester, settings: LimitSettings) -> None:
        self._store = store
        self._digester = digester
        self._settings = settings

    def _limits(self, order: Order) -> tuple[RateLimit, ...]:
        s = self._settings
        return s.sms_recipient_limits if isinstance(order, SmsOrder) else s.email_recipient_limits

    def start(self, order: Order, caller: str, segments: int, now: datetime) -> Counting:
        """Start reading the tallies of ``order`` (call before the claim, so both overlap)."""
        checks: list[_Check] = []
        limits = self._limits(order)
        if limits:
            # Keyed digest only: the tallies never hold a phone number or an address. An address
            # is counted case-insensitively: mail systems deliver Victim@ and victim@ to one box.
            recipient = order.recipient if isinstance(order, SmsOrder) else order.recipient.casefold()
            key = f"recipient|{order.channel.value}|{self._digester.text('recipient:' + recipient)}"
            checks.append(self._check(key, lambda t, sid, at: decide(t, limits, sid, at), recipient_limited))
        budget = self._settings.sms_daily_segment_budget
        if budget is not None and isinstance(order, SmsOrder):
            checks.append(
                self._check(
                    budget_key(caller, now),
                    lambda t, sid, at: decide_budget(t, budget, sid, segments, at),
                    budget_exhausted,
                )
            )
        return Counting(self._store, checks)

    def _check(self, key: str, decide_: Decide, refusal: Callable[[int], ProblemError]) -> _Check:
        read = asyncio.ensure_future(self._read(key))
        read.add_done_callback(_quietly)
        return _Check(key, decide_, refusal, read)

    async def _read(self, key: str) -> Tally:
        return await self._store.read(key)


def _quietly(task: asyncio.Task[Tally]) -> None:
    # A read whose request got no key is never awaited: fetch its error so asyncio stays quiet.
    if not task.cancelled():
        task.exception()
