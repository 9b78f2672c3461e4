"""The service's SMS paths with fakes: every SMS row of the contract's error table and the
state machine (claim, replay, mismatch, in-flight, lease takeover, deadline)."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from instant.domain.errors import (
    ProblemCode,
    ProblemError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    StorageUnavailable,
)
from instant.domain.orders import SmsOrder
from instant.domain.ports import SmsMessage, SmsReceipt
from instant.domain.records import (
    AuditEntry,
    Channel,
    OrderRecord,
    OrderState,
    RecipientStatus,
    order_id_for,
    provider_token_for,
    shipment_id_for,
)
from instant.entrypoints.answers import WireRenderer, wire_time
from tests.support.fakes import ACCEPT_THEN_CRASH, START, WorkerCrash
from tests.support.unit import CALLER, OTHER_CALLER, SETTINGS, World, build_world

BODY = "Your code is 123456. It expires in 5 minutes."


def sms(key: str = "login-1", **changes: object) -> SmsOrder:
    order = SmsOrder(
        idempotency_id=key,
        senders_reference="ref-1",
        phone_number="+4799999999",
        ttl_seconds=300,
        sender=None,
        body=BODY,
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def problem(answer_body: str) -> dict[str, object]:
    parsed = json.loads(answer_body)
    assert isinstance(parsed, dict)
    return parsed


async def test_new_key_is_sent_once_and_answered_201(world: World) -> None:
    # when
    answer = await world.send(sms(), CALLER)
    # then
    assert answer.status == 201
    body = json.loads(answer.body)
    shipment_id = shipment_id_for("caller-a", Channel.SMS, "login-1")
    assert body == {
        "notificationOrderId": order_id_for("caller-a", Channel.SMS, "login-1"),
        "notification": {"shipmentId": shipment_id, "sendersReference": "ref-1", "status": "SMS_Accepted"},
    }
    assert answer.headers["Location"] == f"/notifications/api/v1/future/shipment/{shipment_id}"
    assert [m.recipient for m in world.sms.sent] == ["+4799999999"]
    sent = world.sms.sent[0]
    assert sent.sender == "Instant"
    assert sent.validity_seconds == 300
    assert sent.token == provider_token_for("caller-a", Channel.SMS, "login-1", START)
    record = world.store.records[shipment_id]
    assert record.state is OrderState.COMPLETED
    assert record.deadline == world.clock.now() + timedelta(seconds=300)
    assert world.store.requests == 2  # the claim, then one transaction with state + audit


async def test_sender_reference_is_left_out_when_not_given(world: World) -> None:
    answer = await world.send(sms(senders_reference=None), CALLER)
    assert "sendersReference" not in json.loads(answer.body)["notification"]


async def test_replay_returns_the_same_bytes_and_sends_nothing(world: World) -> None:
    first = await world.send(sms(), CALLER)
    world.clock.advance(5)
    # when
    again = await world.send(sms(), CALLER)
    # then
    assert again.status == 200
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert len(world.sms.calls) == 1
    audits = world.store.audits[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert [(a.http_status, a.replay) for a in audits] == [(201, False), (200, True)]


async def test_reused_key_with_other_payload_is_refused_naming_fields(world: World) -> None:
    await world.send(sms(), CALLER)
    # when
    answer = await world.send(sms(body="Another code: 999999", ttl_seconds=120), CALLER)
    # then
    assert answer.status == 422
    assert answer.content_type == "application/problem+json"
    body = problem(answer.body)
    assert body["code"] == "idempotency_key_reused"
    assert body["fields"] == ["recipientSms.smsSettings.body", "recipientSms.timeToLiveInSeconds"]
    assert len(world.sms.calls) == 1


async def test_same_key_for_another_caller_is_a_separate_order(world: World) -> None:
    await world.send(sms(), CALLER)
    answer = await world.send(sms(body="other"), OTHER_CALLER)
    assert answer.status == 201
    assert len(world.sms.sent) == 2


async def test_key_in_flight_answers_409_with_retry_after(world: World) -> None:
    world.sms.delay = 0.05
    first = asyncio.create_task(world.send(sms(), CALLER))
    await asyncio.sleep(0.01)
    # when
    second = await world.send(sms(), CALLER)
    # then
    assert second.status == 409
    assert second.headers["Retry-After"] == "1"
    assert problem(second.body)["code"] == "request_in_progress"
    assert (await first).status == 201
    assert len(world.sms.calls) == 1


async def test_concurrent_requests_with_one_key_send_at_most_once(world: World) -> None:
    world.sms.delay = 0.02
    answers = await asyncio.gather(*(world.send(sms(), CALLER) for _ in range(20)))
    assert sorted({a.status for a in answers}) in ([201, 409], [201])
    assert [a.status for a in answers].count(201) == 1
    assert len(world.sms.sent) == 1


async def test_crashed_holder_is_taken_over_only_after_its_lease(world: World) -> None:
    # given: a worker that died after ACS accepted, before it recorded the outcome
    world.sms.script = [ACCEPT_THEN_CRASH]
    with pytest.raises(WorkerCrash):
        await world.send(sms(), CALLER)
    first_sent_at = world.sms.calls[0].first_sent_at
    # when the lease still runs
    world.clock.advance(12)
    early = await world.send(sms(), CALLER)
    assert early.status == 409
    # when it has run out
    world.clock.advance(2)
    late = await world.send(sms(), CALLER)
    # then the same provider token and first-sent time are used again, and ACS dedupes
    assert late.status == 201
    message = world.sms.calls[-1]
    assert message.token == provider_token_for("caller-a", Channel.SMS, "login-1", START)
    assert message.first_sent_at == first_sent_at
    assert message.validity_seconds == 300 - 14
    record = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert record.attempts == 2
    assert len(world.sms.sent) == 1
    # the crashed request is on record: the takeover wrote its entry with the state change
    audits = world.store.audits[record.shipment_id]
    assert [(a.outcome, a.http_status) for a in audits] == [
        ("request_in_progress", 409),
        ("abandoned", 0),
        ("created", 201),
    ]
    assert audits[1].body_length == len(BODY)


async def test_provider_refusal_is_stored_and_replayed(world: World) -> None:
    world.sms.script = [ProviderRejected("invalid recipient")]
    first = await world.send(sms(), CALLER)
    again = await world.send(sms(), CALLER)
    assert first.status == 422
    assert problem(first.body)["code"] == "recipient_rejected"
    assert again.status == 422
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    record = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert record.status is RecipientStatus.SMS_FAILED_INVALID_RECIPIENT
    assert len(world.sms.calls) == 1


async def test_transient_failures_are_retried_with_the_same_token(world: World) -> None:
    world.sms.script = [ProviderUnavailable("503"), ProviderUnavailable("429", retry_after=1.0)]
    answer = await world.send(sms(), CALLER)
    assert answer.status == 201
    assert len(world.sms.calls) == 3
    assert len({(m.token, m.first_sent_at) for m in world.sms.calls}) == 1
    assert world.clock.slept == [0.2, 1.0]
    assert len(world.sms.sent) == 1


async def test_provider_down_for_the_whole_budget_answers_503_then_a_retry_takes_over(world: World) -> None:
    world.sms.script = [ProviderUnavailable("503")] * 100
    first = await world.send(sms(), CALLER)
    assert first.status == 503
    assert problem(first.body)["code"] == "provider_unavailable"
    assert first.headers["Retry-After"] == "1"
    assert sum(world.clock.slept) < 8
    record = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert record.state is OrderState.RETRYABLE
    # when the provider is back, the very next request takes over (no lease to wait for)
    world.sms.script = []
    again = await world.send(sms(), CALLER)
    assert again.status == 201
    assert "Idempotent-Replayed" not in again.headers
    assert len(world.sms.sent) == 1


async def test_retry_after_beyond_the_budget_is_not_waited_for(world: World) -> None:
    world.sms.script = [ProviderUnavailable("429", retry_after=30.0)]
    answer = await world.send(sms(), CALLER)
    assert answer.status == 503
    assert answer.headers["Retry-After"] == "30"
    assert world.clock.slept == []


async def test_outcome_unknown_is_stored_and_never_sent_again(world: World) -> None:
    world.sms.script = [ProviderOutcomeUnknown("repeat refused")]
    first = await world.send(sms(), CALLER)
    again = await world.send(sms(), CALLER)
    assert first.status == 502
    assert problem(first.body)["code"] == "outcome_unknown"
    assert again.status == 502 and again.body == first.body
    assert len(world.sms.calls) == 1


async def test_storage_down_answers_503_and_sends_nothing(world: World) -> None:
    world.store.available = False
    answer = await world.send(sms(), CALLER)
    assert answer.status == 503
    assert problem(answer.body)["code"] == "storage_unavailable"
    assert world.sms.calls == []


def broken(call: str) -> StorageUnavailable:
    """What a store call raises when its connection breaks; the cause's text quotes the request."""
    try:
        raise ConnectionResetError("POST /instantorders?sig=SECRET")
    except ConnectionResetError as exc:
        try:
            raise StorageUnavailable(f"{call} failed") from exc
        except StorageUnavailable as error:
            return error


