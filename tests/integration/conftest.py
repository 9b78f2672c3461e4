"""The local stack for integration tests: Azurite, the ACS emulator and the function app in
the local host, each a real process, and the real SDKs talking HTTP between them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.services import AzuriteProcess
from sandbox.stack import LocalStack
from tests.support.integration import EMULATOR_ARGS, Api, base_environment


@pytest.fixture(scope="session")
async def stack(azurite: AzuriteProcess, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    env = base_environment(TABLES_CONNECTION_STRING=azurite.connection_string)
    workdir: Path = tmp_path_factory.mktemp("stack")
    async with LocalStack(workdir, port=0, env=env, emulator_args=EMULATOR_ARGS) as running:
        yield running


@pytest.fixture(scope="session")
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture
async def api(stack: LocalStack, http_session: aiohttp.ClientSession) -> Api:
    if stack.host is None or stack.host.returncode is not None:
        await stack.start_app(port=0)
    return Api(http_session, stack)
