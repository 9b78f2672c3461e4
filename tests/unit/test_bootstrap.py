"""The composition root without network: which credential each client gets, and that every
credential is closed on shutdown.

In Azure neither ACS_ACCESS_KEY nor TABLES_CONNECTION_STRING is set (infra/ forbids them), so
Table Storage and ACS must be reached with the managed identity (DefaultAzureCredential).
Nothing here sends a request: building a client and its credential does no I/O.
"""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.data.tables.aio import TableServiceClient
from azure.identity.aio import DefaultAzureCredential

from instant import bootstrap
from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.table_rows import TableRows
from instant.config import Settings
from instant.entrypoints.answers import WireRenderer
from instant.service.instant_service import InstantService
from instant.storage.order_store import PeriodOrderStore
from tests.support.fakes import FakeClock, FakeEmailGateway, FakeSmsGateway, InMemoryOrderStore
from tests.support.unit import SETTINGS

ACS_ENDPOINT = "https://instant-acs.communication.azure.com"
TABLES_ENDPOINT = "https://instantstore.table.core.windows.net"


def settings(**overrides: Any) -> Settings:
    # Explicit keyword values win over the test environment (tests/conftest.py sets keys).
    values: dict[str, Any] = {
        "acs_endpoint": ACS_ENDPOINT,
        "acs_access_key": None,
        "tables_connection_string": None,
        "tables_endpoint": TABLES_ENDPOINT,
        "sms_default_sender": "Instant",
        "email_default_sender": "noreply@instant.example.com",
        **overrides,
    }
    return Settings(**values)


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> list[DefaultAzureCredential]:
    """Every DefaultAzureCredential closed during the test, in order."""
    seen: list[DefaultAzureCredential] = []
    original = DefaultAzureCredential.close

    async def close(self: DefaultAzureCredential) -> None:
        seen.append(self)
        await original(self)

    monkeypatch.setattr(DefaultAzureCredential, "close", close)
    return seen


def unwrap(port: object) -> object:
    """The adapter behind telemetry decorators (they keep it as ``inner``)."""
    while hasattr(port, "inner"):
        port = port.inner
    return port


def parts(service: InstantService) -> tuple[PeriodOrderStore, AcsSmsGateway, AcsEmailGateway]:
    store, sms, email = (unwrap(port) for port in service._closeables[:3])
    assert isinstance(store, PeriodOrderStore)
    assert isinstance(sms, AcsSmsGateway)
    assert isinstance(email, AcsEmailGateway)
    return store, sms, email


def table_service(store: PeriodOrderStore) -> TableServiceClient:
    """The Table Storage client behind the store's rows."""
    rows = store._rows
    assert isinstance(rows, TableRows)
    return rows._service


def pipeline_credentials(client: Any) -> list[object]:
    """Credentials held by the authentication policies of an azure-core pipeline client: a token
    credential (bearer policy) or a key (ACS's HMAC policy)."""
    found: list[object] = []
    for runner in client._pipeline._impl_policies:
        policy = getattr(runner, "_policy", runner)  # sans-I/O policies sit inside a runner
        found += [getattr(policy, name) for name in ("_credential", "_access_key") if hasattr(policy, name)]
    assert found, "no authentication policy in the pipeline"
    return found


def sms_credentials(gateway: AcsSmsGateway) -> list[object]:
    return pipeline_credentials(gateway._pipeline_client)


def email_credentials(gateway: AcsEmailGateway) -> list[object]:
    return pipeline_credentials(gateway._client._client)


async def test_without_keys_every_client_uses_one_managed_identity_credential(
    closed: list[DefaultAzureCredential],
) -> None:
    # given: Azure's settings (endpoints only)
    config = settings()
    assert bootstrap.uses_managed_identity(config)

    # when
    service = await bootstrap.build_service(config)

    # then: Table Storage, SMS and email are all signed by the same DefaultAzureCredential
    store, sms, email = parts(service)
    credential = table_service(store).credential
    assert isinstance(credential, DefaultAzureCredential)
    assert table_service(store).url.rstrip("/") == TABLES_ENDPOINT
    assert store._base == "instantorders"
    assert sms_credentials(sms) == [credential]
    assert email_credentials(email) == [credential]
    assert sms._client._endpoint.rstrip("/") == ACS_ENDPOINT

    # and: shutdown closes it, once, after the clients
    await service.close()
    assert closed == [credential]


