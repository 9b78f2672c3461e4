"""The service: one request's story, from a validated order to its answer.

    send          check the sender, country and segments (instant/limits/policy.py)
                  -> claim the key or resolve it (the idempotency guard)
                  -> count the send in the recipient's and caller's tallies or refuse it with 429
                     (instant/limits/gate.py; a refusal parks the order, so a retry keeps its deadline)
                  -> hand the message to the provider inside the request's deadline (delivery)
                  -> record the outcome with its audit entry and answer (the guard again)
    get_shipment  read the order for its caller (shipments.py)
    delivery_report  write a provider's delivery report onto its order (delivery_reports.py)
    purge_expired delete what retention allows (retention.py)

One request with a new key costs two Table Storage requests away from a storage period's start
(the claim, then one transaction with the final state and its audit entry) and three near it
(the claim also links the key from the new period's table, instant/storage/claims.py), and, with
a healthy provider, one provider request. Each counting control adds one conditional write (a
read as well after a lost write or to confirm a refusal).
Refusals that are not stored are raised as ProblemError; the edge renders them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from instant.domain.answer import Answer
from instant.domain.clock import Clock
from instant.domain.deadline import Deadline
from instant.domain.delivery_status import Report
from instant.domain.digests import Digester
from instant.domain.errors import ProblemCode, ProblemError
from instant.domain.orders import Order, SmsOrder
from instant.domain.ports import AnswerRenderer, Closeable, EmailGateway, OrderStore, SmsGateway
from instant.domain.tallies import TallyStore
from instant.idempotency import transitions
from instant.idempotency.audit import Attempt, AuditWriter
from instant.idempotency.guard import IdempotencyGuard
from instant.idempotency.replay_cache import ReplayCache
from instant.limits.gate import SendGate
from instant.limits.policy import LimitSettings, check_sms, may_use_sender
from instant.service.delivery import Delivery
from instant.service.delivery_reports import DeliveryReports
from instant.service.retention import PurgeReport, Retention
from instant.service.shipments import ShipmentReader


@dataclass(frozen=True)
class ServiceSettings:
    """The service's share of the settings (instant/config.py reads them)."""

    request_budget_seconds: float
    email_wait_seconds: float
    sms_default_sender: str | None  # None: the SMS channel is not configured yet
    email_default_sender: str
    retention_hours: int = 168
    replay_cache_size: int = 10_000
    audit_retention_days: int = 365
    # Rows of each kind one purge run deletes at most; the rest wait for the next run.
    purge_limit: int = 5_000
    # INSTANT_DIGEST_KEY, decoded: bodies and fingerprints are HMAC-SHA256 under it (digests.py).
    digest_key: bytes | None = None
    # An SMS with no delivery report this long after its deadline reads SMS_Failed_TTL.
    delivery_report_grace_seconds: float = 300.0
    # The abuse and cost controls; all off unless given (instant/config.py turns them on).
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def lease_seconds(self) -> float:
        """How long a holder keeps its key: its provider calls end inside the budget; the
        margin covers the final write. Only after that can a crashed holder's key be taken over."""
        return self.request_budget_seconds + 5.0


@dataclass(frozen=True)
class RequestInfo:
    """Who is asking, and the trace the audit entry joins."""

    caller: str
    trace_id: str


