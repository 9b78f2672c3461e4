"""Helpers of the unit tests: service settings, callers and a service on fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic

# typing.TypeVar takes default= only from Python 3.13 (PEP 696).
from typing_extensions import TypeVar

from instant.domain.answer import Answer
from instant.domain.delivery_status import Report
from instant.domain.errors import ProblemError
from instant.domain.orders import Order
from instant.domain.ports import OrderStore
from instant.entrypoints.answers import WireRenderer, problem_answer
from instant.service.instant_service import InstantService, RequestInfo, ServiceSettings
from tests.support.fakes import FakeClock, FakeEmailGateway, FakeSmsGateway, InMemoryOrderStore, InMemoryTallyStore

SETTINGS = ServiceSettings(
    request_budget_seconds=8.0,
    email_wait_seconds=1.5,
    sms_default_sender="Instant",
    email_default_sender="noreply@instant.example.com",
)
CALLER = RequestInfo(caller="caller-a", trace_id="0" * 32)
TRACE = "e" * 32
OTHER_CALLER = RequestInfo(caller="caller-b", trace_id="1" * 32)
# The store a World's service runs on: the in-memory fake unless a test says otherwise.
StoreT = TypeVar("StoreT", bound=OrderStore, default=InMemoryOrderStore)


@dataclass
class World(Generic[StoreT]):
    """A service and the fakes behind it (``World[PeriodOrderStore]`` in the storage-period tests)."""

    service: InstantService
    store: StoreT
    sms: FakeSmsGateway
    email: FakeEmailGateway
    clock: FakeClock
    tallies: InMemoryTallyStore

    async def send(self, order: Order, request: RequestInfo) -> Answer:
        """The answer the caller gets: a raised problem is rendered as the edge renders it."""
        try:
            return await self.service.send(order, request)
        except ProblemError as problem:
            return problem_answer(problem)

    async def get_shipment(self, caller: str, shipment_id: str, trace_id: str = TRACE) -> Answer:
        """GET shipment as the caller sees it (a raised problem rendered)."""
        try:
            return await self.service.get_shipment(caller, shipment_id, trace_id)
        except ProblemError as problem:
            return problem_answer(problem)

    async def report(self, report: Report) -> str:
        """A delivery report, as the delivery_report function hands it to the service."""
        return await self.service.delivery_report(report, TRACE)


def build_world(
    settings: ServiceSettings = SETTINGS,
    store: InMemoryOrderStore | None = None,
    tallies: InMemoryTallyStore | None = None,
    clock: FakeClock | None = None,
) -> World:
    """The service on in-memory fakes (``store``, if given, may be a misbehaving subclass), with
    the fakes to inspect. The controls are off in ``SETTINGS``; a test turns on what it needs."""
    return world_on(
        store if store is not None else InMemoryOrderStore(),
        clock or FakeClock(),
        FakeSmsGateway(),
        settings=settings,
        tallies=tallies,
    )


def world_on(
    store: StoreT,
    clock: FakeClock,
    sms: FakeSmsGateway,
    *,
    settings: ServiceSettings = SETTINGS,
    tallies: InMemoryTallyStore | None = None,
) -> World[StoreT]:
    """One worker: the service on ``store``, ``clock`` and ``sms`` (the SMS gateway several
    workers may share, to count every hand-off), with fakes for the rest."""
    email, tallies = FakeEmailGateway(), tallies if tallies is not None else InMemoryTallyStore()
    service = InstantService(
        store=store, sms=sms, email=email, clock=clock, settings=settings, renderer=WireRenderer(), tallies=tallies
    )
    return World(service, store, sms, email, clock, tallies)
