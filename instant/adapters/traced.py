"""Tracing decorators around the ports: a span per store or provider call (instant/observability/spans.py).

bootstrap.py wraps the real adapters in these, so spans come from around the ports and neither
the service nor an adapter knows about them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from opentelemetry.trace import Span, SpanKind

from instant.domain.deadline import Deadline
from instant.domain.digests import correlation_digest
from instant.domain.errors import (
    KeyAlreadyClaimed,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    RecordChanged,
)
from instant.domain.ports import (
    EmailGateway,
    EmailMessage,
    EmailReceipt,
    OrderStore,
    SmsGateway,
    SmsMessage,
    SmsReceipt,
)
from instant.domain.records import AuditEntry, OrderRecord
from instant.observability.spans import (
    AUDIT_OUTCOME,
    CALLER,
    CHANNEL,
    DELETED,
    LIMIT,
    MAY_HAVE_REACHED,
    PROVIDER_ID,
    RECIPIENT_DIGEST,
    REPLAY,
    RESULT,
    SHIPMENT_ID,
    STATE,
    TIMEOUT,
    VALIDITY,
    record_attributes,
    set_attributes,
    traced_span,
)


class TracedOrderStore:
    """OrderStore with a span per call."""

    def __init__(self, inner: OrderStore) -> None:
        self.inner = inner

    async def claim(self, record: OrderRecord) -> OrderRecord:
        """Claim, in a span."""
        with traced_span("instant.claim", expected=(KeyAlreadyClaimed,)) as span:
            set_attributes(span, record_attributes(record))
            try:
                claimed = await self.inner.claim(record)
            except KeyAlreadyClaimed as exc:
                set_attributes(span, {RESULT: "existing", STATE: exc.existing.state.value})
                raise
            set_attributes(span, {RESULT: "claimed"})
            return claimed

    async def get(self, shipment_id: str) -> OrderRecord | None:
        """Read, in a span."""
        with traced_span("instant.store.get") as span:
            set_attributes(span, {SHIPMENT_ID: shipment_id})
            found = await self.inner.get(shipment_id)
            set_attributes(span, {RESULT: "found" if found is not None else "missing"})
            return found

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        """Update, in a span."""
        with traced_span("instant.state_update", expected=(RecordChanged,)) as span:
            set_attributes(span, record_attributes(record))
            set_attributes(span, {AUDIT_OUTCOME: audit.outcome if audit is not None else None})
            try:
                updated = await self.inner.update(record, audit)
            except RecordChanged:
                set_attributes(span, {RESULT: "record_changed"})
                raise
            set_attributes(span, {RESULT: "updated"})
            return updated

    async def append_audit(self, audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        """Append, in a span."""
        with traced_span("instant.audit.append") as span:
            set_attributes(
                span,
                {
                    SHIPMENT_ID: audit.shipment_id,
                    CALLER: audit.caller,
                    CHANNEL: audit.channel.value,
                    AUDIT_OUTCOME: audit.outcome,
                    REPLAY: audit.replay,
                },
            )
            await self.inner.append_audit(audit, beside=beside)

    async def orders_with_prefix(self, shipment_prefix: str) -> list[OrderRecord]:
        """Key-range read, in a span."""
        with traced_span("instant.store.orders_with_prefix") as span:
            found = await self.inner.orders_with_prefix(shipment_prefix)
            set_attributes(span, {RESULT: "found" if found else "missing"})
            return found

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        """Read the trail, in a span."""
        with traced_span("instant.store.audit_entries") as span:
            set_attributes(span, {SHIPMENT_ID: shipment_id})
            return await self.inner.audit_entries(shipment_id)

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        """Purge orders, in a span."""
        with traced_span("instant.purge.orders") as span:
            deleted = await self.inner.purge_orders(received_before, limit=limit)
            set_attributes(span, {DELETED: deleted, LIMIT: limit})
            return deleted

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        """Purge audit entries, in a span."""
        with traced_span("instant.purge.audit") as span:
            deleted = await self.inner.purge_audit(before, limit=limit)
            set_attributes(span, {DELETED: deleted, LIMIT: limit})
            return deleted

    async def prepare_periods(self, now: datetime) -> list[str]:
        """Prepare the coming periods, in a span."""
        with traced_span("instant.store.prepare_periods"):
            return await self.inner.prepare_periods(now)

    async def drop_expired_periods(self, now: datetime, audit_retention: timedelta) -> list[str]:
        """Drop expired periods, in a span."""
        with traced_span("instant.store.drop_expired_periods") as span:
            dropped = await self.inner.drop_expired_periods(now, audit_retention)
            set_attributes(span, {DELETED: len(dropped)})
            return dropped

    async def close(self) -> None:
        """Close the inner port."""
        await self.inner.close()


def _provider_failure(span: Span, exc: Exception) -> None:
    if isinstance(exc, ProviderRejected):
        set_attributes(span, {RESULT: "rejected"})
    elif isinstance(exc, ProviderUnavailable):
        set_attributes(span, {RESULT: "unavailable", MAY_HAVE_REACHED: exc.may_have_reached})
    elif isinstance(exc, ProviderOutcomeUnknown):
        set_attributes(span, {RESULT: "outcome_unknown"})


class TracedSmsGateway:
    """SmsGateway with a span per call."""

    def __init__(self, inner: SmsGateway) -> None:
        self.inner = inner

    async def send(self, message: SmsMessage, *, deadline: Deadline) -> SmsReceipt:
        """Send, in a span."""
        with traced_span("instant.provider.sms.send", kind=SpanKind.CLIENT) as span:
            set_attributes(
                span,
                {
                    CHANNEL: "sms",
                    RECIPIENT_DIGEST: correlation_digest(message.recipient),
                    VALIDITY: message.validity_seconds,
                    TIMEOUT: round(deadline.remaining(), 3),
                },
            )
            try:
                receipt = await self.inner.send(message, deadline=deadline)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            set_attributes(span, {RESULT: "accepted", PROVIDER_ID: receipt.message_id})
            return receipt

    async def close(self) -> None:
        """Close the inner port."""
        await self.inner.close()


class TracedEmailGateway:
    """EmailGateway with a span per call."""

    def __init__(self, inner: EmailGateway) -> None:
        self.inner = inner

    async def send(self, message: EmailMessage, *, deadline: Deadline, wait: float) -> EmailReceipt:
        """Send, in a span."""
        with traced_span("instant.provider.email.send", kind=SpanKind.CLIENT) as span:
            set_attributes(
                span,
                {
                    CHANNEL: "email",
                    RECIPIENT_DIGEST: correlation_digest(message.recipient),
                    PROVIDER_ID: message.operation_id,
                    TIMEOUT: round(deadline.remaining(), 3),
                },
            )
            try:
                receipt = await self.inner.send(message, deadline=deadline, wait=wait)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            set_attributes(span, {RESULT: receipt.status.value})
            return receipt

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        """Ask, in a span."""
        with traced_span("instant.provider.email.status", kind=SpanKind.CLIENT) as span:
            set_attributes(span, {CHANNEL: "email", PROVIDER_ID: operation_id, TIMEOUT: round(deadline.remaining(), 3)})
            try:
                receipt = await self.inner.status(operation_id, deadline=deadline)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            set_attributes(span, {RESULT: receipt.status.value if receipt is not None else "unknown_operation"})
            return receipt

    async def close(self) -> None:
        """Close the inner port."""
        await self.inner.close()