async def test_a_failed_claim_logs_what_failed_and_the_type_of_its_cause_never_its_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a claim that fails on a broken connection
    async def broken_claim(record: OrderRecord) -> OrderRecord:
        raise broken("insert")

    world.store.claim = broken_claim  # type: ignore[method-assign]  # this test's misbehaving store
    # when
    answer = await world.send(sms(), CALLER)
    # then: the operators can tell a broken connection from a throttled or missing table
    assert (answer.status, problem(answer.body)["code"]) == (503, "storage_unavailable")
    (line,) = [r for r in caplog.records if r.getMessage() == "claim failed: storage unavailable"]
    assert line.__dict__["reason"] == "insert failed (ConnectionResetError)"
    assert "SECRET" not in caplog.text


async def test_a_failed_final_write_and_audit_entry_log_what_failed_never_its_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # given: a sent order whose final write fails; another order's replay whose audit entry fails
    async def broken_update(record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        raise broken("transaction")

    async def broken_append(audit: AuditEntry, *, beside: OrderRecord | None = None) -> None:
        raise broken("insert")

    real_update = world.store.update
    world.store.update = broken_update  # type: ignore[method-assign]  # this test's misbehaving store
    first = await world.send(sms("unrecorded"), CALLER)
    world.store.update = real_update  # type: ignore[method-assign]  # this test's misbehaving store
    assert (await world.send(sms("replayed"), CALLER)).status == 201
    world.store.append_audit = broken_append  # type: ignore[method-assign]  # this test's misbehaving store
    replay = await world.send(sms("replayed"), CALLER)
    # then: the provider's answer stands, the replay is answered, and each log line says why
    assert (first.status, replay.status) == (201, 200)
    final = [r for r in caplog.records if r.getMessage() == "final state of an order could not be written"]
    audit = [r for r in caplog.records if r.getMessage() == "audit entry could not be written"]
    assert [r.__dict__["reason"] for r in final] == ["transaction failed (ConnectionResetError)"]
    assert [r.__dict__["reason"] for r in audit] == ["insert failed (ConnectionResetError)"]
    assert "SECRET" not in caplog.text


async def test_storage_slower_than_the_budget_is_not_blamed_on_the_provider(world: World) -> None:
    # given: a claim that takes longer than the whole request budget (tests/reliability found it)
    real_claim = world.store.claim

    async def slow_claim(record: OrderRecord) -> OrderRecord:
        world.clock.advance(SETTINGS.request_budget_seconds + 1)
        return await real_claim(record)

    world.store.claim = slow_claim  # type: ignore[method-assign]  # this test's misbehaving store
    # when
    answer = await world.send(sms(), CALLER)
    # then the provider was never asked, and the answer says why
    assert world.sms.calls == []
    assert (answer.status, problem(answer.body)["code"]) == (503, "storage_unavailable")
    assert answer.headers["Retry-After"] == "1"
    # and the key is retryable at once
    world.store.claim = real_claim  # type: ignore[method-assign]  # this test's misbehaving store
    again = await world.send(sms(), CALLER)
    assert again.status == 201
    assert len(world.sms.sent) == 1


async def test_a_hanging_final_write_does_not_hold_the_caller_past_the_lease(world: World) -> None:
    # given: the provider accepts at the very end of the lease, then storage hangs
    def accept_late(message: SmsMessage) -> SmsReceipt:
        world.clock.advance(SETTINGS.lease_seconds)
        return SmsReceipt("msg-late")

    async def hang(record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    world.sms.script = [accept_late]
    world.store.update = hang  # type: ignore[method-assign]  # this test's misbehaving store
    # when
    started = asyncio.get_running_loop().time()
    answer = await world.send(sms(), CALLER)
    # then one short try (not three SDK read timeouts), and the provider's truth
    assert asyncio.get_running_loop().time() - started < 2.0
    assert answer.status == 201
    assert len(world.sms.sent) == 1


async def test_ttl_runs_out_while_provider_is_down_then_410_is_stored(world: World) -> None:
    # given: a 60 s time-to-live and a provider that stays down
    world.sms.script = [ProviderUnavailable("503")] * 1000
    first = await world.send(sms(ttl_seconds=60), CALLER)
    assert first.status == 503
    # when the caller retries after the deadline
    world.clock.advance(61)
    calls_before = len(world.sms.calls)
    late = await world.send(sms(ttl_seconds=60), CALLER)
    # then nothing is handed over and the answer is stored
    assert late.status == 410
    assert problem(late.body)["code"] == "ttl_expired"
    assert len(world.sms.calls) == calls_before
    replayed = await world.send(sms(ttl_seconds=60), CALLER)
    assert replayed.status == 410 and replayed.body == late.body
    record = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert record.status is RecipientStatus.SMS_FAILED_TTL


async def test_no_hand_off_starts_in_the_last_moments_before_the_deadline(world: World) -> None:
    # given: a provider that stays down, and a retry whose backoff ends half a millisecond
    # before the deadline (an attempt started then reaches the provider after the deadline)
    started_at: list[datetime] = []

    def unavailable(message: SmsMessage) -> SmsReceipt:
        started_at.append(world.clock.now())
        raise ProviderUnavailable("503")

    world.sms.script = [unavailable] * 1000
    first = await world.send(sms(ttl_seconds=60), CALLER)
    deadline = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")].deadline
    assert first.status == 503 and deadline is not None
    world.clock.current = deadline - timedelta(seconds=0.2005)  # then backoff 0.2 s -> 0.5 ms left
    # when
    late = await world.send(sms(ttl_seconds=60), CALLER)
    # then no attempt started closer to the deadline than the hand-off margin, and the answer is final
    assert max(started_at) <= deadline - timedelta(seconds=0.05)
    assert (late.status, problem(late.body)["code"]) == (410, "ttl_expired")


async def test_retry_never_gets_a_fresh_window(world: World) -> None:
    world.sms.script = [ProviderUnavailable("503")] * 1000
    first_receipt = world.clock.now()
    await world.send(sms(ttl_seconds=600), CALLER)
    world.clock.advance(300)
    world.sms.script = []
    answer = await world.send(sms(ttl_seconds=600), CALLER)
    assert answer.status == 201
    # the deadline is 600 s from the first receipt, not from this retry
    elapsed = (world.clock.now() - first_receipt).total_seconds()
    assert elapsed > 300
    assert world.sms.calls[-1].validity_seconds == math.ceil(600 - elapsed)


async def test_deadline_after_an_attempt_that_may_have_reached_is_outcome_unknown(world: World) -> None:
    world.sms.script = [ProviderUnavailable("no answer", may_have_reached=True)] * 1000
    await world.send(sms(ttl_seconds=60), CALLER)
    world.clock.advance(61)
    answer = await world.send(sms(ttl_seconds=60), CALLER)
    assert answer.status == 502
    assert problem(answer.body)["code"] == "outcome_unknown"


async def test_internal_retries_stop_at_the_deadline(world: World) -> None:
    # given: a key taken over 2 s before its deadline, provider failing with backoff
    world.sms.script = [ProviderUnavailable("503")] * 1000
    await world.send(sms(ttl_seconds=60), CALLER)
    world.clock.advance(58 - 8)
    before = world.clock.now()
    await world.send(sms(ttl_seconds=60), CALLER)
    deadline = world.store.records[shipment_id_for("caller-a", Channel.SMS, "login-1")].deadline
    assert deadline is not None
    assert world.clock.now() < deadline
    assert (world.clock.now() - before).total_seconds() < 2


async def test_validity_period_is_clamped_to_acs_range(world: World) -> None:
    await world.send(sms(key="long", ttl_seconds=172_800), CALLER)
    assert world.sms.sent[-1].validity_seconds == 43_200


async def test_audit_entry_holds_digest_and_length_never_the_body(world: World) -> None:
    await world.send(sms(), CALLER)
    (entry,) = world.store.audits[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    assert entry.body_length == len(BODY)
    assert len(entry.body_sha256) == 64
    assert BODY not in repr(entry)
    assert "123456" not in repr(entry)
    assert entry.caller == "caller-a"
    assert entry.outcome == "created"
    assert entry.provider_id == "msg-1"
    assert entry.ttl_seconds == 300


async def test_shipment_is_visible_to_its_caller_only(world: World) -> None:
    created = json.loads((await world.send(sms(), CALLER)).body)
    shipment_id = created["notification"]["shipmentId"]
    own = await world.get_shipment("caller-a", shipment_id, "t")
    body = json.loads(own.body)
    assert body["status"] == "Order_Processing"  # SMS_Accepted: a delivery report is still to come
    assert body["type"] == "Instant"
    assert body["recipients"] == [
        {
            "type": "SMS",
            "destination": "+4799999999",
            "status": "SMS_Accepted",
            "lastUpdate": wire_time(world.clock.now()),
        }
    ]
    assert body["lastUpdate"] == "2026-11-26T10:00:00.000Z"  # the fake clock's time: the final write's
    for caller, sid in (("caller-b", shipment_id), ("caller-a", "not-a-uuid"), ("caller-a", "0" * 32)):
        with pytest.raises(ProblemError) as raised:
            await world.service.get_shipment(caller, sid, "t")
        assert raised.value.code is ProblemCode.NOT_FOUND


async def test_warm_replay_costs_one_storage_request(world: World) -> None:
    first = await world.send(sms(), CALLER)
    before = world.store.requests
    again = await world.send(sms(), CALLER)
    assert (again.status, again.body) == (200, first.body)
    assert world.store.requests - before == 1  # the audit entry only


async def test_cold_replay_reads_the_record(world: World) -> None:
    # given: another worker (its own cache) completed the order
    other = build_world()
    other.store, other.clock = world.store, world.clock
    other.service = type(world.service)(
        store=world.store,
        sms=world.sms,
        email=world.email,
        clock=world.clock,
        settings=SETTINGS,
        renderer=WireRenderer(),
    )
    first = await other.send(sms(), CALLER)
    # when this worker sees the replay
    again = await world.send(sms(), CALLER)
    mismatch = await world.send(sms(body="changed"), CALLER)
    # then
    assert (again.status, again.body) == (200, first.body)
    assert mismatch.status == 422
    assert len(world.sms.sent) == 1


async def test_holder_that_lost_its_lease_answers_with_the_winners_outcome(world: World) -> None:
    # given: a slow holder whose lease runs out while the provider call is still going
    world.sms.delay = 0.05
    slow = asyncio.create_task(world.send(sms(), CALLER))
    await asyncio.sleep(0.01)
    world.clock.advance(SETTINGS.lease_seconds + 1)
    # when another request takes over and finishes first
    world.sms.delay = 0.0
    winner = await world.send(sms(), CALLER)
    loser = await slow
    # then the slow holder does not overwrite; it answers with the stored outcome
    assert winner.status == 201
    assert (loser.status, loser.body) == (200, winner.body)
    assert len(world.sms.sent) == 1
    audits = world.store.audits[shipment_id_for("caller-a", Channel.SMS, "login-1")]
    # the lease ran out, so the taker recorded the slow request as abandoned; it still left its own
    assert [(a.outcome, a.replay) for a in audits] == [("abandoned", False), ("created", False), ("created", True)]


async def test_with_a_digest_key_nothing_stored_is_a_plain_sha256() -> None:
    import hashlib
    import hmac
    from dataclasses import replace as with_

    key = b"k" * 32
    world = build_world(with_(SETTINGS, digest_key=key))
    first = await world.send(sms(), CALLER)
    again = await world.send(sms(), CALLER)
    changed = await world.send(sms(body="Another code"), CALLER)
    assert (first.status, again.status, changed.status) == (201, 200, 422)
    assert json.loads(changed.body)["fields"] == ["recipientSms.smsSettings.body"]
    shipment_id = shipment_id_for("caller-a", Channel.SMS, "login-1")
    entry = world.store.audits[shipment_id][0]
    assert entry.digest_kind == "hmac-sha256"
    assert entry.body_sha256 == hmac.new(key, BODY.encode(), hashlib.sha256).hexdigest()
    plain = hashlib.sha256(BODY.encode()).hexdigest()
    stored = repr(world.store.records[shipment_id]) + repr(world.store.audits[shipment_id])
    assert plain not in stored
    assert hashlib.sha256(json.dumps(BODY).encode()).hexdigest() not in stored  # the fingerprint's field digest


async def test_without_an_sms_sender_sms_is_not_configured_and_nothing_is_stored() -> None:
    # given: no SMS number bought yet (SMS_DEFAULT_SENDER unset)
    world = build_world(replace(SETTINGS, sms_default_sender=None))
    # when
    answer = await world.send(sms(), CALLER)
    # then: 503 channel_not_configured naming the setting, nothing stored or sent
    body = problem(answer.body)
    assert (answer.status, body["code"]) == (503, "channel_not_configured")
    assert "SMS_DEFAULT_SENDER" in str(body["detail"])
    assert answer.headers["Retry-After"] == "3600"
    assert world.store.records == {} and world.store.requests == 0
    assert world.sms.calls == []
