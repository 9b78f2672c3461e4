"""The service: claim the key, respect the deadline, hand over to the provider, record the end.

One request with a new key costs two Table Storage requests (the claim, then one transaction
with the final state and its audit entry) and, with a healthy provider, one provider request.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from instant import answers
from instant.answers import Answer
from instant.delivery import Delivery, Outcome, OutcomeKind
from instant.digests import Digester
from instant.errors import (
    KeyAlreadyClaimed,
    ProblemCode,
    ProblemError,
    ProviderUnavailable,
    RecordChanged,
    StorageUnavailable,
)
from instant.idempotency import (
    AuditEntry,
    Channel,
    DecisionKind,
    OrderRecord,
    OrderState,
    RecipientStatus,
    StoredAnswer,
    decide,
    order_id_for,
    shipment_id_for,
)
from instant.orders import EmailOrder, Order, SmsOrder, body_digest
from instant.ports import (
    Clock,
    Closeable,
    EmailGateway,
    EmailOperationStatus,
    OrderStore,
    SmsGateway,
)
from instant.replay_cache import ReplayCache

log = logging.getLogger("instant.service")

# The final write is retried briefly: losing it after the provider took the message would
# leave the order looking unfinished.
_FINAL_WRITE_TRIES = 3
# The audit outcome of a request whose worker died holding the key (written by the takeover).
ABANDONED = "abandoned"
# A holder that is already past its lease (it ran late) still gets one try of this length.
_MIN_FINAL_WRITE_SECONDS = 1.0


@dataclass(frozen=True)
class ServiceSettings:
    request_budget_seconds: float
    email_wait_seconds: float
    sms_default_sender: str
    email_default_sender: str
    allowed_email_senders: frozenset[str]
    retention_hours: int = 168
    replay_cache_size: int = 10_000
    audit_retention_days: int = 365
    # Rows of each kind one purge run deletes at most; the rest wait for the next run.
    purge_limit: int = 5_000
    # INSTANT_DIGEST_KEY, decoded: bodies and fingerprints are HMAC-SHA256 under it (digests.py).
    digest_key: bytes | None = None

    @property
    def lease_seconds(self) -> float:
        # A holder finishes its provider calls inside the budget; the margin covers the final
        # write. Only after that can a crashed holder's key be taken over.
        return self.request_budget_seconds + 5.0


@dataclass(frozen=True)
class RequestInfo:
    caller: str
    trace_id: str


class InstantService:
    def __init__(
        self,
        *,
        store: OrderStore,
        sms: SmsGateway,
        email: EmailGateway,
        clock: Clock,
        settings: ServiceSettings,
        resources: Sequence[Closeable] = (),
    ) -> None:
        self._store = store
        self._sms = sms
        self._email = email
        self._clock = clock
        self._settings = settings
        # Closed after the ports: the credential the adapters share outlives them.
        self._resources = tuple(resources)
        self._digester = Digester(settings.digest_key)
        self._delivery = Delivery(sms=sms, email=email, clock=clock, email_wait_seconds=settings.email_wait_seconds)
        self._replays = ReplayCache(
            capacity=settings.replay_cache_size, retention=timedelta(hours=settings.retention_hours)
        )

    async def close(self) -> None:
        """Close every port and owned resource, even when one of them fails to close."""
        failures: list[Exception] = []
        closeables: list[Closeable] = [self._store, self._sms, self._email, *self._resources]
        for closeable in closeables:
            try:
                await closeable.close()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    # -- POST ----------------------------------------------------------------------------

    async def send(self, order: Order, request: RequestInfo) -> Answer:
        started = time.perf_counter()
        now = self._clock.now()
        self._check_sender(order)
        draft = self._new_record(order, request.caller, now, lease_owner=uuid.uuid4().hex)
        cached = self._replays.get(draft.shipment_id, now)
        if cached is not None:
            # A completed order decides without a claim; its answer can no longer change.
            held = await self._resolve_existing(cached, draft, order, request, started)
            assert isinstance(held, Answer)  # completed: a replay or a mismatch, never a takeover
            return held
        try:
            record = await self._store.claim(draft)
        except KeyAlreadyClaimed as claimed:
            self._replays.remember(claimed.existing)
            held = await self._resolve_existing(claimed.existing, draft, order, request, started)
            if isinstance(held, Answer):
                return held
            record = held
        except StorageUnavailable:
            log.warning("claim failed: storage unavailable", extra={"shipment_id": draft.shipment_id})
            return answers.problem_answer(_storage_unavailable())

        budget_end = now + timedelta(seconds=self._settings.request_budget_seconds)
        if isinstance(order, SmsOrder):
            outcome = await self._delivery.sms(record, order, budget_end)
        else:
            outcome = await self._delivery.email(record, order, budget_end)
        return await self._finish(record, order, outcome, request, started)

    def _check_sender(self, order: Order) -> None:
        allowed = self._settings.allowed_email_senders
        if isinstance(order, EmailOrder) and order.sender is not None and allowed and order.sender not in allowed:
            raise ProblemError(
                ProblemCode.VALIDATION_FAILED,
                "The request breaks the rules of one or more fields.",
                errors={"recipientEmail.emailSettings.senderEmailAddress": ["is not an allowed sender"]},
            )

    def _new_record(self, order: Order, caller: str, now: datetime, lease_owner: str) -> OrderRecord:
        is_sms = isinstance(order, SmsOrder)
        ttl = order.ttl_seconds if isinstance(order, SmsOrder) else None
        return OrderRecord(
            shipment_id=shipment_id_for(caller, order.channel, order.idempotency_id),
            order_id=order_id_for(caller, order.channel, order.idempotency_id),
            caller=caller,
            channel=order.channel,
            idempotency_id=order.idempotency_id,
            fingerprint=order.fingerprint(self._digester),
            state=OrderState.IN_PROGRESS,
            status=RecipientStatus.SMS_SENDING if is_sms else RecipientStatus.EMAIL_SENDING,
            received_at=now,
            first_sent_at=now,
            deadline=now + timedelta(seconds=ttl) if ttl is not None else None,
            ttl_seconds=ttl,
            recipient=order.recipient,
            sender=self._sender_for(order),
            senders_reference=order.senders_reference,
            updated_at=now,
            lease_until=now + timedelta(seconds=self._settings.lease_seconds),
            lease_owner=lease_owner,
            attempts=1,
        )

    def _sender_for(self, order: Order) -> str:
        if isinstance(order, SmsOrder):
            return order.sender or self._settings.sms_default_sender
        return order.sender or self._settings.email_default_sender

    async def _resolve_existing(
        self,
        existing: OrderRecord,
        draft: OrderRecord,
        order: Order,
        request: RequestInfo,
        started: float,
    ) -> OrderRecord | Answer:
        """Replay, refuse, or take over a record another request created. Returns the record
        now held by this request, or the answer to give. ``draft`` is this request's own record,
        as it would have claimed it: its fingerprint, lease owner and time."""
        fingerprint, lease_owner, now = draft.fingerprint, draft.lease_owner, draft.received_at
        for _ in range(3):
            decision = decide(existing, fingerprint, now)
            if decision.kind is DecisionKind.REPLAY:
                assert existing.answer is not None
                answer = answers.replay_answer(existing, existing.answer)
                await self._audit_only(existing, order, request, answer, replay=True, started=started)
                return answer
            if decision.kind is DecisionKind.MISMATCH:
                problem = ProblemError(
                    ProblemCode.IDEMPOTENCY_KEY_REUSED,
                    "This idempotencyId was used before with a different payload; use a new idempotencyId.",
                    fields=decision.differing_fields,
                )
                answer = answers.problem_answer(problem)
                await self._audit_only(existing, order, request, answer, replay=False, started=started)
                return answer
            if decision.kind is DecisionKind.IN_FLIGHT:
                answer = answers.problem_answer(_in_progress())
                await self._audit_only(existing, order, request, answer, replay=False, started=started)
                return answer
            # Take over: a crashed holder's lease ran out, or the last attempt ended transiently.
            taken = replace(
                existing,
                state=OrderState.IN_PROGRESS,
                lease_until=now + timedelta(seconds=self._settings.lease_seconds),
                lease_owner=lease_owner,
                attempts=existing.attempts + 1,
                # A holder that vanished mid-flight may have reached the provider.
                may_have_reached_provider=existing.may_have_reached_provider
                or existing.state is OrderState.IN_PROGRESS,
                updated_at=now,
            )
            # A crashed holder's request never got an answer, so it never wrote its audit entry;
            # the takeover (a state change) writes one for it: outcome "abandoned", status 0.
            abandoned = (
                self._abandoned_entry(existing, order, request) if existing.state is OrderState.IN_PROGRESS else None
            )
            try:
                return await self._store.update(taken, abandoned)
            except RecordChanged:
                refreshed = await self._store.get(existing.shipment_id)
                if refreshed is None:  # purged in between: treat as busy, the caller retries
                    break
                existing = refreshed
                now = self._clock.now()
            except StorageUnavailable:
                return answers.problem_answer(_storage_unavailable())
        return answers.problem_answer(_in_progress())

    # -- the end of a request --------------------------------------------------------------

    async def _finish(
        self, record: OrderRecord, order: Order, outcome: Outcome, request: RequestInfo, started: float
    ) -> Answer:
        now = self._clock.now()
        if outcome.kind is OutcomeKind.UNAVAILABLE:
            assert outcome.problem is not None
            answer = answers.problem_answer(outcome.problem)
            final = replace(
                record,
                state=OrderState.RETRYABLE,
                status=outcome.status,
                lease_until=None,
                lease_owner=None,
                may_have_reached_provider=outcome.may_have_reached,
                updated_at=now,
            )
        else:
            provisional = replace(record, status=outcome.status, provider_id=outcome.provider_id, updated_at=now)
            stored: StoredAnswer = (
                answers.created_answer(provisional)
                if outcome.kind is OutcomeKind.ACCEPTED
                else answers.stored_problem(_required(outcome.problem))
            )
            final = replace(
                provisional,
                state=OrderState.COMPLETED,
                lease_until=None,
                lease_owner=None,
                may_have_reached_provider=True,
                answer=stored,
            )
            answer = answers.first_answer(final, stored)
        audit = self._audit_entry(final, order, request, answer, replay=False, started=started)
        for attempt in range(_FINAL_WRITE_TRIES):
            try:
                # The lease's margin after the budget is this write's time: a storage that hangs
                # must not hold the caller past the lease (each try would otherwise wait for the
                # SDK's read timeout, three times over).
                async with asyncio.timeout(max(_MIN_FINAL_WRITE_SECONDS, self._lease_left(record))):
                    written = await self._store.update(final, audit)
                self._replays.remember(written)
                return answer
            except RecordChanged:
                # Our lease ran out and another request took the key over: its answer wins.
                current = await self._read_quietly(record.shipment_id)
                if current is not None and current.state is OrderState.COMPLETED and current.answer:
                    answer = answers.replay_answer(current, current.answer)
                else:
                    answer = answers.problem_answer(_in_progress())
                await self._audit_only(record, order, request, answer, replay=True, started=started)
                return answer
            except (StorageUnavailable, TimeoutError):
                if attempt + 1 == _FINAL_WRITE_TRIES or self._lease_left(record) <= 0:
                    break
                await self._clock.sleep(0.1 * (attempt + 1))
        # The provider's answer stands even if it could not be recorded: a retry takes the key
        # over after the lease and, through the provider token, gets the same outcome again.
        # Its audit entry went down with it (one transaction): the log line stands in for it.
        log.error(
            "final state of an order could not be written",
            extra={
                "shipment_id": record.shipment_id,
                "outcome": outcome.kind.value,
                "caller": request.caller,
                "http_status": answer.status,
                "code": answer.code,
                "provider_id": outcome.provider_id,
            },
        )
        return answer

    def _lease_left(self, record: OrderRecord) -> float:
        """Seconds until this request's lease on ``record`` runs out."""
        if record.lease_until is None:
            return self._settings.lease_seconds
        return (record.lease_until - self._clock.now()).total_seconds()

    async def _read_quietly(self, shipment_id: str) -> OrderRecord | None:
        try:
            return await self._store.get(shipment_id)
        except StorageUnavailable:
            return None

    async def _audit_only(
        self,
        record: OrderRecord,
        order: Order,
        request: RequestInfo,
        answer: Answer,
        *,
        replay: bool,
        started: float,
    ) -> None:
        try:
            await self._store.append_audit(
                self._audit_entry(record, order, request, answer, replay=replay, started=started)
            )
        except StorageUnavailable:
            log.error("audit entry could not be written", extra={"shipment_id": record.shipment_id})

    def _abandoned_entry(self, existing: OrderRecord, order: Order, request: RequestInfo) -> AuditEntry:
        # Same fingerprint as the dead request, so the same recipient, sender and body digest.
        return self._entry(existing, order, outcome=ABANDONED, http_status=0, trace_id=request.trace_id)

    def _audit_entry(
        self,
        record: OrderRecord,
        order: Order,
        request: RequestInfo,
        answer: Answer,
        *,
        replay: bool,
        started: float,
    ) -> AuditEntry:
        return self._entry(
            record,
            order,
            outcome=answer.code,
            http_status=answer.status,
            trace_id=request.trace_id,
            replay=replay,
            latency_ms=round((time.perf_counter() - started) * 1000),
        )

    def _entry(
        self,
        record: OrderRecord,
        order: Order | None,
        *,
        outcome: str,
        http_status: int,
        trace_id: str,
        replay: bool = False,
        latency_ms: int = 0,
    ) -> AuditEntry:
        """An audit entry about ``record``. With ``order``, what that request asked for (its
        recipient, sender, time-to-live, body digest: a 422 names what was refused); without,
        the record's own values and no body."""
        digest, length = body_digest(order.body, self._digester) if order is not None else ("", 0)
        return AuditEntry(
            shipment_id=record.shipment_id,
            at=self._clock.now(),
            caller=record.caller,
            channel=record.channel,
            idempotency_id=record.idempotency_id,
            recipient=order.recipient if order is not None else record.recipient,
            sender=self._sender_for(order) if order is not None else record.sender,
            outcome=outcome,
            http_status=http_status,
            replay=replay,
            provider_id=record.provider_id,
            ttl_seconds=(order.ttl_seconds if isinstance(order, SmsOrder) else None)
            if order is not None
            else record.ttl_seconds,
            latency_ms=latency_ms,
            trace_id=trace_id,
            body_sha256=digest,
            body_length=length,
            status=record.status.value,
            digest_kind=self._digester.kind,
        )

    # -- GET shipment ------------------------------------------------------------------------

    async def get_shipment(self, caller: str, shipment_id: str, trace_id: str) -> Answer:
        try:
            canonical = str(uuid.UUID(shipment_id))
        except ValueError:
            raise _not_found() from None
        try:
            record = await self._store.get(canonical)
        except StorageUnavailable:
            return answers.problem_answer(_storage_unavailable())
        # Another caller's order is indistinguishable from a missing one.
        if record is None or record.caller != caller:
            raise _not_found()
        if record.channel is Channel.EMAIL and record.status is RecipientStatus.EMAIL_SENDING and record.provider_id:
            record = await self._refresh_email_status(record, trace_id)
        return answers.shipment_answer(record)

    async def _refresh_email_status(self, record: OrderRecord, trace_id: str) -> OrderRecord:
        assert record.provider_id is not None
        try:
            receipt = await self._email.status(record.provider_id, timeout=self._settings.email_wait_seconds or 1.0)
        except ProviderUnavailable:
            return record  # show what we know; the next read asks again
        if receipt is None or receipt.status is EmailOperationStatus.RUNNING:
            return record
        status = (
            RecipientStatus.EMAIL_SUCCEEDED
            if receipt.status is EmailOperationStatus.SUCCEEDED
            else RecipientStatus.EMAIL_FAILED
        )
        now = self._clock.now()
        refreshed = replace(record, status=status, updated_at=now)
        audit = self._entry(refreshed, None, outcome="status_refreshed", http_status=200, trace_id=trace_id)
        try:
            return await self._store.update(refreshed, audit)
        except (RecordChanged, StorageUnavailable):
            return refreshed  # another reader stored it first, or storage is down: answer what ACS said

    # -- retention (instant/retention.py runs this on a timer) ----------------------------------

    async def purge_expired(self, now: datetime | None = None) -> PurgeReport:
        """Delete order records older than the idempotency retention (their keys may be used
        again) and audit entries older than the audit retention, at most ``purge_limit`` of each.

        The order cutoff is the replay cache's expiry (received_at + retention): a worker never
        replays from memory an order the store no longer holds. Records at or after the cutoff
        are never touched.
        """
        now = now or self._clock.now()
        order_cutoff = now - timedelta(hours=self._settings.retention_hours)
        audit_cutoff = now - timedelta(days=self._settings.audit_retention_days)
        limit = self._settings.purge_limit
        orders = await self._store.purge_orders(order_cutoff, limit=limit)
        audit_entries = await self._store.purge_audit(audit_cutoff, limit=limit)
        report = PurgeReport(orders, audit_entries, order_cutoff, audit_cutoff, limit)
        log.info(
            "retention purge",
            extra={
                "orders_deleted": orders,
                "audit_entries_deleted": audit_entries,
                "order_cutoff": order_cutoff.isoformat(),
                "audit_cutoff": audit_cutoff.isoformat(),
                "more_left": report.more_left,
            },
        )
        return report


@dataclass(frozen=True)
class PurgeReport:
    orders: int
    audit_entries: int
    order_cutoff: datetime
    audit_cutoff: datetime
    limit: int

    @property
    def more_left(self) -> bool:
        """A kind hit the limit: more expired rows may wait for the next run."""
        return self.orders >= self.limit or self.audit_entries >= self.limit


def _required(problem: ProblemError | None) -> ProblemError:
    assert problem is not None
    return problem


def _in_progress() -> ProblemError:
    return ProblemError(
        ProblemCode.REQUEST_IN_PROGRESS,
        "A request with this idempotencyId is being processed; retry shortly.",
        retry_after=1,
    )


def _storage_unavailable() -> ProblemError:
    return ProblemError(
        ProblemCode.STORAGE_UNAVAILABLE, "Storage is unavailable; nothing was sent. Retry later.", retry_after=1
    )


def _not_found() -> ProblemError:
    return ProblemError(ProblemCode.NOT_FOUND, "No shipment with this id.")