class InstantService:
    """Sends one message per key, reads shipments, purges what retention allows."""

    def __init__(
        self,
        *,
        store: OrderStore,
        sms: SmsGateway,
        email: EmailGateway,
        clock: Clock,
        settings: ServiceSettings,
        renderer: AnswerRenderer,
        tallies: TallyStore | None = None,
        resources: Sequence[Closeable] = (),
    ) -> None:
        self._clock = clock
        self._settings = settings
        # Closed after the ports: the credential the adapters share outlives them.
        owned: tuple[Closeable, ...] = (tallies,) if tallies is not None else ()
        self._closeables: tuple[Closeable, ...] = (store, sms, email, *owned, *resources)
        self._digester = Digester(settings.digest_key)
        self._gate = (
            SendGate(store=tallies, digester=self._digester, settings=settings.limits) if tallies is not None else None
        )
        audits = AuditWriter(clock=clock, digest_kind=self._digester.kind)
        self._guard = IdempotencyGuard(
            store=store,
            clock=clock,
            renderer=renderer,
            audits=audits,
            replays=ReplayCache(
                capacity=settings.replay_cache_size, retention=timedelta(hours=settings.retention_hours)
            ),
            lease_seconds=settings.lease_seconds,
        )
        self._delivery = Delivery(sms=sms, email=email, clock=clock, email_wait_seconds=settings.email_wait_seconds)
        self._shipments = ShipmentReader(
            store=store,
            email=email,
            clock=clock,
            renderer=renderer,
            audits=audits,
            refresh_seconds=settings.email_wait_seconds or 1.0,
            report_grace=timedelta(seconds=settings.delivery_report_grace_seconds),
        )
        self._reports = DeliveryReports(store=store, clock=clock, audits=audits)
        self._retention = Retention(
            store=store,
            clock=clock,
            retention_hours=settings.retention_hours,
            audit_retention_days=settings.audit_retention_days,
            limit=settings.purge_limit,
            tallies=tallies,
            longest_window_seconds=settings.limits.longest_window_seconds,
        )

    async def send(self, order: Order, request: RequestInfo) -> Answer:
        """Send ``order`` at most once per (caller, channel, key) and answer: 201, a stored
        problem, or a replay of either. Raises ProblemError for the refusals that are not stored."""
        now = self._clock.now()
        sender = self._sender_for(order, request.caller)
        segments = check_sms(order, self._settings.limits) if isinstance(order, SmsOrder) else None
        attempt = Attempt.of(
            order,
            caller=request.caller,
            trace_id=request.trace_id,
            sender=sender,
            digester=self._digester,
            sms_encoding=segments.encoding.value if segments else None,
            sms_segments=segments.count if segments else None,
        )
        draft = transitions.draft(
            order,
            caller=request.caller,
            sender=sender,
            fingerprint=order.fingerprint(self._digester),
            now=now,
            lease_seconds=self._settings.lease_seconds,
            lease_owner=uuid.uuid4().hex,
        )
        counting = None
        if self._gate is not None and not self._guard.cached(draft):
            counting = self._gate.start(order, request.caller, segments.count if segments else 0, now)
        try:
            held = await self._guard.acquire(draft, attempt)
        except BaseException:
            if counting is not None:
                counting.cancel()
            raise
        if isinstance(held, Answer):
            if counting is not None:
                counting.cancel()
            return held
        if counting is not None:
            try:
                await counting.admit(held.shipment_id, now)
            except ProblemError as refused:
                # Audited, not stored: the key may be used again later.
                return await self._guard.refuse_held(held, refused, attempt)
        budget = Deadline(now + timedelta(seconds=self._settings.request_budget_seconds), self._clock)
        outcome = await self._delivery.hand_off(held, order, budget)
        return await self._guard.finish(held, outcome, attempt)

    def _sender_for(self, order: Order, caller: str) -> str:
        """The sender the order uses: its own, if this caller may use it (CALLER_SENDERS), else
        the default."""
        if isinstance(order, SmsOrder):
            default = self._settings.sms_default_sender
            if default is None:
                raise ProblemError(
                    ProblemCode.CHANNEL_NOT_CONFIGURED,
                    "SMS is not configured in this service yet (setting SMS_DEFAULT_SENDER); nothing was sent.",
                    retry_after=3600,
                )
        else:
            default = self._settings.email_default_sender
        may_use_sender(order, caller, default, self._settings.limits)
        return order.sender or default

    async def get_shipment(self, caller: str, shipment_id: str, trace_id: str) -> Answer:
        """The shipment of ``caller``'s order. Raises ProblemError 404 / 503."""
        return await self._shipments.read(caller, shipment_id, trace_id)

    async def delivery_report(self, report: Report, trace_id: str) -> str:
        """Write one delivery report onto its order; the outcome's name. Raises when Event Grid
        should deliver it again (StorageUnavailable, ReportNotReady)."""
        return await self._reports.receive(report, trace_id)

    async def purge_expired(self, now: datetime | None = None) -> PurgeReport:
        """One retention run (the hourly timer calls this)."""
        return await self._retention.purge(now)

    async def close(self) -> None:
        """Close every port and owned resource, even when one of them fails to close."""
        failures: list[Exception] = []
        for closeable in self._closeables:
            try:
                await closeable.close()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]
