"""The local Functions host (sandbox/local_host.py) and the stack runner (sandbox/stack.py), over HTTP."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from azure.data.tables.aio import TableServiceClient

from sandbox import local_host, stack
from sandbox.local_host import RouteTemplate, RunningHost, build_web_app, load_function_app, serve
from tests.sandbox import toy_app

TOY_APP = "tests.sandbox.toy_app:app"
PREFIX = "toy/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
# tests/conftest.py puts placeholders for these into os.environ; the stack must choose them itself.
STACK_VARS = ("TABLES_CONNECTION_STRING", "TABLES_ENDPOINT", "ACS_ENDPOINT", "ACS_ACCESS_KEY", *stack.APP_DEFAULTS)


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without the settings the stack provides (it starts Azurite and the emulator)."""
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARS}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def host_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostjson") / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": PREFIX}}}))
    return path


@pytest.fixture(scope="module")
async def host(host_json: Path) -> AsyncIterator[RunningHost]:
    running = await serve(load_function_app(TOY_APP), "127.0.0.1", 0, local_host.read_route_prefix(host_json))
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


# --------------------------------------------------------------------------------------------
# Indexing and routing
# --------------------------------------------------------------------------------------------


def test_route_prefix_from_host_json(tmp_path: Path, host_json: Path) -> None:
    assert local_host.read_route_prefix(host_json) == PREFIX
    assert local_host.read_route_prefix(tmp_path / "missing.json") == "api"  # Azure's default
    (tmp_path / "empty.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}')
    assert local_host.read_route_prefix(tmp_path / "empty.json") == ""
    # The real app's host.json sits next to function_app.py.
    assert local_host.default_host_json("function_app:app") == REPO_ROOT / "host.json"


async def test_routes_and_timers_come_from_the_function_app(host: RunningHost) -> None:
    described = {route.describe() for route in host.routes}
    assert f"POST,PUT /{PREFIX}/orders -> create_order" in described
    assert f"* /{PREFIX}/echo/{{name?}} -> echo" in described
    assert f"GET /{PREFIX}/sync/{{word}} -> sync_function" in described  # from the blueprint
    assert f"GET /{PREFIX}/context -> WithContext" in described  # @function_name wins
    assert len(host.routes) == len(local_host.index_functions(toy_app.app)) - 1 == 14  # all but the timer
    [timer] = host.other_functions
    assert timer.describe() == ("timer trigger nightly_cleanup (schedule 0 0 3 * * *) not run by the local host")


def test_the_same_app_can_be_served_again() -> None:
    # FunctionApp.get_functions() rejects a second call on its own; the host indexes afresh each time.
    app = load_function_app(TOY_APP)
    first = local_host.http_routes(build_web_app(app, "a"))
    second = local_host.http_routes(build_web_app(app, "b"))
    assert [r.function_name for r in first] == [r.function_name for r in second]
    assert second[0].path.startswith("/b/")


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("items/{id}", "/api/items/42", {"id": "42"}),
        ("items/{id}", "/API/Items/42/", {"id": "42"}),  # case-insensitive, trailing slash
        ("items/{id}", "/api/items", None),
        ("items/{id}", "/api/items/42/more", None),
        ("items/{id:int}", "/api/items/-7", {"id": "-7"}),
        ("items/{id:int}", "/api/items/x7", None),
        ("items/{id:int}", "/api/items/99999999999", None),  # beyond int32
        ("items/{id:guid}", f"/api/items/{uuid.UUID(int=5)}", {"id": str(uuid.UUID(int=5))}),
        ("items/{id:alpha:minlength(3)}", "/api/items/ab", None),
        ("items/{id:alpha:minlength(3)}", "/api/items/abc", {"id": "abc"}),
        ("items/{id:regex(^\\d{{3}}$)}", "/api/items/123", {"id": "123"}),
        ("items/{id:regex(^\\d{{3}}$)}", "/api/items/1234", None),
        ("items/{id:range(1,10)}", "/api/items/11", None),
        ("items/{name?}", "/api/items", {}),
        ("items/{name?}", "/api/items/x", {"name": "x"}),
        ("items/{name=all}", "/api/items", {"name": "all"}),
        ("files/{*rest}", "/api/files/a/b%2Fc", {"rest": "a/b/c"}),
        ("files/{name}.{ext}", "/api/files/report.tar.gz", {"name": "report", "ext": "tar.gz"}),
        ("shipment/{shipmentId}", "/api/shipment/a%20b", {"shipmentId": "a b"}),
    ],
)
def test_route_templates(template: str, path: str, expected: dict[str, str] | None) -> None:
    assert RouteTemplate.compile("api", template).match(path) == expected


