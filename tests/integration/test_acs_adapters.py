"""The ACS adapters with the real SDK pipelines against the emulator, in-process.

These pin the private path the SMS adapter takes through the SDK (requirements.txt pins the
SDK for it) and the deadline policy: one try per call, ending at the deadline (the delivery
ladder in instant/service/delivery.py owns the retries)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
from azure.core.credentials import AzureKeyCredential

from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.domain.clock import SystemClock
from instant.domain.deadline import Deadline
from instant.domain.errors import ProviderMisconfigured, ProviderRejected, ProviderUnavailable
from instant.domain.ports import EmailContentType, EmailMessage, EmailOperationStatus, SmsMessage
from sandbox.acs_emulator import RunningEmulator, start_emulator

pytestmark = pytest.mark.integration
KEY = "YWRhcHRlci10ZXN0LWtleS0wMTIzNDU2Nzg5YWJjZGVm"


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[RunningEmulator]:
    # The adapters' own mapping, at unit speed: the emulator's fast timing (operations end in 0.2 s).
    # The service's tests run against its recorded timing.
    running = await start_emulator(KEY, timing="fast")
    yield running
    await running.stop()


@pytest.fixture
async def sms(emulator: RunningEmulator) -> AsyncIterator[AcsSmsGateway]:
    gateway = AcsSmsGateway.create(emulator.base_url, AzureKeyCredential(KEY))
    yield gateway
    await gateway.close()


@pytest.fixture
async def email(emulator: RunningEmulator) -> AsyncIterator[AcsEmailGateway]:
    gateway = AcsEmailGateway.create(emulator.base_url, AzureKeyCredential(KEY))
    yield gateway
    await gateway.close()


def within(seconds: float) -> Deadline:
    return Deadline.after(SystemClock(), seconds)


def message(to: str, token: str, first_sent: datetime | None = None, validity: int = 300) -> SmsMessage:
    return SmsMessage(
        recipient=to,
        sender="Instant",
        body="Your code is 123456.",
        validity_seconds=validity,
        token=token,
        first_sent_at=first_sent or datetime.now(UTC).replace(microsecond=0),
    )


async def test_sms_goes_out_at_2024_02_05_with_our_repeatability_fields(
    sms: AcsSmsGateway, emulator: RunningEmulator
) -> None:
    first_sent = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    receipt = await sms.send(
        message("+4798100001", "11111111-0000-4000-8000-000000000001", first_sent, 123), deadline=within(3)
    )
    (delivered,) = [m for m in (x.to_json() for x in emulator.state.sms_inbox) if m["to"] == "+4798100001"]
    assert delivered["messageId"] == receipt.message_id
    assert delivered["apiVersion"] == "2024-02-05"
    assert delivered["validityPeriodSeconds"] == 123
    assert delivered["repeatabilityRequestId"] == "11111111-0000-4000-8000-000000000001"
    assert parsedate_to_datetime(delivered["repeatabilityFirstSent"]) == first_sent


async def test_a_repeat_returns_the_first_receipt_and_delivers_nothing(
    sms: AcsSmsGateway, emulator: RunningEmulator
) -> None:
    first_sent = datetime.now(UTC)
    one = await sms.send(message("+4798100002", "11111111-0000-4000-8000-000000000002", first_sent), deadline=within(3))
    two = await sms.send(message("+4798100002", "11111111-0000-4000-8000-000000000002", first_sent), deadline=within(3))
    assert one == two
    assert len([m for m in (x.to_json() for x in emulator.state.sms_inbox) if m["to"] == "+4798100002"]) == 1


async def test_retry_after_longer_than_the_deadline_is_not_waited_for(sms: AcsSmsGateway) -> None:
    # +4790000003 answers 429 with Retry-After: 1 on the first try
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as raised:
        await sms.send(message("+4790000003", "11111111-0000-4000-8000-000000000003"), deadline=within(0.8))
    assert time.monotonic() - started < 0.7
    assert raised.value.retry_after == 1.0


async def test_one_try_per_call_a_429_comes_back_with_its_retry_after(
    sms: AcsSmsGateway, emulator: RunningEmulator
) -> None:
    # +4790000003 answers 429 with Retry-After: 1 on the first try only
    token = "11111111-0000-4000-8000-000000000004"
    before = len(emulator.state.requests)
    with pytest.raises(ProviderUnavailable) as raised:
        await sms.send(message("+4790000003", token), deadline=within(4))
    assert raised.value.retry_after == 1.0
    assert len(emulator.state.requests) == before + 1  # no retry underneath the ladder
    assert (await sms.send(message("+4790000003", token), deadline=within(4))).message_id


async def test_one_try_per_call_a_503_is_unavailable(sms: AcsSmsGateway, emulator: RunningEmulator) -> None:
    # +4790000002 answers 503 to its first two tries
    token = "11111111-0000-4000-8000-000000000005"
    for _ in range(2):
        before = len(emulator.state.requests)
        with pytest.raises(ProviderUnavailable):
            await sms.send(message("+4790000002", token), deadline=within(4))
        assert len(emulator.state.requests) == before + 1
    assert (await sms.send(message("+4790000002", token), deadline=within(4))).message_id


async def test_no_answer_ends_at_the_deadline(sms: AcsSmsGateway) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as raised:
        await sms.send(message("+4790000005", "11111111-0000-4000-8000-000000000006"), deadline=within(1.0))
    assert time.monotonic() - started < 1.6
    assert raised.value.may_have_reached is True


async def test_definitive_refusal_is_rejected(sms: AcsSmsGateway) -> None:
    with pytest.raises(ProviderRejected):
        await sms.send(message("+4790000001", "11111111-0000-4000-8000-000000000007"), deadline=within(3))


async def test_wrong_key_is_a_configuration_error_not_a_rejection(emulator: RunningEmulator) -> None:
    gateway = AcsSmsGateway.create(emulator.base_url, AzureKeyCredential("d3Jvbmcta2V5"))
    try:
        with pytest.raises(ProviderMisconfigured):
            await gateway.send(message("+4798100003", "11111111-0000-4000-8000-000000000008"), deadline=within(2))
    finally:
        await gateway.close()


def email_message(to: str, operation_id: str) -> EmailMessage:
    return EmailMessage(
        recipient=to,
        sender="noreply@instant.example.com",
        subject="Your code",
        body="Your code is 123456.",
        content_type=EmailContentType.PLAIN,
        operation_id=operation_id,
    )


async def test_email_with_operation_id_is_sent_once_and_polled(
    email: AcsEmailGateway, emulator: RunningEmulator
) -> None:
    operation_id = "22222222-0000-4000-8000-000000000001"
    receipt = await email.send(email_message("a1@example.com", operation_id), deadline=within(4), wait=2)
    again = await email.send(email_message("a1@example.com", operation_id), deadline=within(4), wait=2)
    assert receipt.operation_id == operation_id
    assert receipt.status is EmailOperationStatus.SUCCEEDED
    assert again.status is EmailOperationStatus.SUCCEEDED
    assert len([m for m in (x.to_json(0) for x in emulator.state.email_inbox) if "a1@example.com" in m["to"]]) == 1
    status = await email.status(operation_id, deadline=within(2))
    assert status is not None and status.status is EmailOperationStatus.SUCCEEDED


async def test_email_wait_is_bounded_and_running_is_an_answer(email: AcsEmailGateway) -> None:
    receipt = await email.send(
        email_message("a2@example.com", "22222222-0000-4000-8000-000000000002"), deadline=within(4), wait=0
    )
    assert receipt.status is EmailOperationStatus.RUNNING


async def test_unknown_operation_is_none(email: AcsEmailGateway) -> None:
    assert await email.status("22222222-0000-4000-8000-00000000dead", deadline=within(2)) is None


async def test_failed_operation_is_a_failed_receipt_with_its_code(email: AcsEmailGateway) -> None:
    receipt = await email.send(
        email_message("opfailed@faults.example.com", "22222222-0000-4000-8000-000000000003"),
        deadline=within(4),
        wait=2,
    )
    assert (receipt.status, receipt.error_code) == (EmailOperationStatus.FAILED, "EmailDropped")


async def test_with_recorded_timing_a_send_answers_after_its_one_post() -> None:
    # Recorded ACS: Retry-After 3 and Running for 3-10 s. The SDK's poller would hold the
    # caller for it and still answer Running; the adapter answers once ACS took the operation.
    running = await start_emulator(KEY)
    gateway = AcsEmailGateway.create(running.base_url, AzureKeyCredential(KEY))
    try:
        started = time.monotonic()
        receipt = await gateway.send(
            email_message("recorded@example.com", "22222222-0000-4000-8000-0000000000a1"), deadline=within(8), wait=0
        )
        assert time.monotonic() - started < 1.0
        assert receipt.status is EmailOperationStatus.RUNNING
        assert [r.kind for r in running.state.requests] == ["email"]
    finally:
        await gateway.close()
        await running.stop()
