"""Order records and audit entries for tests that write to a store directly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from instant.domain.fingerprint import Fingerprint
from instant.domain.records import (
    AuditEntry,
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    order_id_for,
    shipment_id_for,
)

T0 = datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC)


def order_record(key: str, *, caller: str = "caller-a", at: datetime = T0, **changes: object) -> OrderRecord:
    """A freshly claimed SMS order (in progress, leased) received at ``at``; ``changes`` override."""
    base = OrderRecord(
        shipment_id=shipment_id_for(caller, Channel.SMS, key),
        order_id=order_id_for(caller, Channel.SMS, key),
        caller=caller,
        channel=Channel.SMS,
        idempotency_id=key,
        fingerprint=Fingerprint.of({"recipientSms.phoneNumber": "+4799999999", "recipientSms.smsSettings.body": "b"}),
        state=OrderState.IN_PROGRESS,
        status=RecipientStatus.SMS_SENDING,
        received_at=at,
        first_sent_at=at,
        deadline=at + timedelta(seconds=300),
        ttl_seconds=300,
        recipient="+4799999999",
        sender="Instant",
        senders_reference=None,
        updated_at=at,
        lease_until=at + timedelta(seconds=13),
        lease_owner="owner-1",
        attempts=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def audit_entry(shipment_id: str, at: datetime, *, caller: str = "caller-a", **changes: object) -> AuditEntry:
    """An audit entry with test defaults; keyword arguments override fields."""
    base = AuditEntry(
        shipment_id=shipment_id,
        at=at,
        caller=caller,
        channel=Channel.SMS,
        idempotency_id="k",
        recipient="+4799999999",
        sender="Instant",
        outcome="created",
        http_status=201,
        replay=False,
        provider_id="msg-1",
        ttl_seconds=300,
        latency_ms=12,
        trace_id="0" * 32,
        body_sha256="a" * 64,
        body_length=10,
        status="SMS_Accepted",
    )
    return replace(base, **changes)  # type: ignore[arg-type]
