"""The composition root: reads the settings once and builds the real adapters once per worker.

The aio SDK clients are bound to the event loop they first ran on, so the service is built
lazily inside the running loop and rebuilt if a different loop asks (tests, a restarted host).
Keys and connection strings are a local-run option; in Azure neither is set and managed
identity (DefaultAzureCredential) signs every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import cache

from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.data.tables.aio import TableClient

from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.table_store import TABLE_CLIENT_OPTIONS, TableOrderStore
from instant.config import Settings, load_settings
from instant.ports import SystemClock
from instant.service import InstantService, ServiceSettings

ServiceFactory = Callable[[Settings], Awaitable[InstantService]]

_service: InstantService | None = None
_service_loop: asyncio.AbstractEventLoop | None = None
_lock: asyncio.Lock | None = None
_factory: ServiceFactory | None = None


@cache
def settings() -> Settings:
    return load_settings()


def service_settings(config: Settings) -> ServiceSettings:
    return ServiceSettings(
        request_budget_seconds=config.instant_request_budget_seconds,
        email_wait_seconds=config.instant_email_wait_seconds,
        sms_default_sender=config.sms_default_sender,
        email_default_sender=config.email_default_sender,
        allowed_email_senders=config.allowed_email_senders,
        retention_hours=config.idempotency_retention_hours,
    )


def table_client(config: Settings) -> TableClient:
    if config.tables_connection_string is not None:
        return TableClient.from_connection_string(
            config.tables_connection_string.get_secret_value(), config.instant_table_name, **TABLE_CLIENT_OPTIONS
        )
    from azure.identity.aio import DefaultAzureCredential

    assert config.tables_endpoint is not None  # guaranteed by Settings
    return TableClient(
        config.tables_endpoint, config.instant_table_name, credential=DefaultAzureCredential(), **TABLE_CLIENT_OPTIONS
    )


def acs_credential(config: Settings) -> AzureKeyCredential | AsyncTokenCredential:
    if config.acs_access_key is not None:
        return AzureKeyCredential(config.acs_access_key.get_secret_value())
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


async def build_service(config: Settings) -> InstantService:
    store = TableOrderStore(table_client(config))
    if config.tables_connection_string is not None:
        # Local runs create their table; in Azure the Bicep template does.
        await store.ensure_table()
    credential = acs_credential(config)
    return InstantService(
        store=store,
        sms=AcsSmsGateway.create(config.acs_endpoint, credential),
        email=AcsEmailGateway.create(config.acs_endpoint, credential),
        clock=SystemClock(),
        settings=service_settings(config),
    )


def use_factory(factory: ServiceFactory | None) -> None:
    """Let the local host build the service differently (e.g. with crash points for tests)."""
    global _factory, _service, _service_loop
    _factory, _service, _service_loop = factory, None, None


async def service() -> InstantService:
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
    global _service
    if _service is not None:
        await _service.close()
        _service = None
