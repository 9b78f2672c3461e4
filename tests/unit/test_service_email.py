"""The service's email paths with fakes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from instant.domain.errors import ProblemError, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable
from instant.domain.orders import EmailOrder, SmsOrder
from instant.domain.ports import EmailContentType, EmailOperationStatus, EmailReceipt
from instant.domain.records import Channel, RecipientStatus, email_operation_id_for, shipment_id_for
from instant.limits.policy import CallerSenders, LimitSettings
from tests.support.fakes import ACCEPT_THEN_CRASH, START, WorkerCrash
from tests.support.unit import CALLER, SETTINGS, World, build_world


def email(key: str = "verify-1", **changes: object) -> EmailOrder:
    order = EmailOrder(
        idempotency_id=key,
        senders_reference="ref-9",
        email_address="user@example.no",
        subject="Your code",
        body="<p>Your code is <b>123456</b></p>",
        content_type=EmailContentType.HTML,
        sender=None,
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def code(body: str) -> str:
    return str(json.loads(body)["code"])


async def test_new_email_is_sent_once_with_the_deterministic_operation_id(world: World) -> None:
    answer = await world.send(email(), CALLER)
    assert answer.status == 201
    assert json.loads(answer.body)["notification"]["status"] == "Email_Succeeded"
    (sent,) = world.email.sent
    assert sent.operation_id == email_operation_id_for("caller-a", "verify-1", START)
    assert sent.sender == "noreply@instant.example.com"
    assert sent.content_type is EmailContentType.HTML
    assert world.email.status_calls == []  # a first attempt does not ask before posting


async def test_email_still_running_is_answered_as_sending(world: World) -> None:
    world.email.final_status = EmailOperationStatus.RUNNING
    answer = await world.send(email(), CALLER)
    assert answer.status == 201
    assert json.loads(answer.body)["notification"]["status"] == "Email_Sending"


async def test_replay_and_mismatch(world: World) -> None:
    first = await world.send(email(), CALLER)
    again = await world.send(email(), CALLER)
    changed = await world.send(email(subject="Another"), CALLER)
    assert (again.status, again.body, again.headers["Idempotent-Replayed"]) == (200, first.body, "true")
    assert changed.status == 422
    assert json.loads(changed.body)["fields"] == ["recipientEmail.emailSettings.subject"]
    assert len(world.email.sent) == 1


async def test_same_id_for_sms_and_email_are_two_orders(world: World) -> None:
    sms = SmsOrder("shared-1", None, "+4799999999", 300, None, "code 1")
    assert (await world.send(sms, CALLER)).status == 201
    assert (await world.send(email("shared-1"), CALLER)).status == 201
    assert shipment_id_for("caller-a", Channel.SMS, "shared-1") != shipment_id_for(
        "caller-a", Channel.EMAIL, "shared-1"
    )


async def test_failed_operation_is_recipient_rejected_stored_and_replayed(world: World) -> None:
    world.email.script = [ProviderRejected("operation Failed")]
    first = await world.send(email(), CALLER)
    again = await world.send(email(), CALLER)
    assert (first.status, code(first.body)) == (422, "recipient_rejected")
    assert (again.status, again.body) == (422, first.body)
    record = world.store.records[shipment_id_for("caller-a", Channel.EMAIL, "verify-1")]
    assert record.status is RecipientStatus.EMAIL_FAILED


async def test_transient_failures_are_retried_inside_the_budget(world: World) -> None:
    world.email.script = [ProviderUnavailable("503"), ProviderUnavailable("429", retry_after=1)]
    answer = await world.send(email(), CALLER)
    assert answer.status == 201
    assert len(world.email.calls) == 3
    assert len(world.email.sent) == 1


async def test_outcome_unknown_is_stored(world: World) -> None:
    world.email.script = [ProviderOutcomeUnknown("?")]
    answer = await world.send(email(), CALLER)
    assert (answer.status, code(answer.body)) == (502, "outcome_unknown")


async def test_takeover_asks_acs_before_posting_again(world: World) -> None:
    # given: a worker posted the email (ACS has the operation) and crashed before recording it
    operation_id = email_operation_id_for("caller-a", "verify-1", START)
    world.email.script = [ProviderUnavailable("no answer", may_have_reached=True)] * 100
    await world.send(email(), CALLER)
    world.email.operations[operation_id] = EmailOperationStatus.SUCCEEDED  # it did arrive
    world.email.script = []
    calls_before = len(world.email.calls)
    # when the caller retries
    answer = await world.send(email(), CALLER)
    # then the service found the operation and did not post again
    assert answer.status == 201
    assert json.loads(answer.body)["notification"]["status"] == "Email_Succeeded"
    assert world.email.status_calls[-1] == operation_id
    assert len(world.email.calls) == calls_before


async def test_takeover_posts_when_acs_does_not_know_the_operation(world: World) -> None:
    world.email.script = [ProviderUnavailable("no answer", may_have_reached=True)] * 100
    await world.send(email(), CALLER)
    world.email.script = []
    world.email.status_script = [None]
    answer = await world.send(email(), CALLER)
    assert answer.status == 201
    assert len(world.email.sent) == 1


async def test_crashed_holder_is_asked_about_before_posting(world: World) -> None:
    # given: a worker that died right after ACS accepted the email
    world.email.script = [ACCEPT_THEN_CRASH]
    with pytest.raises(WorkerCrash):
        await world.send(email(), CALLER)
    # when the caller retries after the dead worker's lease
    early = await world.send(email(), CALLER)
    world.clock.advance(SETTINGS.lease_seconds + 1)
    answer = await world.send(email(), CALLER)
    # then
    assert early.status == 409
    assert answer.status == 201
    assert world.email.status_calls  # asked first
    assert len(world.email.sent) == 1


async def test_sender_outside_the_allow_list_is_refused_before_anything_else() -> None:
    world = build_world(replace(SETTINGS, limits=LimitSettings(caller_senders={"*": CallerSenders()})))
    with pytest.raises(ProblemError) as raised:
        await world.service.send(email(sender="ceo@example.com"), CALLER)
    assert raised.value.errors == {
        "recipientEmail.emailSettings.senderEmailAddress": ["is not a sender this caller may use"]
    }
    assert world.store.requests == 0
    assert (await world.send(email(sender="noreply@instant.example.com"), CALLER)).status == 201


async def test_get_shipment_refreshes_a_sending_email_and_stores_it(world: World) -> None:
    world.email.final_status = EmailOperationStatus.RUNNING
    created = json.loads((await world.send(email(), CALLER)).body)
    shipment_id = created["notification"]["shipmentId"]
    before = json.loads((await world.get_shipment("caller-a", shipment_id, "t")).body)
    assert before["status"] == "Order_Processing"
    assert before["recipients"][0]["status"] == "Email_Sending"
    # when ACS finishes
    operation_id = email_operation_id_for("caller-a", "verify-1", START)
    world.email.operations[operation_id] = EmailOperationStatus.SUCCEEDED
    world.clock.advance(3)
    after = json.loads((await world.get_shipment("caller-a", shipment_id, "t")).body)
    # then (still Order_Processing: the delivery report is still to come)
    assert after["status"] == "Order_Processing"
    assert after["recipients"][0]["status"] == "Email_Succeeded"
    record = world.store.records[shipment_id]
    assert record.status is RecipientStatus.EMAIL_SUCCEEDED
    audits = world.store.audits[shipment_id]
    assert [a.outcome for a in audits] == ["created", "status_refreshed"]
    # and the replayed POST answer keeps the first bytes
    replay = await world.send(email(), CALLER)
    assert json.loads(replay.body)["notification"]["status"] == "Email_Sending"


async def test_get_shipment_keeps_status_when_acs_cannot_be_asked(world: World) -> None:
    world.email.final_status = EmailOperationStatus.RUNNING
    created = json.loads((await world.send(email(), CALLER)).body)
    world.email.status_script = [ProviderUnavailable("503")]
    shown = json.loads((await world.get_shipment("caller-a", created["notification"]["shipmentId"], "t")).body)
    assert shown["recipients"][0]["status"] == "Email_Sending"


async def test_no_ttl_for_email(world: World) -> None:
    await world.send(email(), CALLER)
    record = world.store.records[shipment_id_for("caller-a", Channel.EMAIL, "verify-1")]
    assert record.deadline is None
    world.clock.advance(timedelta(days=2).total_seconds())
    assert (await world.send(email(), CALLER)).status == 200


async def test_failed_status_on_takeover_is_recipient_rejected(world: World) -> None:
    world.email.script = [ProviderUnavailable("no answer", may_have_reached=True)] * 100
    await world.send(email(), CALLER)
    world.email.status_script = [EmailReceipt("x", EmailOperationStatus.FAILED)]
    answer = await world.send(email(), CALLER)
    assert (answer.status, code(answer.body)) == (422, "recipient_rejected")


async def test_email_works_while_sms_is_not_configured() -> None:
    world = build_world(replace(SETTINGS, sms_default_sender=None))
    assert (await world.send(email(), CALLER)).status == 201


async def test_an_operation_dropped_for_suppressed_recipients_reads_as_suppressed(world: World) -> None:
    # given: ACS took the email, then dropped it (all recipients suppressed), as GET shipment learns
    world.email.final_status = EmailOperationStatus.RUNNING
    created = json.loads((await world.send(email(), CALLER)).body)
    operation_id = email_operation_id_for("caller-a", "verify-1", START)
    world.email.status_script = [
        EmailReceipt(operation_id, EmailOperationStatus.FAILED, error_code="EmailDroppedAllRecipientsSuppressed")
    ]
    # when
    shipment = json.loads((await world.get_shipment("caller-a", created["notification"]["shipmentId"], "t")).body)
    # then
    assert shipment["recipients"][0]["status"] == "Email_Failed_SuppressedRecipient"
    assert shipment["status"] == "Order_Completed"
