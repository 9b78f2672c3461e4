"""Delivery reports through the service on fakes (instant/service/delivery_reports.py), and the
event parsing of the ``delivery_report`` function."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from instant.domain.delivery_status import Report
from instant.domain.errors import RecordChanged, StorageUnavailable
from instant.domain.records import AuditEntry, Channel, OrderRecord, RecipientStatus, shipment_id_for
from instant.entrypoints.answers import wire_time
from instant.entrypoints.delivery_reports import EMAIL_EVENT, SMS_EVENT, report_from_event
from instant.service.delivery_reports import ReportNotReady
from tests.support.builders import order_record
from tests.support.fakes import InMemoryOrderStore
from tests.support.reports import TRACE, email_order, sms_order
from tests.support.unit import CALLER, World, build_world


async def sent_sms(world: World, key: str = "otp-1") -> OrderRecord:
    answer = await world.send(sms_order(key), CALLER)
    assert answer.status == 201
    record: OrderRecord = world.store.records[json.loads(answer.body)["notification"]["shipmentId"]]
    return record


def sms_report(record: OrderRecord, status: str = "Delivered", **changes: object) -> Report:
    base = Report(
        channel=Channel.SMS,
        event_id=record.provider_id or "m",
        event_time=datetime(2026, 11, 26, 10, 0, 3, tzinfo=UTC),
        provider_status=status,
        details="No error.",
        message_id=record.provider_id or "m",
        recipient=record.recipient,
        tag=record.shipment_id,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def reports_of(world: World, shipment_id: str) -> list[AuditEntry]:
    return [a for a in world.store.audits.get(shipment_id, []) if a.outcome == "delivery_report"]


@pytest.fixture
def world() -> World:
    return build_world()


async def test_sms_is_sent_with_its_shipment_id_as_tag(world: World) -> None:
    record = await sent_sms(world)
    assert world.sms.sent[0].tag == record.shipment_id


async def test_a_delivered_report_is_written_with_its_audit_entry_in_one_read_and_one_write(world: World) -> None:
    record = await sent_sms(world)
    world.clock.advance(3)
    before = world.store.requests
    assert await world.service.delivery_report(sms_report(record), TRACE) == "applied"
    assert world.store.requests - before == 2  # one point read, one transaction
    stored = world.store.records[record.shipment_id]
    assert stored.status is RecipientStatus.SMS_DELIVERED
    (entry,) = reports_of(world, record.shipment_id)
    assert (entry.status, entry.provider_status, entry.provider_details) == ("SMS_Delivered", "Delivered", "No error.")
    assert (entry.event_id, entry.event_time, entry.trace_id) == (
        record.provider_id,
        sms_report(record).event_time,
        TRACE,
    )
    assert (entry.body_sha256, entry.body_length, entry.http_status) == ("", 0, 0)
    shipment = json.loads((await world.get_shipment("caller-a", record.shipment_id, "t")).body)
    assert shipment["status"] == "Order_Completed"
    assert shipment["recipients"][0]["status"] == "SMS_Delivered"
    assert shipment["recipients"][0]["lastUpdate"] == wire_time(world.clock.now())


async def test_a_duplicate_report_changes_nothing_and_writes_no_second_entry(world: World) -> None:
    record = await sent_sms(world)
    report = sms_report(record)
    await world.service.delivery_report(report, TRACE)
    etag = world.store.records[record.shipment_id].etag
    assert await world.service.delivery_report(report, TRACE) == "duplicate"
    assert world.store.records[record.shipment_id].etag == etag
    assert len(reports_of(world, record.shipment_id)) == 1


async def test_a_later_contradicting_report_is_audited_once_and_changes_nothing(world: World) -> None:
    record = await sent_sms(world)
    await world.service.delivery_report(sms_report(record), TRACE)
    delivered = world.store.records[record.shipment_id]
    failed = sms_report(record, "Failed", event_time=datetime(2026, 11, 26, 10, 0, 9, tzinfo=UTC))
    assert await world.service.delivery_report(failed, TRACE) == "contradicted"
    assert await world.service.delivery_report(failed, TRACE) == "duplicate"
    stored = world.store.records[record.shipment_id]
    assert (stored.status, stored.updated_at) == (RecipientStatus.SMS_DELIVERED, delivered.updated_at)
    entries = reports_of(world, record.shipment_id)
    assert [(e.status, e.provider_status) for e in entries] == [
        ("SMS_Delivered", "Delivered"),
        ("SMS_Delivered", "Failed"),
    ]


async def test_unknown_purged_and_unreadable_tags_are_dropped_without_a_write(world: World) -> None:
    record = await sent_sms(world)
    before = len(world.store.audits[record.shipment_id])
    for tag in (None, "not-a-uuid", shipment_id_for("caller-a", Channel.SMS, "never-sent")):
        assert await world.service.delivery_report(sms_report(record, tag=tag), TRACE) == "unknown"
    world.store.records.pop(record.shipment_id)  # purged
    assert await world.service.delivery_report(sms_report(record), TRACE) == "unknown"
    assert len(world.store.audits[record.shipment_id]) == before


async def test_a_report_for_another_recipient_or_message_is_dropped(world: World) -> None:
    record = await sent_sms(world)
    assert await world.service.delivery_report(sms_report(record, recipient="+4711111111"), TRACE) == "mismatched"
    assert await world.service.delivery_report(sms_report(record, message_id="Outgoing_x"), TRACE) == "mismatched"
    assert world.store.records[record.shipment_id].status is RecipientStatus.SMS_ACCEPTED


async def test_a_report_while_a_request_holds_the_order_raises_for_a_later_delivery(world: World) -> None:
    held = await world.store.claim(order_record("held-1"))
    with pytest.raises(ReportNotReady):
        await world.service.delivery_report(sms_report(held), TRACE)
    assert world.store.records[held.shipment_id].etag == held.etag


async def test_storage_unavailable_raises_so_event_grid_retries(world: World) -> None:
    record = await sent_sms(world)
    world.store.available = False
    with pytest.raises(StorageUnavailable):
        await world.service.delivery_report(sms_report(record), TRACE)


class RacingStore(InMemoryOrderStore):
    """Another report is written between our read and our write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.race: Report | None = None

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        if self.race is not None and audit is not None and audit.outcome == "delivery_report":
            current = self.records[record.shipment_id]
            self.records[record.shipment_id] = replace(current, status=self.race.status, etag='W/"raced"')
            self.race = None
            raise RecordChanged("etag mismatch")
        return await super().update(record, audit)