async def test_bootstrap_close_closes_the_credential(closed: list[DefaultAzureCredential]) -> None:
    async def factory(config: Settings) -> InstantService:
        return await bootstrap.build_service(settings())

    bootstrap.use_factory(factory)
    try:
        service = await bootstrap.service()
        credential = table_service(parts(service)[0]).credential
        await bootstrap.close()
    finally:
        bootstrap.use_factory(None)
    assert closed == [credential]


async def test_with_keys_no_managed_identity_is_created(
    closed: list[DefaultAzureCredential], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a local run's settings (a key and a connection string)
    config = settings(
        acs_access_key="dGVzdC1rZXktbm90LWEtc2VjcmV0",
        tables_connection_string="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    )
    assert not bootstrap.uses_managed_identity(config)

    # when
    service = await bootstrap.build_service(config)

    # then
    store, sms, email = parts(service)
    assert not isinstance(table_service(store).credential, DefaultAzureCredential)
    assert all(isinstance(c, AzureKeyCredential) for c in sms_credentials(sms))
    assert all(isinstance(c, AzureKeyCredential) for c in email_credentials(email))
    await service.close()
    assert closed == []


async def test_a_key_for_acs_and_an_endpoint_for_tables_closes_the_tables_credential(
    closed: list[DefaultAzureCredential],
) -> None:
    service = await bootstrap.build_service(settings(acs_access_key="dGVzdC1rZXktbm90LWEtc2VjcmV0"))
    store, sms, _ = parts(service)
    assert isinstance(table_service(store).credential, DefaultAzureCredential)
    assert all(isinstance(c, AzureKeyCredential) for c in sms_credentials(sms))
    await service.close()
    assert closed == [table_service(store).credential]


class _Resource:
    def __init__(self, log: list[str], name: str, fail: bool = False) -> None:
        self.log, self.name, self.fail = log, name, fail

    async def close(self) -> None:
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} failed to close")


async def test_service_close_closes_resources_last_even_when_a_port_fails() -> None:
    log: list[str] = []

    class FailingStore(InMemoryOrderStore):
        async def close(self) -> None:
            log.append("store")
            raise RuntimeError("store failed to close")

    service = InstantService(
        store=FailingStore(),
        sms=FakeSmsGateway(),
        email=FakeEmailGateway(),
        clock=FakeClock(),
        settings=SETTINGS,
        renderer=WireRenderer(),
        resources=[_Resource(log, "credential")],
    )
    with pytest.raises(RuntimeError, match="store failed"):
        await service.close()
    assert log == ["store", "credential"]


def test_retention_shorter_than_the_longest_ttl_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from instant.config import SettingsError, load_settings

    monkeypatch.setenv("IDEMPOTENCY_RETENTION_HOURS", "47")
    with pytest.raises(SettingsError, match="IDEMPOTENCY_RETENTION_HOURS"):
        load_settings()


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ=", "@Microsoft.KeyVault(VaultName=v;SecretName=s)"])
def test_a_bad_digest_key_stops_start_up_without_echoing_it(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from instant.config import SettingsError, load_settings

    monkeypatch.setenv("INSTANT_DIGEST_KEY", value)
    with pytest.raises(SettingsError, match="INSTANT_DIGEST_KEY") as raised:
        load_settings()
    assert value not in str(raised.value)


def test_a_digest_key_reaches_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from instant.bootstrap import service_settings
    from instant.config import load_settings

    monkeypatch.setenv("INSTANT_DIGEST_KEY", base64.b64encode(b"x" * 32).decode())
    assert service_settings(load_settings()).digest_key == b"x" * 32
