"""GET shipment: one point read, a caller check, a refresh of an email still sending, and the
time-to-live of a delivery report that never came (derived here, never stored)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

from instant.domain.answer import Answer
from instant.domain.clock import Clock
from instant.domain.deadline import Deadline
from instant.domain.delivery_status import effective_status
from instant.domain.errors import (
    ProviderMisconfigured,
    ProviderUnavailable,
    RecordChanged,
    StorageUnavailable,
    not_found,
    storage_unavailable,
)
from instant.domain.ports import AnswerRenderer, EmailGateway, EmailOperationStatus, OrderStore
from instant.domain.records import Channel, OrderRecord, RecipientStatus
from instant.idempotency.audit import AuditWriter
from instant.service.handoffs import email_status


class ShipmentReader:
    """Answers GET shipment for the order's own caller."""

    def __init__(
        self,
        *,
        store: OrderStore,
        email: EmailGateway,
        clock: Clock,
        renderer: AnswerRenderer,
        audits: AuditWriter,
        refresh_seconds: float,
        report_grace: timedelta = timedelta(seconds=300),
    ) -> None:
        self._store = store
        self._email = email
        self._clock = clock
        self._renderer = renderer
        self._audits = audits
        self._refresh_seconds = refresh_seconds
        self._report_grace = report_grace

    async def read(self, caller: str, shipment_id: str, trace_id: str) -> Answer:
        """The shipment, or ProblemError 404 (unknown, or another caller's) / 503 (storage)."""
        try:
            canonical = str(uuid.UUID(shipment_id))
        except ValueError:
            raise not_found() from None
        try:
            record = await self._store.get(canonical)
        except StorageUnavailable:
            raise storage_unavailable() from None
        # Another caller's order is indistinguishable from a missing one.
        if record is None or record.caller != caller:
            raise not_found()
        if record.channel is Channel.EMAIL and record.status is RecipientStatus.EMAIL_SENDING and record.provider_id:
            record = await self._refresh_email_status(record, trace_id)
        status, last_update = effective_status(record, self._clock.now(), self._report_grace)
        return self._renderer.shipment(replace(record, status=status, updated_at=last_update))

    async def _refresh_email_status(self, record: OrderRecord, trace_id: str) -> OrderRecord:
        assert record.provider_id is not None
        try:
            receipt = await self._email.status(
                record.provider_id, deadline=Deadline.after(self._clock, self._refresh_seconds)
            )
        except (ProviderUnavailable, ProviderMisconfigured):
            return record  # show what we know; the next read asks again
        if receipt is None or receipt.status is EmailOperationStatus.RUNNING:
            return record
        status = email_status(receipt)
        refreshed = replace(record, status=status, updated_at=self._clock.now())
        try:
            return await self._store.update(refreshed, self._audits.refreshed(refreshed, trace_id))
        except RecordChanged:
            # Another reader or a delivery report wrote first: show what is stored now, never a
            # status older than it (a report's Email_Delivered must not read as Email_Succeeded).
            try:
                current = await self._store.get(record.shipment_id)
            except StorageUnavailable:
                current = None
            return current if current is not None else record
        except StorageUnavailable:
            return refreshed  # storage is down: answer what ACS said
