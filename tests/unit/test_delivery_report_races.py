"""Delivery reports against orders in every state, and GET shipment racing them.

A report is written onto any order no request holds right now (a parked one, one whose holder
died), and the provider's report replaces the service's own "outcome unknown" guess; an order
that never got a report reads as failed once its time is up; a GET's refresh never shows a
status older than the stored one. From a review of the delivery-report path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from instant.domain.deadline import Deadline
from instant.domain.delivery_status import Report
from instant.domain.errors import ProviderUnavailable
from instant.domain.ports import EmailOperationStatus, EmailReceipt
from instant.domain.records import Channel, OrderState, RecipientStatus, shipment_id_for
from tests.support.fakes import FakeEmailGateway
from tests.support.reports import TRACE, email_order, sms_order
from tests.support.unit import CALLER, World, build_world


def sms_report(shipment_id: str, status: str = "Delivered", message_id: str = "Outgoing_1") -> Report:
    return Report(
        channel=Channel.SMS,
        event_id=message_id,
        event_time=datetime(2026, 11, 26, 10, 0, 3, tzinfo=UTC),
        provider_status=status,
        details="No error.",
        message_id=message_id,
        recipient="+4799999999",
        tag=shipment_id,
    )


def email_report(operation_id: str, status: str = "Delivered") -> Report:
    return Report(
        channel=Channel.EMAIL,
        event_id="ev-1",
        event_time=datetime(2026, 11, 26, 10, 0, 4, tzinfo=UTC),
        provider_status=status,
        details=None,
        message_id=operation_id,
        recipient="user@example.no",
    )


async def shipment(world: World, shipment_id: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((await world.get_shipment("caller-a", shipment_id, "t")).body)
    return body


async def test_a_report_on_a_parked_order_is_written_and_kept_through_the_retry() -> None:
    world = build_world()
    # ACS took the SMS but every answer was a 500 (it may have reached ACS): the order is parked
    world.sms.script = [ProviderUnavailable("500", may_have_reached=True) for _ in range(40)]
    assert (await world.send(sms_order(), CALLER)).status == 503
    sid = shipment_id_for("caller-a", Channel.SMS, "otp-1")
    assert world.store.records[sid].state is OrderState.RETRYABLE
    # the phone got it: the report is written although no request holds the order (it raised)
    assert await world.service.delivery_report(sms_report(sid), TRACE) == "applied"
    # the client retries after the time-to-live: the stored answer is the service's 502, but the
    # recipient status stays what ACS reported
    world.clock.advance(400)
    world.sms.script = []
    assert (await world.send(sms_order(), CALLER)).status == 502
    body = await shipment(world, sid)
    assert (body["status"], body["recipients"][0]["status"]) == ("Order_Completed", "SMS_Delivered")


async def test_a_real_report_replaces_an_outcome_unknown_guess() -> None:
    world = build_world()
    world.sms.script = [ProviderUnavailable("500", may_have_reached=True) for _ in range(40)]
    assert (await world.send(sms_order(), CALLER)).status == 503
    sid = shipment_id_for("caller-a", Channel.SMS, "otp-1")
    world.clock.advance(400)
    world.sms.script = []
    assert (await world.send(sms_order(), CALLER)).status == 502  # stored as SMS_Failed: a guess
    # Event Grid delivers the real report late: it is the truth about the message
    assert await world.service.delivery_report(sms_report(sid), TRACE) == "applied"
    assert (await shipment(world, sid))["recipients"][0]["status"] == "SMS_Delivered"


async def test_a_parked_sms_past_its_deadline_and_the_grace_reads_failed_ttl() -> None:
    world = build_world()
    world.sms.script = [ProviderUnavailable("500", may_have_reached=True) for _ in range(40)]
    assert (await world.send(sms_order(), CALLER)).status == 503
    sid = shipment_id_for("caller-a", Channel.SMS, "otp-1")
    world.clock.advance(7 * 24 * 3600)
    body = await shipment(world, sid)
    assert (body["status"], body["recipients"][0]["status"]) == ("Order_Completed", "SMS_Failed_TTL")


async def test_an_email_acs_never_finished_reads_failed_ttl_after_48_hours() -> None:
    world = build_world()
    world.email.final_status = EmailOperationStatus.RUNNING
    answer = await world.send(email_order(), CALLER)
    assert answer.status == 201
    sid = json.loads(answer.body)["notification"]["shipmentId"]
    assert world.store.records[sid].status is RecipientStatus.EMAIL_SENDING
    world.email.operations.clear()  # ACS no longer knows the operation (404 on its status)
    world.clock.advance(49 * 3600)
    body = await shipment(world, sid)
    assert (body["status"], body["recipients"][0]["status"]) == ("Order_Completed", "Email_Failed_TTL")


@dataclass
class ReportDuringStatus(FakeEmailGateway):
    world: World | None = None
    report: Report | None = None
    answer_with: EmailOperationStatus = EmailOperationStatus.SUCCEEDED

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        if self.report is not None and self.world is not None:
            report, self.report = self.report, None
            assert await self.world.service.delivery_report(report, TRACE) == "applied"
        return EmailReceipt(operation_id, self.answer_with)


@pytest.mark.parametrize("acs_says", [EmailOperationStatus.SUCCEEDED, EmailOperationStatus.FAILED])
async def test_a_get_refresh_racing_a_report_answers_the_stored_status(acs_says: EmailOperationStatus) -> None:
    world = build_world()
    gateway = ReportDuringStatus(final_status=EmailOperationStatus.RUNNING, answer_with=acs_says)
    world.email.final_status = EmailOperationStatus.RUNNING
    world.service._shipments._email = gateway  # only GET's refresh
    answer = await world.send(email_order(), CALLER)
    sid = json.loads(answer.body)["notification"]["shipmentId"]
    record = world.store.records[sid]
    assert record.status is RecipientStatus.EMAIL_SENDING and record.provider_id
    gateway.world, gateway.report = world, email_report(record.provider_id)
    shown = await shipment(world, sid)
    stored = world.store.records[sid].status
    assert stored is RecipientStatus.EMAIL_DELIVERED
    assert shown["recipients"][0]["status"] == stored.value


async def test_a_report_for_an_order_whose_holder_died_is_written() -> None:
    from tests.support.fakes import ACCEPT_THEN_CRASH, WorkerCrash

    world = build_world()
    world.sms.script = [ACCEPT_THEN_CRASH]
    with pytest.raises(WorkerCrash):
        await world.send(sms_order(), CALLER)
    sid = shipment_id_for("caller-a", Channel.SMS, "otp-1")
    world.clock.advance(24 * 3600)  # Event Grid's whole retry window later; lease long expired
    record = world.store.records[sid]
    assert record.state is OrderState.IN_PROGRESS
    assert record.lease_until is not None and record.lease_until < world.clock.now()
    outcome = await world.service.delivery_report(sms_report(sid, message_id="msg-1"), TRACE)
    assert outcome == "applied"  # not ReportNotReady, which Event Grid would retry until it gave up