def test_literal_segments_take_precedence_over_parameters() -> None:
    literal = RouteTemplate.compile("api", "items/special")
    param = RouteTemplate.compile("api", "items/{id}")
    optional = RouteTemplate.compile("api", "items/{id?}")
    catch_all = RouteTemplate.compile("api", "items/{*rest}")
    assert sorted([catch_all, optional, param, literal], key=lambda t: t.precedence) == [
        literal,
        param,
        optional,
        catch_all,
    ]


# --------------------------------------------------------------------------------------------
# Serving over HTTP
# --------------------------------------------------------------------------------------------


async def test_request_reaches_the_function_whole(host: RunningHost, http: aiohttp.ClientSession) -> None:
    body = b'{"a": 1}'
    url = host.url("echo/Al%20ice") + "?x=1&x=2&code=secret"
    async with http.post(url, data=body, headers={"X-Custom": "yes", "Content-Type": "application/json"}) as resp:
        assert resp.status == 200
        seen = await resp.json()
    assert seen["method"] == "POST"
    assert seen["url"] == url
    assert seen["route_params"] == {"name": "Al ice"}
    # Function keys are accepted and not enforced; the function still sees the query as sent.
    assert seen["params"] == {"x": "1,2", "code": "secret"}
    assert seen["headers"]["x-custom"] == "yes"
    assert seen["headers"]["content-type"] == "application/json"
    assert base64.b64decode(seen["body_b64"]) == body


async def test_encoded_line_break_in_a_route_parameter_reaches_the_function(
    host: RunningHost, http: aiohttp.ClientSession
) -> None:
    # The Functions host routes any segment; a decoded %0A must not fall out of the catch-all route.
    async with http.get(host.url("echo/a%0Ab")) as resp:
        assert resp.status == 200
        assert (await resp.json())["route_params"] == {"name": "a\nb"}


async def test_optional_route_parameter(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("echo")) as resp:
        assert resp.status == 200
        assert (await resp.json())["route_params"] == {}


async def test_constraints_and_literal_routes(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("items/42")) as resp:
        assert await resp.json() == {"function": "item_by_id", "route_params": {"id": "42"}}
    async with http.get(host.url("items/special")) as resp:
        assert await resp.json() == {"function": "item_special"}
    async with http.get(host.url("items/abc")) as resp:
        assert resp.status == 404


async def test_catch_all_route(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("files/a/b%20c/d.txt")) as resp:
        assert await resp.json() == {"route_params": {"rest": "a/b c/d.txt"}}


async def test_unknown_route_is_404_and_wrong_method_405(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("no/such/route")) as resp:
        assert resp.status == 404
    async with http.get(f"{host.base_url}/echo") as resp:  # right route, no prefix
        assert resp.status == 404
    async with http.get(host.url("orders")) as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST,PUT"
    async with http.put(host.url("orders"), headers={"x-functions-key": "anything"}) as resp:
        assert resp.status == 201


async def test_bodies_are_byte_identical(host: RunningHost, http: aiohttp.ClientSession) -> None:
    body = bytes(range(256)) * 64 + b"\xff\xfe\x00\x80 not utf-8 \xc3\x28"
    async with http.post(host.url("bytes"), data=body) as resp:
        assert resp.status == 200
        assert await resp.read() == body
        assert resp.headers["Content-Type"] == "application/octet-stream"
        assert resp.headers.getall("X-Multi") == ["one", "two"]


async def test_status_content_type_and_headers_as_the_function_set_them(
    host: RunningHost, http: aiohttp.ClientSession
) -> None:
    async with http.get(host.url("problem")) as resp:
        assert resp.status == 422
        assert resp.headers["Content-Type"] == "application/problem+json"  # no charset added
        assert resp.headers["X-Trace"] == "abc"
        assert resp.headers["Cache-Control"] == "no-store"
        assert await resp.read() == toy_app.PROBLEM_BODY
    async with http.get(host.url("plain")) as resp:
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert await resp.read() == "hei på deg".encode()
    async with http.delete(host.url("nothing")) as resp:  # a function returning None
        assert resp.status == 204
        assert await resp.read() == b""


