"""The composition root: reads the settings once and builds the real adapters once per worker.

The aio SDK clients are bound to the event loop they first ran on, so the service is built
lazily inside the running loop and rebuilt if a different loop asks (tests, a restarted host).
Keys and connection strings are a local-run option; in Azure neither is set and managed
identity (DefaultAzureCredential) signs every call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import cache
from typing import NamedTuple

from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableClient, TableServiceClient

from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.table_retry import TABLE_CLIENT_OPTIONS
from instant.adapters.table_rows import TableRows
from instant.adapters.table_tallies import TableTallyStore
from instant.adapters.traced import TracedEmailGateway, TracedOrderStore, TracedSmsGateway
from instant.adapters.transport import transport_options
from instant.config import Settings, load_settings
from instant.domain.clock import Clock, SystemClock
from instant.domain.ports import Closeable, EmailGateway, OrderStore, SmsGateway
from instant.domain.tallies import TallyStore
from instant.entrypoints.answers import WireRenderer
from instant.service.instant_service import InstantService, ServiceSettings
from instant.storage.order_store import PeriodOrderStore

log = logging.getLogger("instant.bootstrap")

ServiceFactory = Callable[[Settings], Awaitable[InstantService]]

_service: InstantService | None = None
_service_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None
_factory: ServiceFactory | None = None


@cache
def settings() -> Settings:
    """The settings, read once per process. A missing SMS sender is the one gap the app starts
    with (email, shipments and health work; SMS answers 503): it says so once."""
    config = load_settings()
    if config.sms_default_sender is None:
        log.warning("SMS_DEFAULT_SENDER is not set: SMS requests answer 503 channel_not_configured until it is")
    return config


def service_settings(config: Settings) -> ServiceSettings:
    """The service's share of the settings."""
    return ServiceSettings(
        request_budget_seconds=config.instant_request_budget_seconds,
        email_wait_seconds=config.instant_email_wait_seconds,
        sms_default_sender=config.sms_default_sender,
        email_default_sender=config.email_default_sender,
        limits=config.limits,
        retention_hours=config.idempotency_retention_hours,
        digest_key=config.digest_key,
        audit_retention_days=config.audit_retention_days,
        delivery_report_grace_seconds=config.delivery_report_grace_seconds,
    )


def uses_managed_identity(config: Settings) -> bool:
    """True when Table Storage or ACS has no key/connection string: Azure, not a local run."""
    return config.tables_connection_string is None or config.acs_access_key is None


def token_credential() -> AsyncTokenCredential:
    """DefaultAzureCredential (managed identity in Azure)."""
    # Imported here: azure.identity is only needed (and only paid for at start-up) in Azure.
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


def table_client(config: Settings, credential: AsyncTokenCredential | None = None) -> TableClient:
    """The Table client: from the connection string (local), else endpoint + managed identity."""
    if config.tables_connection_string is not None:
        return TableClient.from_connection_string(
            config.tables_connection_string.get_secret_value(),
            config.instant_table_name,
            **TABLE_CLIENT_OPTIONS,
            **transport_options(),
        )
    assert config.tables_endpoint is not None  # guaranteed by Settings
    return TableClient(
        config.tables_endpoint,
        config.instant_table_name,
        credential=credential or token_credential(),
        **TABLE_CLIENT_OPTIONS,
        **transport_options(),
    )


def table_service(config: Settings, credential: AsyncTokenCredential | None = None) -> TableServiceClient:
    """The Table service client (the period tables' clients share its connection)."""
    if config.tables_connection_string is not None:
        return TableServiceClient.from_connection_string(
            config.tables_connection_string.get_secret_value(), **TABLE_CLIENT_OPTIONS, **transport_options()
        )
    assert config.tables_endpoint is not None  # guaranteed by Settings
    return TableServiceClient(
        config.tables_endpoint,
        credential=credential or token_credential(),
        **TABLE_CLIENT_OPTIONS,
        **transport_options(),
    )


def acs_credential(
    config: Settings, credential: AsyncTokenCredential | None = None
) -> AzureKeyCredential | AsyncTokenCredential:
    """The ACS credential: the access key (local), else managed identity."""
    if config.acs_access_key is not None:
        return AzureKeyCredential(config.acs_access_key.get_secret_value())
    return credential or token_credential()


class Ports(NamedTuple):
    """The real adapters, before tracing."""

    store: OrderStore
    sms: SmsGateway
    email: EmailGateway


# Wraps the real adapters before the service is composed (tests/support/crash_points.py kills the
# worker at chosen points this way); production passes none.
PortsDecorator = Callable[[Ports], Ports]


async def build_service(config: Settings, *, decorate: PortsDecorator | None = None) -> InstantService:
    """The service on the real adapters (optionally wrapped by ``decorate``, a documented seam)."""
    # One DefaultAzureCredential for Table Storage and ACS (it caches a token per scope). The
    # SDK clients never close a credential they were given, so the service owns it and closes
    # it after them (InstantService.close).
    credential = token_credential() if uses_managed_identity(config) else None
    # Orders live in a table per period, created by the app (on first use, and ahead by the
    # retention timer); the base table (Bicep's, or created locally) holds the layout and tallies.
    store = PeriodOrderStore(
        TableRows(table_service(config, credential)),
        base=config.instant_table_name,
        retention=timedelta(hours=config.idempotency_retention_hours),
        clock=SystemClock(),
    )
    acs = acs_credential(config, credential)
    ports = Ports(
        store, AcsSmsGateway.create(config.acs_endpoint, acs), AcsEmailGateway.create(config.acs_endpoint, acs)
    )
    if decorate is not None:
        ports = decorate(ports)
    # The controls' counters live in the same table, through a client of their own.
    tallies = TableTallyStore(
        table_client(config, credential), create_table=config.tables_connection_string is not None
    )
    return compose_service(
        store=ports.store,
        sms=ports.sms,
        email=ports.email,
        clock=SystemClock(),
        settings=service_settings(config),
        tallies=tallies,
        resources=[credential] if credential is not None else [],
    )


def compose_service(
    *,
    store: OrderStore,
    sms: SmsGateway,
    email: EmailGateway,
    clock: Clock,
    settings: ServiceSettings,
    tallies: TallyStore | None = None,
    resources: Sequence[Closeable] = (),
) -> InstantService:
    """The service on these ports, each wrapped in its tracing decorator (instant/adapters/traced.py),
    with the edge's renderer for the exact bytes of its answers."""
    return InstantService(
        store=TracedOrderStore(store),
        sms=TracedSmsGateway(sms),
        email=TracedEmailGateway(email),
        clock=clock,
        settings=settings,
        renderer=WireRenderer(),
        tallies=tallies,
        resources=resources,
    )


def use_factory(factory: ServiceFactory | None) -> None:
    """Let the local host build the service differently (e.g. with crash points for tests)."""
    global _factory, _service, _service_loop
    _factory, _service, _service_loop = factory, None, None


async def service() -> InstantService:
    """This worker's service, built on first use inside the running event loop."""
    global _service, _service_loop, _lock
    loop = asyncio.get_running_loop()
    if _service is not None and _service_loop is loop:
        return _service
    if _lock is None or _service_loop is not loop:
        _lock = asyncio.Lock()
        _service_loop = loop
        _service = None
    async with _lock:
        if _service is None:
            factory = _factory or build_service
            _service = await factory(settings())
        return _service


async def close() -> None:
    """Close the service (the local host calls this on shutdown)."""
    global _service
    if _service is not None:
        await _service.close()
        _service = None
