"""The reliability suite's fixtures and pytest hooks (helpers: tests/support/reliability*.py).

One session stack (Azurite + ACS emulator + the function app in the local host, each a real
process; the real SDKs talk HTTP between them) serves most tests. Tests that kill the worker or
stop storage start their own app processes and their own Azurite next to it, and register what
they start, so that the last test (test_secrets.py) can scan every log the service wrote and
every entity of every table it wrote to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.stack import LocalStack
from tests.support.reliability import DIGEST_KEY, FIGURES, WATCHED, reliability_environment
from tests.support.reliability_clients import Client, Tables
from tests.support.ttl_scenarios import BACKGROUND


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The secrets scan looks at what every other test left behind: it runs last.
    last = [item for item in items if item.nodeid.startswith("tests/reliability/test_secrets.py")]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
async def rel_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    """Azurite + ACS emulator + the function app, for this suite alone."""
    workdir = tmp_path_factory.mktemp("reliability")
    async with LocalStack(workdir, port=0, env=reliability_environment()) as stack:
        assert stack.azurite is not None and stack.emulator is not None and stack.host is not None
        WATCHED.access_keys.add(stack.emulator.access_key)
        WATCHED.access_keys.add(DIGEST_KEY)
        WATCHED.log_files.add(stack.host.log_path)
        WATCHED.azurites["main"] = stack.azurite.connection_string
        yield stack


@pytest.fixture(scope="session")
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
async def client(rel_stack: LocalStack, http_session: aiohttp.ClientSession) -> Client:
    if rel_stack.host is None or rel_stack.host.returncode is not None:
        await rel_stack.start_app(port=0)
        assert rel_stack.host is not None
        WATCHED.log_files.add(rel_stack.host.log_path)
    assert rel_stack.emulator is not None

    def app_url() -> str:
        assert rel_stack.host is not None
        return rel_stack.host.base_url

    return Client(http_session, app_url, rel_stack.emulator.endpoint)


@pytest.fixture(scope="session")
def tables(rel_stack: LocalStack) -> Tables:
    assert rel_stack.azurite is not None
    return Tables(rel_stack.azurite.connection_string)


@pytest.fixture(scope="session")
def emulator_env(rel_stack: LocalStack) -> dict[str, str]:
    """ACS settings of the session's emulator, for apps started by the tests themselves."""
    assert rel_stack.emulator is not None
    return {"ACS_ENDPOINT": rel_stack.emulator.endpoint, "ACS_ACCESS_KEY": rel_stack.emulator.access_key}


@pytest.fixture(scope="session", autouse=True)
async def background(
    request: pytest.FixtureRequest, rel_stack: LocalStack, http_session: aiohttp.ClientSession
) -> AsyncIterator[dict[str, asyncio.Task[Any]]]:
    """Scenarios that mostly wait (time-to-live: > 60 s) start with the session and run alongside
    the other tests; the test named by each scenario awaits and judges its result."""
    selected = {item.name for item in request.session.items}
    assert rel_stack.azurite is not None and rel_stack.emulator is not None
    tables = Tables(rel_stack.azurite.connection_string)

    def app_url() -> str:
        assert rel_stack.host is not None
        return rel_stack.host.base_url

    client = Client(http_session, app_url, rel_stack.emulator.endpoint)
    tasks = {
        name: asyncio.ensure_future(scenario(client, tables))
        for name, scenario in BACKGROUND.items()
        if name in selected
    }
    yield tasks
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
