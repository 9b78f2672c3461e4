"""The idempotency guard: claim-or-resolve before the hand-off, the final write after it.

Before: a conditional insert claims the key; if it exists, the request replays the stored
answer, is refused (409 in flight, 422 other payload) or takes the record over (its holder's
lease ran out, or the last attempt ended transiently). A completed order found in this worker's
replay cache decides without any claim.

After: the final state and its audit entry go to the store in one ETag-guarded transaction,
bounded by the holder's lease. Table Storage's own client owns the retries of that write
(instant/adapters/table_retry.py); this layer makes exactly one attempt.

Every request that passes validation leaves one audit entry (docs/api.md, "Audit").
"""

from __future__ import annotations

import asyncio
import logging

from instant.domain.answer import Answer
from instant.domain.clock import Clock
from instant.domain.errors import (
    KeyAlreadyClaimed,
    ProblemCode,
    ProblemError,
    RecordChanged,
    StorageUnavailable,
    in_progress,
    storage_reason,
    storage_unavailable,
)
from instant.domain.outcome import Outcome, OutcomeKind
from instant.domain.ports import AnswerRenderer, OrderStore
from instant.domain.records import AuditEntry, OrderRecord, OrderState
from instant.idempotency import transitions
from instant.idempotency.audit import Attempt, AuditWriter
from instant.idempotency.replay_cache import ReplayCache
from instant.idempotency.transitions import DecisionKind

log = logging.getLogger("instant.idempotency")

# A takeover that loses the ETag race reads the record again and decides anew, this often.
_RESOLVE_ROUNDS = 3
# A holder that is already past its lease (it ran late) still gets one try of this length.
_MIN_FINAL_WRITE_SECONDS = 1.0


