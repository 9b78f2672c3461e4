"""The idempotency guard: claim-or-resolve before the hand-off, the final write after it.

Before: a conditional insert claims the key; if it exists, the request replays the stored
answer, is refused (409 in flight, 422 other payload) or takes the record over (its holder's
lease ran out, or the last attempt ended transiently). A completed order found in this worker's
replay cache decides without any claim.

After: the final state and its audit entry go to the store in one ETag-guarded transaction,
bounded by the holder's lease (final_write.py). A request that changes no state leaves its audit
entry on its own (audit_only.py).

Every request that passes validation leaves one audit entry (docs/api.md, "Audit").
"""

from __future__ import annotations

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
from instant.domain.records import OrderRecord, OrderState
from instant.idempotency import transitions
from instant.idempotency.audit import Attempt, AuditWriter
from instant.idempotency.audit_only import AuditOnly
from instant.idempotency.final_write import FinalWriter
from instant.idempotency.replay_cache import ReplayCache
from instant.idempotency.transitions import DecisionKind

log = logging.getLogger("instant.idempotency")

# A takeover that loses the ETag race reads the record again and decides anew, this often.
_RESOLVE_ROUNDS = 3


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
        self._audit_only = AuditOnly(store=store, audits=audits)
        self._final = FinalWriter(
            store=store,
            clock=clock,
            renderer=renderer,
            audit_only=self._audit_only,
            replays=replays,
            lease_seconds=lease_seconds,
        )

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
                await self._audit_only.record(existing, attempt, answer.status, answer.code, replay=True)
                return answer
            if decision.kind is DecisionKind.MISMATCH:
                raise await self._audit_only.refuse(
                    existing,
                    attempt,
                    ProblemError(
                        ProblemCode.IDEMPOTENCY_KEY_REUSED,
                        "This idempotencyId was used before with a different payload; use a new idempotencyId.",
                        fields=decision.differing_fields,
                    ),
                )
            if decision.kind is DecisionKind.IN_FLIGHT:
                raise await self._audit_only.refuse(existing, attempt, in_progress())
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
        raise await self._audit_only.refuse(existing, attempt, in_progress())

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
            written = await self._final.write(record, parked, audit, attempt)
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
        written = await self._final.write(record, final, audit, attempt)
        return written if written is not None else answer


def _owner(draft: OrderRecord) -> str:
    assert draft.lease_owner is not None, "a draft is always leased to its request"
    return draft.lease_owner