async def test_a_write_that_loses_an_etag_race_decides_again_on_what_is_there() -> None:
    store = RacingStore()
    world = build_world(store=store)
    record = await sent_sms(world)
    store.race = sms_report(record, "Failed", event_id="other")
    assert await world.service.delivery_report(sms_report(record), TRACE) == "contradicted"
    assert store.records[record.shipment_id].status is RecipientStatus.SMS_FAILED


async def test_an_email_report_finds_its_order_by_operation_id_in_one_range_read(world: World) -> None:
    answer = await world.send(email_order(), CALLER)
    record = world.store.records[json.loads(answer.body)["notification"]["shipmentId"]]
    assert record.provider_id is not None
    report = Report(
        channel=Channel.EMAIL,
        event_id="ev-9",
        event_time=datetime(2026, 11, 26, 10, 0, 4, tzinfo=UTC),
        provider_status="bounced",
        details="MailboxUnavailable",
        message_id=record.provider_id.upper(),
        recipient="user@example.no",
    )
    before = world.store.requests
    assert await world.service.delivery_report(report, TRACE) == "applied"
    assert world.store.requests - before == 2
    assert world.store.records[record.shipment_id].status is RecipientStatus.EMAIL_FAILED_BOUNCED
    other = replace(report, message_id=shipment_id_for("caller-a", Channel.EMAIL, "zzz"))
    assert await world.service.delivery_report(other, TRACE) == "unknown"


async def test_ttl_reads_as_failed_and_a_late_report_still_wins(world: World) -> None:
    record = await sent_sms(world)
    assert record.deadline is not None
    world.clock.current = record.deadline + timedelta(seconds=300)
    late = json.loads((await world.get_shipment("caller-a", record.shipment_id, "t")).body)
    assert (late["status"], late["recipients"][0]["status"]) == ("Order_Completed", "SMS_Failed_TTL")
    assert late["lastUpdate"] == wire_time(world.clock.now())
    assert world.store.records[record.shipment_id].status is RecipientStatus.SMS_ACCEPTED  # never stored
    assert await world.service.delivery_report(sms_report(record), TRACE) == "applied"
    after = json.loads((await world.get_shipment("caller-a", record.shipment_id, "t")).body)
    assert after["recipients"][0]["status"] == "SMS_Delivered"


def test_events_are_read_in_any_key_and_status_casing() -> None:
    when = datetime(2026, 11, 26, 10, 0, 3, tzinfo=UTC)
    pascal = {"MessageId": "m1", "From": "Instant", "To": "+4799999999", "DeliveryStatus": "Delivered", "Tag": "t"}
    camel = {"messageId": "m1", "from": "Instant", "to": "+4799999999", "deliveryStatus": "delivered", "tag": "t"}
    for data in (pascal, camel):
        report = report_from_event(SMS_EVENT.lower(), "e1", when, data)
        assert report is not None
        assert (report.channel, report.tag, report.status) == (Channel.SMS, "t", RecipientStatus.SMS_DELIVERED)
    email = {
        "Sender": "noreply@x.no",
        "Recipient": "user@example.no",
        "MessageId": "op",
        "Status": "Quarantined",
        "DeliveryStatusDetails": {"StatusMessage": "held"},
        "deliveryAttemptTimeStamp": "2026-11-26T10:00:03.1234567+00:00",
    }
    report = report_from_event(EMAIL_EVENT, "e2", None, email)
    assert report is not None
    assert (report.status, report.details) == (RecipientStatus.EMAIL_FAILED_QUARANTINED, "held")
    assert report.event_time == datetime(2026, 11, 26, 10, 0, 3, 123456, tzinfo=UTC)


def test_events_that_are_not_readable_reports_are_none() -> None:
    assert report_from_event("Microsoft.Communication.SMSReceived", "e", None, {"to": "x"}) is None
    assert report_from_event(SMS_EVENT, "e", None, {"messageId": "m", "to": "+47"}) is None  # no status
    assert report_from_event(SMS_EVENT, "e", None, ["not", "a", "mapping"]) is None
    assert report_from_event(SMS_EVENT, "", None, {"messageId": "m", "to": "+47", "deliveryStatus": "x"}) is None
