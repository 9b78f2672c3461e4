"""The local host over HTTP (sandbox/host/server.py): what a function sees and what the caller gets."""

from __future__ import annotations

import asyncio
import base64
import gzip
import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from sandbox.host.limits import AZURE_LIMITS, HostLimits
from sandbox.host.loading import load_function_app
from sandbox.host.server import RunningHost, serve
from tests.sandbox import toy_app

TOY_APP = "tests.sandbox.toy_app:app"
PREFIX = "toy/api/v1"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def host_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostjson") / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": PREFIX}}}))
    return path


@pytest.fixture(scope="module")
async def host() -> AsyncIterator[RunningHost]:
    running = await serve(load_function_app(TOY_APP), "127.0.0.1", 0, PREFIX)
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


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


async def test_literal_route_wins_over_a_parameter(host: RunningHost, http: aiohttp.ClientSession) -> None:
    async with http.get(host.url("items/42")) as resp:
        assert await resp.json() == {"function": "item_by_id", "route_params": {"id": "42"}}
    async with http.get(host.url("items/special")) as resp:
        assert await resp.json() == {"function": "item_special"}
    async with http.get(host.url("items/42/more")) as resp:
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
    assert AZURE_LIMITS.max_request_body_size == 104_857_600  # the Functions host's 100 MB
    running = await serve(
        load_function_app(TOY_APP), "127.0.0.1", 0, PREFIX, limits=HostLimits(max_request_body_size=MiB)
    )
    try:
        async with http.post(running.url("size"), data=io.BytesIO(b"x" * MiB)) as resp:
            assert await resp.json() == {"received": MiB}
        async with http.post(running.url("size"), data=io.BytesIO(b"x" * (MiB + 1))) as resp:
            assert resp.status == 413
    finally:
        await running.stop()


async def test_a_gzip_body_reaches_the_function_as_sent(host: RunningHost, http: aiohttp.ClientSession) -> None:
    # The Functions host does not decompress request bodies; aiohttp would by default.
    compressed = gzip.compress(b'{"a": 1}')
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    async with http.post(host.url("echo/gz"), data=compressed, headers=headers) as resp:
        seen = await resp.json()
    assert base64.b64decode(seen["body_b64"]) == compressed
    assert seen["headers"]["content-encoding"] == "gzip"


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


def _event(event_id: str, subject: str = "s") -> dict[str, object]:
    return {
        "id": event_id,
        "topic": "/t",
        "subject": subject,
        "data": {"n": event_id},
        "eventType": "Toy.Happened",
        "eventTime": "2026-11-26T10:00:00.1234567Z",
        "dataVersion": "1.0",
    }


async def test_event_grid_webhook_runs_the_function_per_event_like_core_tools(
    host: RunningHost, http: aiohttp.ClientSession
) -> None:
    url = f"{host.base_url}/runtime/webhooks/eventgrid"
    notification = {"aeg-event-type": "Notification"}
    before = len(toy_app.EVENTS)
    async with http.post(f"{url}?functionName=on_event", json=[_event("e1"), _event("e2")], headers=notification) as r:
        assert r.status == 202
    assert toy_app.EVENTS[before:] == [
        ("e1", "Toy.Happened", "s", {"n": "e1"}),
        ("e2", "Toy.Happened", "s", {"n": "e2"}),
    ]
    for query in ("", "?functionName=nope", "?functionName=echo"):
        async with http.post(url + query, json=[_event("e3")], headers=notification) as r:
            assert r.status == 404, query
    for body in (b"{not json", b'{"id": "e4"}', b"[1, 2]", json.dumps([{"id": "e5"}]).encode()):
        async with http.post(f"{url}?functionName=on_event", data=body, headers=notification) as r:
            assert r.status == 400, body
    async with http.post(f"{url}?functionName=on_event", json=[_event("e6", "boom")], headers=notification) as r:
        assert r.status == 500
    assert len(toy_app.EVENTS) == before + 2
    validation = [{**_event("v1"), "data": {"validationCode": "abc-123"}}]
    headers = {"aeg-event-type": "SubscriptionValidation"}
    async with http.post(f"{url}?functionName=on_event", json=validation, headers=headers) as r:
        assert (r.status, await r.json()) == (200, {"validationResponse": "abc-123"})
    assert len(toy_app.EVENTS) == before + 2


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
