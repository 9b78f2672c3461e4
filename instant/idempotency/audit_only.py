"""The audit entry of a request that changed no state: a replay, a 409, a 422.

Such a request writes no record, so its entry goes to the store on its own (not in a record's
transaction), and a storage failure only logs: the answer stands. Separate from the guard because
both of its paths need it, the resolve before the hand-off and the lost final write after it.
"""

from __future__ import annotations

import logging

from instant.domain.errors import ProblemError, StorageUnavailable, storage_reason
from instant.domain.ports import OrderStore
from instant.domain.records import OrderRecord
from instant.idempotency.audit import Attempt, AuditWriter

# The guard's logger: these lines are the guard's, wherever the code that writes them lives.
log = logging.getLogger("instant.idempotency")


class AuditOnly:
    """Writes the audit entry of a request that changed no state, and of each refusal."""

    def __init__(self, *, store: OrderStore, audits: AuditWriter) -> None:
        self._store = store
        self._audits = audits

    async def refuse(self, existing: OrderRecord, attempt: Attempt, problem: ProblemError) -> ProblemError:
        """Audit the refusal of ``attempt`` and return ``problem`` for the caller to raise."""
        await self.record(existing, attempt, problem.kind.status, problem.code.value, replay=False)
        return problem

    async def record(self, record: OrderRecord, attempt: Attempt, status: int, code: str, *, replay: bool) -> None:
        """The entry of a request that changed no state (a replay, a 409, a 422)."""
        try:
            await self._store.append_audit(
                self._audits.answered(record, attempt, status=status, code=code, replay=replay), beside=record
            )
        except StorageUnavailable as exc:
            log.error(
                "audit entry could not be written",
                extra={"shipment_id": record.shipment_id, "reason": storage_reason(exc)},
            )
