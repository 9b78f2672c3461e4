"""The final write: an order's last state and its audit entry, stored once after the hand-off.

One ETag-guarded transaction, bounded by the holder's lease. Table Storage's own client owns the
retries of that write (instant/adapters/table_retry.py); this makes exactly one attempt. When the
write meets a changed record, the record read again says whose answer stands. Separate from the
guard (guard.py), which decides what to write: this is how it reaches the store, and how a lost
or refused write is told apart from one that committed.
"""

from __future__ import annotations

import asyncio
import logging

from instant.domain.answer import Answer
from instant.domain.clock import Clock
from instant.domain.errors import RecordChanged, StorageUnavailable, in_progress, storage_reason
from instant.domain.ports import AnswerRenderer, OrderStore
from instant.domain.records import AuditEntry, OrderRecord, OrderState
from instant.idempotency import transitions
from instant.idempotency.audit import Attempt
from instant.idempotency.audit_only import AuditOnly
from instant.idempotency.replay_cache import ReplayCache

# The guard's logger: these lines are the guard's, wherever the code that writes them lives.
log = logging.getLogger("instant.idempotency")

# A holder that is already past its lease (it ran late) still gets one try of this length.
_MIN_FINAL_WRITE_SECONDS = 1.0


class FinalWriter:
    """Stores a held order's final state with its audit entry, once, within the holder's lease."""

    def __init__(
        self,
        *,
        store: OrderStore,
        clock: Clock,
        renderer: AnswerRenderer,
        audit_only: AuditOnly,
        replays: ReplayCache,
        lease_seconds: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._renderer = renderer
        self._audit_only = audit_only
        self._replays = replays
        self._lease_seconds = lease_seconds

    async def write(self, held: OrderRecord, final: OrderRecord, audit: AuditEntry, attempt: Attempt) -> Answer | None:
        """One ETag-guarded write of ``final`` with ``audit``. Returns None when this request's
        own answer stands, or the answer to give instead when another request won the key."""
        try:
            # The lease's margin after the budget is this write's time: a storage that hangs
            # must not hold the caller past the lease.
            async with asyncio.timeout(max(_MIN_FINAL_WRITE_SECONDS, self._lease_left(held))):
                written = await self._store.update(final, audit)
        except RecordChanged:
            return await self._after_lost_write(held, final, attempt)
        except (StorageUnavailable, TimeoutError) as exc:
            # The provider's answer stands even if it could not be recorded: a retry takes the
            # key over after the lease and, through the provider token, gets the same outcome.
            # Its audit entry went down with it (one transaction): the log line stands in for it.
            log.error(
                "final state of an order could not be written",
                extra={
                    "reason": storage_reason(exc) if isinstance(exc, StorageUnavailable) else "the lease ran out",
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
            await self._audit_only.record(held, attempt, answer.status, answer.code, replay=True)
            return answer
        raise await self._audit_only.refuse(held, attempt, in_progress())

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
