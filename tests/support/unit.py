"""Helpers of the unit tests: service settings, callers and a service on fakes."""

from __future__ import annotations

from dataclasses import dataclass

from instant.service import InstantService, RequestInfo, ServiceSettings
from tests.support.fakes import FakeClock, FakeEmailGateway, FakeSmsGateway, InMemoryOrderStore

SETTINGS = ServiceSettings(
    request_budget_seconds=8.0,
    email_wait_seconds=1.5,
    sms_default_sender="Instant",
    email_default_sender="noreply@instant.example.com",
    allowed_email_senders=frozenset(),
)
CALLER = RequestInfo(caller="caller-a", trace_id="0" * 32)
OTHER_CALLER = RequestInfo(caller="caller-b", trace_id="1" * 32)


@dataclass
class World:
    """A service and the fakes behind it."""

    service: InstantService
    store: InMemoryOrderStore
    sms: FakeSmsGateway
    email: FakeEmailGateway
    clock: FakeClock


def build_world(settings: ServiceSettings = SETTINGS) -> World:
    """The service on in-memory fakes, with the fakes to inspect."""
    store, sms, email, clock = InMemoryOrderStore(), FakeSmsGateway(), FakeEmailGateway(), FakeClock()
    service = InstantService(store=store, sms=sms, email=email, clock=clock, settings=settings)
    return World(service, store, sms, email, clock)
