"""Settings for tests that import the function app in-process (unit tests of the HTTP edge).

Integration tests run the app in its own process with its own environment.
"""

from __future__ import annotations

import os

_TEST_ENVIRONMENT = {
    "ACS_ENDPOINT": "http://127.0.0.1:9",
    "ACS_ACCESS_KEY": "dGVzdC1rZXktbm90LWEtc2VjcmV0",
    "TABLES_CONNECTION_STRING": "UseDevelopmentStorage=true",
    "SMS_DEFAULT_SENDER": "Instant",
    "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
    "INSTANT_LOCAL_DEVELOPMENT": "true",
}
for name, value in _TEST_ENVIRONMENT.items():
    os.environ.setdefault(name, value)
os.environ.pop("INSTANT_DEFAULT_CALLER", None)


# -- Azurite, shared by the contract suite and the integration tests ---------------------------

from collections.abc import AsyncIterator  # noqa: E402

import pytest  # noqa: E402

from sandbox.services import AzuriteProcess, start_azurite  # noqa: E402


@pytest.fixture(scope="session")
async def azurite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AzuriteProcess]:
    process = await start_azurite(tmp_path_factory.mktemp("azurite"))
    yield process
    await process.stop()