class IdempotencyGuard:
    """Makes a request the only holder of its key, or answers it from the stored order."""

    def __init__(
        self,
        *,
        store: OrderStore,
        clock: Clock,
        renderer: AnswerRenderer,
        audits: AuditWriter,
        replays: ReplayCache,
        lease_seconds: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._renderer = renderer
        self._audits = audits
        self._replays = replays
        self._lease_seconds = lease_seconds

    # -- before the hand-off -------------------------------------------------------------------

    def cached(self, draft: OrderRecord) -> bool:
        """True when this worker's replay cache decides the key: no claim, so nothing to count."""
        return self._replays.get(draft.shipment_id, draft.received_at) is not None

    async def acquire(self, draft: OrderRecord, attempt: Attempt) -> OrderRecord | Answer:
        """The record now held by this request, or the replayed answer. Raises ProblemError
        for 409, 422 (key reused) and 503 (storage)."""
        cached = self._replays.get(draft.shipment_id, draft.received_at)
        if cached is not None:
            # A completed order decides without a claim; its answer can no longer change.
            return await self._resolve(cached, draft, attempt)
        try:
            return await self._store.claim(draft)
        except KeyAlreadyClaimed as claimed:
            self._replays.remember(claimed.existing)
            return await self._resolve(claimed.existing, draft, attempt)
        except StorageUnavailable as exc:
            log.warning(
                "claim failed: storage unavailable",
                extra={"shipment_id": draft.shipment_id, "reason": storage_reason(exc)},
            )
            raise storage_unavailable() from None

    async def _resolve(self, existing: OrderRecord, draft: OrderRecord, attempt: Attempt) -> OrderRecord | Answer:
        """Replay, refuse, or take over a record another request created. ``draft`` is this
        request's own record, as it would have claimed it: its fingerprint, lease owner, time."""
        now = draft.received_at
        for _ in range(_RESOLVE_ROUNDS):
            if existing.state is OrderState.IN_PROGRESS and existing.lease_owner == _owner(draft):
                # Our own claim or takeover committed, but its answer was lost (a timeout, then the
                # client's retry met it): the order is ours, not another request's in flight.
                return existing
            decision = transitions.decide(existing, draft.fingerprint, now)
            if decision.kind is DecisionKind.REPLAY:
                assert existing.answer is not None
                answer = transitions.replay_answer(existing.answer, self._renderer.location(existing.shipment_id))
                await self._audit_only(existing, attempt, answer.status, answer.code, replay=True)
                return answer
            if decision.kind is DecisionKind.MISMATCH:
                raise await self._refuse(
                    existing,
                    attempt,
                    ProblemError(
                        ProblemCode.IDEMPOTENCY_KEY_REUSED,
                        "This idempotencyId was used before with a different payload; use a new idempotencyId.",
                        fields=decision.differing_fields,
                    ),
                )
            if decision.kind is DecisionKind.IN_FLIGHT:
                raise await self._refuse(existing, attempt, in_progress())
            taken = transitions.take_over(
                existing, now=now, lease_seconds=self._lease_seconds, lease_owner=_owner(draft)
            )
            # A crashed holder's request never got an answer, so it never wrote its audit entry;
            # the takeover (a state change) writes one for it.
            abandoned = self._audits.abandoned(existing, attempt) if existing.state is OrderState.IN_PROGRESS else None
            try:
                return await self._store.update(taken, abandoned)
            except RecordChanged:
                refreshed = await self._get(existing.shipment_id)
                if refreshed is None:  # purged in between: treat as busy, the caller retries
                    break
                existing = refreshed
                now = self._clock.now()
            except StorageUnavailable:
                raise storage_unavailable() from None
        raise await self._refuse(existing, attempt, in_progress())

    async def _refuse(self, existing: OrderRecord, attempt: Attempt, problem: ProblemError) -> ProblemError:
        await self._audit_only(existing, attempt, problem.kind.status, problem.code.value, replay=False)
        return problem

    async def _get(self, shipment_id: str) -> OrderRecord | None:
        try:
            return await self._store.get(shipment_id)
        except StorageUnavailable:
            raise storage_unavailable() from None

    async def refuse_held(self, record: OrderRecord, problem: ProblemError, attempt: Attempt) -> Answer:
        """Refuse a held key before anything was handed off (the abuse controls' 429s, their
        503), audited and not stored: the record is parked for the next request with the key,
        which takes it over with the same first receipt, so its time-to-live never restarts."""
        refused = Outcome(
            OutcomeKind.UNAVAILABLE,
            status=record.status,
            problem=problem,
            may_have_reached=record.may_have_reached_provider,
        )
        return await self.finish(record, refused, attempt)

    # -- after the hand-off --------------------------------------------------------------------

    async def finish(self, record: OrderRecord, outcome: Outcome, attempt: Attempt) -> Answer:
        """Record how the hand-off ended and answer. A final outcome is stored with its answer;
        a transient one parks the record for the next request and raises its problem."""
        now = self._clock.now()
        if outcome.kind is OutcomeKind.UNAVAILABLE:
            problem = outcome.required_problem()
            parked = transitions.park(record, status=outcome.status, may_have_reached=outcome.may_have_reached, now=now)
            audit = self._audits.answered(
                parked, attempt, status=problem.kind.status, code=problem.code.value, replay=False
            )
            written = await self._write_final(record, parked, audit, attempt)
            if written is not None:
                return written
            raise problem
        provisional = transitions.with_outcome(record, status=outcome.status, provider_id=outcome.provider_id, now=now)
        stored = (
            self._renderer.created(provisional)
            if outcome.kind is OutcomeKind.ACCEPTED
            else self._renderer.problem(outcome.required_problem())
        )
        final = transitions.complete(provisional, stored)
        answer = transitions.first_answer(stored, self._renderer.location(final.shipment_id))
        audit = self._audits.answered(final, attempt, status=answer.status, code=answer.code, replay=False)
        written = await self._write_final(record, final, audit, attempt)
        return written if written is not None else answer

    async def _write_final(
        self, held: OrderRecord, final: OrderRecord, audit: AuditEntry, attempt: Attempt
    ) -> Answer | None:
        """One ETag-guarded write of ``final`` with ``audit``. Returns None when this request's
        own answer stands, or the answer to give instead when another request won the key."""
        try:
            # The lease's margin after the budget is this write's time: a storage that hangs
            # must not hold the caller past the lease.
            async with asyncio.timeout(max(_MIN_FINAL_WRITE_SECONDS, self._lease_left(held))):
                written = await self._store.update(final, audit)
        except RecordChanged:
            return await self._after_lost_write(held, final, attempt)
        except (StorageUnavailable, TimeoutError):
            # The provider's answer stands even if it could not be recorded: a retry takes the
            # key over after the lease and, through the provider token, gets the same outcome.
            # Its audit entry went down with it (one transaction): the log line stands in for it.
            log.error(
                "final state of an order could not be written",
                extra={
                    "shipment_id": held.shipment_id,
                    "caller": held.caller,
                    "http_status": audit.http_status,
                    "code": audit.outcome,
                    "provider_id": final.provider_id,
                },
            )
            return None
        self._replays.remember(written)
        return None

    async def _after_lost_write(self, held: OrderRecord, final: OrderRecord, attempt: Attempt) -> Answer | None:
        current = await self._read_quietly(held.shipment_id)
        if current is None:
            # Storage cannot say who wrote: the provider's answer stands, as for a lost write.
            log.error(
                "final write met a changed record that could not be read", extra={"shipment_id": held.shipment_id}
            )
            return None
        if current.lease_owner == held.lease_owner and current.state is final.state:
            # Our own write committed but its answer was lost (a timeout, then the client's
            # retry met the new ETag): only this request's lease owner can have written it.
            self._replays.remember(current)
            return None
        if current.state is OrderState.COMPLETED and current.answer is not None:
            # Our lease ran out and another request took the key over: its answer wins.
            answer = transitions.replay_answer(current.answer, self._renderer.location(current.shipment_id))
            await self._audit_only(held, attempt, answer.status, answer.code, replay=True)
            return answer
        raise await self._refuse(held, attempt, in_progress())

    def _lease_left(self, record: OrderRecord) -> float:
        """Seconds until this request's lease on ``record`` runs out."""
        if record.lease_until is None:
            return self._lease_seconds
        return (record.lease_until - self._clock.now()).total_seconds()

    async def _read_quietly(self, shipment_id: str) -> OrderRecord | None:
        try:
            return await self._store.get(shipment_id)
        except StorageUnavailable:
            return None

    async def _audit_only(self, record: OrderRecord, attempt: Attempt, status: int, code: str, *, replay: bool) -> None:
        """The entry of a request that changed no state (a replay, a 409, a 422)."""
        try:
            await self._store.append_audit(
                self._audits.answered(record, attempt, status=status, code=code, replay=replay), beside=record
            )
        except StorageUnavailable:
            log.error("audit entry could not be written", extra={"shipment_id": record.shipment_id})


def _owner(draft: OrderRecord) -> str:
    assert draft.lease_owner is not None, "a draft is always leased to its request"
    return draft.lease_owner