async def test_exception_is_500_with_plain_body_and_logged(
    host: RunningHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox.local_host")
    async with http.get(host.url("boom")) as resp:
        assert resp.status == 500
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        text = await resp.text()
    assert "Functions.boom" in text
    assert "toy failure" not in text  # the traceback goes to the log, not to the caller
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "toy failure for the 500 test"


async def test_sync_function_runs_off_the_loop_thread(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("sync/hello")) as resp:
        assert await resp.json() == {"word": "hello", "main_thread": False}


async def test_context_parameter(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("context")) as resp:
        name, invocation_id = (await resp.text()).split()
    assert name == "WithContext"
    assert uuid.UUID(invocation_id)


async def test_body_limits(host: RunningHost, http: aiohttp.ClientSession) -> None:
    # Above the app's own 1 MiB: it reaches the function, which can answer 413 itself.
    async with http.post(host.url("size"), data=io.BytesIO(b"x" * (MiB + 1))) as resp:
        assert await resp.json() == {"received": MiB + 1}
    too_big = io.BytesIO(b"x" * (local_host.DEFAULT_MAX_BODY_BYTES + 1))
    async with http.post(host.url("size"), data=too_big) as resp:
        assert resp.status == 413


async def test_one_log_line_per_request_without_key_or_body(
    host: RunningHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox.local_host")
    async with http.post(host.url("echo/log-me") + "?code=topsecret", data=b"body-secret") as resp:
        assert resp.status == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "sandbox.local_host"]
    assert len(lines) == 1
    assert re.fullmatch(rf"POST /{PREFIX}/echo/log-me 200 \d+\.\dms", lines[0])
    assert "topsecret" not in caplog.text
    assert "body-secret" not in caplog.text


async def test_timer_is_not_routed_but_runs_via_admin(host: RunningHost, http: aiohttp.ClientSession) -> None:
    calls_before = len(toy_app.TIMER_CALLS)
    async with http.get(host.url("nightly_cleanup")) as resp:
        assert resp.status == 404
    async with http.post(f"{host.base_url}/admin/functions/nightly_cleanup", json={"input": ""}) as resp:
        assert resp.status == 202
    assert toy_app.TIMER_CALLS[calls_before:] == [False]
    async with http.post(f"{host.base_url}/admin/functions/no_such_function") as resp:
        assert resp.status == 404
    async with http.post(f"{host.base_url}/admin/functions/echo") as resp:  # HTTP functions: call them
        assert resp.status == 404
    assert len(toy_app.TIMER_CALLS) == calls_before + 1


async def test_stop_finishes_requests_in_flight_then_runs_hooks(host_json: Path) -> None:
    events: list[str] = []

    async def startup() -> None:
        events.append("startup")

    async def shutdown() -> None:
        events.append("shutdown")

    running = await serve(load_function_app(TOY_APP), "127.0.0.1", 0, PREFIX, on_startup=startup, on_shutdown=shutdown)
    assert events == ["startup"]
    async with aiohttp.ClientSession() as session:

        async def slow_request() -> tuple[int, str]:
            async with session.get(running.url("slow") + "?seconds=0.5") as resp:
                return resp.status, await resp.text()

        in_flight = asyncio.create_task(slow_request())
        await asyncio.sleep(0.2)
        await running.stop()
        assert await in_flight == (200, "done")
        assert events == ["startup", "shutdown"]
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(running.url("plain")):
                pass


# --------------------------------------------------------------------------------------------
# Subprocess helpers
# --------------------------------------------------------------------------------------------


async def _read_until(
    stream: asyncio.StreamReader, done: Callable[[str], bool], seen: list[str], timeout: float = 60
) -> str:
    """Collect lines into ``seen`` until one satisfies ``done``; returns that line."""

    async def read() -> str:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            seen.append(text)
            if done(text):
                return text
        raise AssertionError("output ended early:\n" + "\n".join(seen))

    return await asyncio.wait_for(read(), timeout)


async def _exec(*argv: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *argv, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def _finish(process: asyncio.subprocess.Process, seen: list[str], timeout: float = 30) -> int:
    assert process.stdout is not None
    rest = await asyncio.wait_for(process.stdout.read(), timeout)
    seen.extend(rest.decode(errors="replace").splitlines())
    return await asyncio.wait_for(process.wait(), timeout)


def _port_of(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1].split("/")[0])


async def test_cli_starts_serves_and_stops_on_sigterm(host_json: Path) -> None:
    process = await _exec(
        sys.executable,
        "-m",
        "sandbox.local_host",
        "--app",
        TOY_APP,
        "--port",
        "0",
        "--host-json",
        str(host_json),
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        ready = await _read_until(process.stdout, lambda line: "listening on" in line, seen)
        match = re.fullmatch(r"Local Functions host listening on (http://127\.0\.0\.1:\d+)", ready)
        assert match is not None, ready
        base_url = match[1]
        await _read_until(process.stdout, lambda line: line.startswith("  timer trigger nightly"), seen)
        assert f"  POST,PUT /{PREFIX}/orders -> create_order" in seen
        async with aiohttp.ClientSession() as session, session.get(f"{base_url}/{PREFIX}/problem") as resp:
            assert resp.status == 422
            assert await resp.read() == toy_app.PROBLEM_BODY
        process.send_signal(signal.SIGTERM)
        assert await _finish(process, seen) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert seen[0] == "toy app: startup hook ran"
    assert sum("listening on" in line for line in seen) == 1
    assert "toy app: shutdown hook ran" in seen
    assert any(re.search(rf"GET /{PREFIX}/problem 422 ", line) for line in seen)
    assert not await stack.port_answers("127.0.0.1", _port_of(base_url))


# --------------------------------------------------------------------------------------------
# stack.py
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
async def test_start_azurite_gives_a_working_connection_string(tmp_path: Path) -> None:
    azurite = await stack.start_azurite(tmp_path)
    try:
        assert azurite.connection_string == (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
            f"{stack.AZURITE_ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:{azurite.port}/devstoreaccount1;"
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
    assert not await stack.port_answers("127.0.0.1", azurite.port)
    log = (tmp_path / "azurite.log").read_text()
    assert "Azurite Table service successfully started" in log
    assert log.rstrip().endswith("Azurite Table service successfully closed")


@pytest.mark.integration
async def test_local_stack_fixture_pattern_survives_a_killed_host(tmp_path: Path) -> None:
    # How a session fixture uses it: emulators once, then start / SIGKILL / restart the app.
    async with stack.LocalStack(tmp_path, app=TOY_APP, with_app=False, env=_clean_env()) as local:
        assert local.azurite is not None and local.emulator is not None and local.host is None
        env = local.app_env
        assert env["TABLES_CONNECTION_STRING"] == local.azurite.connection_string
        assert env["ACS_ENDPOINT"] == local.emulator.endpoint
        assert env["ACS_ACCESS_KEY"] == stack.LOCAL_ACS_ACCESS_KEY
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
            assert not await stack.port_answers("127.0.0.1", host.port)

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
    async with stack.LocalStack(tmp_path, with_app=False, env=env) as local:
        assert local.children() == []
        assert local.settings == {
            "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
            "INSTANT_DEFAULT_CALLER": "local-dev",
        }
        assert local.app_env["SMS_DEFAULT_SENDER"] == "Custom"
        assert local.app_env["ACS_ENDPOINT"] == "https://example.communication.azure.com"


def test_curl_commands_are_valid_shell_and_json() -> None:
    commands = stack.curl_commands("http://127.0.0.1:7071/notifications/api/v1", "local-dev", "http://e/inbox")
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
    process = await _exec(
        sys.executable,
        "-m",
        "sandbox.stack",
        "--no-app",
        "--workdir",
        str(tmp_path),
        env=_clean_env(PYTHONUNBUFFERED="1"),
    )
    assert process.stdout is not None
    seen: list[str] = []
    try:
        await _read_until(process.stdout, lambda line: line.startswith("What the emulator delivered"), seen)
        exported = dict(
            shlex.split(line.strip())[1].split("=", 1) for line in seen if line.strip().startswith("export ")
        )
        assert set(exported) >= {"TABLES_CONNECTION_STRING", "ACS_ENDPOINT", "ACS_ACCESS_KEY"}
        table_port = _port_of(exported["TABLES_CONNECTION_STRING"].split("TableEndpoint=")[1])
        emulator_port = _port_of(exported["ACS_ENDPOINT"])
        assert await stack.port_answers("127.0.0.1", table_port)
        async with TableServiceClient.from_connection_string(exported["TABLES_CONNECTION_STRING"]) as service:
            await service.create_table_if_not_exists("cliexports")
        process.send_signal(signal.SIGINT)
        assert await _finish(process, seen) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert "stack: stopped" in seen
    assert not await stack.port_answers("127.0.0.1", table_port)
    assert not await stack.port_answers("127.0.0.1", emulator_port)
    assert (tmp_path / "azurite.log").stat().st_size > 0
    assert "ACS emulator listening on" in (tmp_path / "acs-emulator.log").read_text()


@pytest.mark.integration
async def test_stack_cli_stops_everything_when_a_child_dies(tmp_path: Path) -> None:
    process = await _exec(
        sys.executable,
        "-m",
        "sandbox.stack",
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
        await _read_until(process.stdout, lambda line: line.startswith("What the emulator delivered"), seen)
        urls: dict[str, tuple[str, int]] = {}
        for line in seen:
            if m := re.match(r"  (Function app|Azurite Table|ACS emulator)\s+(\S+)\s+\(pid (\d+)", line):
                urls[m[1]] = (m[2], int(m[3]))
        assert set(urls) == {"Function app", "Azurite Table", "ACS emulator"}
        app_url = urls["Function app"][0]
        async with aiohttp.ClientSession() as session, session.get(f"{app_url}/echo/x") as resp:
            assert resp.status == 200
        os.kill(urls["ACS emulator"][1], signal.SIGKILL)  # our own grandchild, by pid
        assert await _finish(process, seen) == 1
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert any(f"acs-emulator exited with code {-signal.SIGKILL}" in line for line in seen)
    assert any("last lines of" in line and "acs-emulator.log" in line for line in seen)
    for url, _pid in urls.values():
        assert not await stack.port_answers("127.0.0.1", _port_of(url))
