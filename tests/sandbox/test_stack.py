"""The local stack (sandbox/stack.py, services.py, processes.py) and its CLI (sandbox/cli.py)."""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from azure.data.tables.aio import TableServiceClient

from sandbox.cli import curl_commands
from sandbox.processes import port_answers
from sandbox.services import AZURITE_ACCOUNT_KEY, LOCAL_ACS_ACCESS_KEY, start_azurite
from sandbox.stack import APP_DEFAULTS, LocalStack
from tests.support.processes import finish, port_of, read_until, start

TOY_APP = "tests.sandbox.toy_app:app"
# tests/conftest.py puts placeholders for these into os.environ; the stack must choose them itself.
STACK_VARS = ("TABLES_CONNECTION_STRING", "TABLES_ENDPOINT", "ACS_ENDPOINT", "ACS_ACCESS_KEY", *APP_DEFAULTS)


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without the settings the stack provides (it starts Azurite and the emulator)."""
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARS}
    env.update(extra)
    return env


@pytest.mark.integration
async def test_start_azurite_gives_a_working_connection_string(tmp_path: Path) -> None:
    azurite = await start_azurite(tmp_path)
    try:
        assert azurite.connection_string == (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
            f"{AZURITE_ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:{azurite.port}/devstoreaccount1;"
        )
        async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
            table = await service.create_table("sandboxcheck")
            async with table:
                await table.upsert_entity({"PartitionKey": "p", "RowKey": "r", "Body": "hei"})
                entity = await table.get_entity("p", "r")
        assert entity["Body"] == "hei"
    finally:
        code = await azurite.stop()
    assert code == 0
    assert not await port_answers("127.0.0.1", azurite.port)
    log = (tmp_path / "azurite.log").read_text()
    assert "Azurite Table service successfully started" in log
    assert log.rstrip().endswith("Azurite Table service successfully closed")


@pytest.mark.integration
async def test_local_stack_fixture_pattern_survives_a_killed_host(tmp_path: Path) -> None:
    # How a session fixture uses it: emulators once, then start / SIGKILL / restart the app.
    async with LocalStack(tmp_path, app=TOY_APP, with_app=False, env=_clean_env()) as local:
        assert local.azurite is not None and local.emulator is not None and local.host is None
        env = local.app_env
        assert env["TABLES_CONNECTION_STRING"] == local.azurite.connection_string
        assert env["ACS_ENDPOINT"] == local.emulator.endpoint
        assert env["ACS_ACCESS_KEY"] == LOCAL_ACS_ACCESS_KEY
        assert env["SMS_DEFAULT_SENDER"] == "Instant"
        assert env["EMAIL_DEFAULT_SENDER"] == "noreply@instant.example.com"
        assert env["INSTANT_DEFAULT_CALLER"] == "local-dev"
        assert env["PATH"] == os.environ["PATH"]  # the rest is inherited

        host = await local.start_app(port=0)
        assert host.route_prefix == "api"  # no host.json next to the toy app
        async with aiohttp.ClientSession() as session:
            async with session.get(host.url("echo/first")) as resp:
                assert resp.status == 200
            async with session.get(local.emulator.inbox_url) as resp:
                assert resp.status == 200

            await local.kill_app()
            assert host.returncode == -signal.SIGKILL
            assert not await port_answers("127.0.0.1", host.port)

            again = await local.restart_app()
            assert again.port == host.port and again.pid != host.pid
            async with session.get(again.url("echo/second")) as resp:
                assert (await resp.json())["route_params"] == {"name": "second"}
        children = local.children()
    assert all(child.returncode is not None for child in children)
    log = (tmp_path / "local-host.log").read_text()
    assert log.count("Local Functions host listening on") == 2  # both runs, appended


async def test_local_stack_uses_configured_services_instead_of_starting_them(tmp_path: Path) -> None:
    env = _clean_env(
        TABLES_ENDPOINT="https://example.table.core.windows.net",
        ACS_ENDPOINT="https://example.communication.azure.com",
        ACS_ACCESS_KEY=base64.b64encode(b"k").decode(),
        SMS_DEFAULT_SENDER="Custom",
    )
    async with LocalStack(tmp_path, with_app=False, env=env) as local:
        assert local.children() == []
        assert local.settings == {
            "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
            "INSTANT_DEFAULT_CALLER": "local-dev",
            "INSTANT_LOCAL_DEVELOPMENT": "true",
        }
        assert local.app_env["SMS_DEFAULT_SENDER"] == "Custom"
        assert local.app_env["ACS_ENDPOINT"] == "https://example.communication.azure.com"


def test_curl_commands_are_valid_shell_and_json() -> None:
    commands = curl_commands("http://127.0.0.1:7071/notifications/api/v1", "local-dev", "http://e/inbox")
    assert "uuidgen" not in commands["sms"]
    # Run each with a `curl` shell function that prints its arguments instead of sending.
    fake_curl = 'curl() { for a in "$@"; do printf "%s\\n" "$a"; done; }; '
    for name in ("sms", "email"):
        out = subprocess.run(
            ["bash", "-c", fake_curl + commands[name]], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert out[out.index("-X") + 1] == "POST"
        assert "Content-Type: application/json" in out and "X-Caller-Id: local-dev" in out
        body = json.loads(out[out.index("-d") + 1])
        assert re.fullmatch(r"otp-(email-)?\d+", body["idempotencyId"])
        if name == "sms":
            assert out[out.index("POST") + 1] == (
                "http://127.0.0.1:7071/notifications/api/v1/future/orders/instant/sms"
            )
            assert body["recipientSms"] == {
                "phoneNumber": "+4799999999",
                "timeToLiveInSeconds": 300,
                "smsSettings": {"body": "Your code is 123456. It expires in 5 minutes."},
            }
        else:
            assert body["recipientEmail"]["emailAddress"] == "user@example.com"
            assert body["recipientEmail"]["emailSettings"]["subject"] == "Your code"
            assert body["recipientEmail"]["emailSettings"]["contentType"] == "Plain"
    assert shlex.split(commands["inbox"]) == ["curl", "-sS", "http://e/inbox"]


@pytest.mark.integration
async def test_stack_cli_no_app_prints_exports_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = await start(
        sys.executable,
        "-m",
        "sandbox.cli",
        "--no-app",
        "--workdir",
        str(tmp_path),
        env=_clean_env(PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await read_until(process.stdout, lambda line: line.startswith("What the emulator delivered"), seen)
        exported = dict(
            shlex.split(line.strip())[1].split("=", 1) for line in seen if line.strip().startswith("export ")
        )
        assert set(exported) >= {"TABLES_CONNECTION_STRING", "ACS_ENDPOINT", "ACS_ACCESS_KEY"}
        table_port = port_of(exported["TABLES_CONNECTION_STRING"].split("TableEndpoint=")[1])
        emulator_port = port_of(exported["ACS_ENDPOINT"])
        assert await port_answers("127.0.0.1", table_port)
        async with TableServiceClient.from_connection_string(exported["TABLES_CONNECTION_STRING"]) as service:
            await service.create_table_if_not_exists("cliexports")
        process.send_signal(signal.SIGINT)
        assert await finish(process, seen) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert "stack: stopped" in seen
    assert not await port_answers("127.0.0.1", table_port)
    assert not await port_answers("127.0.0.1", emulator_port)
    assert (tmp_path / "azurite.log").stat().st_size > 0
    assert "ACS emulator listening on" in (tmp_path / "acs-emulator.log").read_text()


@pytest.mark.integration
async def test_stack_cli_stops_everything_when_a_child_dies(tmp_path: Path) -> None:
    process = await start(
        sys.executable,
        "-m",
        "sandbox.cli",
        "--port",
        "0",
        "--app",
        TOY_APP,
        "--workdir",
        str(tmp_path),
        env=_clean_env(PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await read_until(process.stdout, lambda line: line.startswith("What the emulator delivered"), seen)
        urls: dict[str, tuple[str, int]] = {}
        for line in seen:
            if m := re.match(r"  (Function app|Azurite Table|ACS emulator)\s+(\S+)\s+\(pid (\d+)", line):
                urls[m[1]] = (m[2], int(m[3]))
        assert set(urls) == {"Function app", "Azurite Table", "ACS emulator"}
        app_url = urls["Function app"][0]
        async with aiohttp.ClientSession() as session, session.get(f"{app_url}/echo/x") as resp:
            assert resp.status == 200
        os.kill(urls["ACS emulator"][1], signal.SIGKILL)  # our own grandchild, by pid
        assert await finish(process, seen) == 1
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert any(f"acs-emulator exited with code {-signal.SIGKILL}" in line for line in seen)
    assert any("last lines of" in line and "acs-emulator.log" in line for line in seen)
    for url, _pid in urls.values():
        assert not await port_answers("127.0.0.1", port_of(url))
