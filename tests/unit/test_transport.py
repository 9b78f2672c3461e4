"""The azure-core clients skip aiohttp's per-request proxy/netrc look-ups only when those look-ups
could not find anything (instant/adapters/transport.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.pipeline.transport import AioHttpTransport
from pydantic import SecretStr

from instant import bootstrap
from instant.adapters.acs_email import AcsEmailGateway
from instant.adapters.acs_sms import AcsSmsGateway
from instant.adapters.transport import environment_settings_matter, transport_options
from instant.config import Settings


@pytest.fixture
def no_netrc(tmp_path: Path) -> Path:
    return tmp_path / ".netrc"  # does not exist


@pytest.mark.parametrize(
    "environ",
    [
        {"HTTPS_PROXY": "http://proxy.example:3128"},
        {"http_proxy": "http://proxy.example:3128"},
        {"All_Proxy": "http://proxy.example:3128"},
        {"NO_PROXY": "example.com"},
        {"NETRC": "/somewhere/netrc"},
        {"NETRC": ""},
    ],
)
def test_a_proxy_or_netrc_setting_keeps_the_sdk_default(environ: dict[str, str], no_netrc: Path) -> None:
    assert environment_settings_matter(environ, no_netrc)
    assert transport_options(environ, no_netrc) == {}


def test_a_netrc_file_in_home_keeps_the_sdk_default(tmp_path: Path) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine example.com login a password b\n")
    assert transport_options({}, netrc) == {}


@pytest.mark.parametrize("environ", [{}, {"HTTPS_PROXY": ""}, {"PATH": "/usr/bin", "PROXY_MODE": "x"}])
def test_nothing_to_look_up_turns_the_look_ups_off(environ: dict[str, str], no_netrc: Path) -> None:
    assert not environment_settings_matter(environ, no_netrc)
    assert transport_options(environ, no_netrc) == {"use_env_settings": False}


def _transport(client: Any, depth: int = 0, seen: set[int] | None = None) -> AioHttpTransport | None:
    """The AioHttpTransport inside an SDK client, wherever the SDK keeps it."""
    seen = set() if seen is None else seen
    if isinstance(client, AioHttpTransport):
        return client
    if id(client) in seen or depth > 6:
        return None
    seen.add(id(client))
    for value in getattr(client, "__dict__", {}).values():
        found = _transport(value, depth + 1, seen)
        if found is not None:
            return found
    return None


def test_the_app_builds_its_clients_with_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: nothing in the environment for aiohttp's trust_env to act on
    for name in ("instant.adapters.acs_sms", "instant.adapters.acs_email", "instant.bootstrap"):
        monkeypatch.setattr(f"{name}.transport_options", lambda: {"use_env_settings": False})
    config = Settings(
        acs_endpoint="http://127.0.0.1:9",
        acs_access_key=SecretStr("dGVzdC1rZXk="),
        tables_connection_string=SecretStr("UseDevelopmentStorage=true"),
        sms_default_sender="Instant",
        email_default_sender="noreply@instant.example.com",
    )
    credential = AzureKeyCredential("dGVzdC1rZXk=")
    # when
    clients = [
        bootstrap.table_client(config),
        AcsSmsGateway.create(config.acs_endpoint, credential)._client,
        AcsEmailGateway.create(config.acs_endpoint, credential)._client,
    ]
    # then: every SDK client's transport leaves the environment alone
    for client in clients:
        transport = _transport(client)
        assert transport is not None, type(client).__name__
        assert transport._use_env_settings is False, type(client).__name__
