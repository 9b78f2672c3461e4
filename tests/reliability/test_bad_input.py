"""6b. Bad input over real HTTP: bodies and headers no generator would send.

Promise: no 5xx, and every error the app gives is application/problem+json with a ``code``
(an answer that the HTTP server gives before the app sees the request, such as 400 for a NUL
byte in a header, is the host's, as it would be Kestrel's under the Functions host).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.reliability import new_key, new_phone, passcode_body, sms_payload
from tests.support.reliability_clients import Client, Reply

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def valid_json() -> dict[str, Any]:
    return sms_payload(new_key("bad"), new_phone())


def assert_problem(reply: Reply, status: int, code: str) -> None:
    assert (reply.status, reply.code) == (status, code), reply.body[:300]
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    problem = reply.json()
    assert {"type", "title", "status", "detail", "code"} <= set(problem)
    assert problem["status"] == status


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


BODIES: list[tuple[str, bytes, int, str]] = [
    ("empty body", b"", 400, "malformed_json"),
    ("whitespace only", b"   \n ", 400, "malformed_json"),
    ("invalid UTF-8", b'{"idempotencyId": "\xff\xfe"}', 400, "malformed_json"),
    ("UTF-8 with BOM", b"\xef\xbb\xbf" + json.dumps(valid_json()).encode(), 400, "malformed_json"),
    ("a JSON array", b"[]", 400, "malformed_json"),
    ("a JSON string", b'"x"', 400, "malformed_json"),
    ("null", b"null", 400, "malformed_json"),
    ("truncated", json.dumps(valid_json()).encode()[:-3], 400, "malformed_json"),
    ("deeply nested (100000)", nested(100_000).encode(), 400, "malformed_json"),
    (
        "deeply nested in a field (100000)",
        b'{"idempotencyId": ' + nested(100_000).encode() + b"}",
        400,
        "malformed_json",
    ),
    ("nested in a field (500)", b'{"idempotencyId": ' + nested(500).encode() + b"}", 400, "validation_failed"),
    ("NaN", b'{"idempotencyId": NaN}', 400, "malformed_json"),
    ("Infinity", b'{"idempotencyId": -Infinity}', 400, "malformed_json"),
    ("duplicate keys", b'{"idempotencyId": "a", "idempotencyId": "b"}', 400, "malformed_json"),
]


def with_field(path: str, value: Any) -> bytes:
    """A valid SMS order with one field replaced by raw JSON text ``value``."""
    payload = valid_json()
    marker = "__REPLACED__"
    target: dict[str, Any] = payload
    *parents, leaf = path.split(".")
    for name in parents:
        target = target[name]
    target[leaf] = marker
    return json.dumps(payload).replace(json.dumps(marker), value).encode()


TTL, BODY = "recipientSms.timeToLiveInSeconds", "recipientSms.smsSettings.body"
FIELDS: list[tuple[str, bytes, int, str]] = [
    (
        "ttl 1e400 (a float that overflows)",
        with_field(TTL, "1e400"),
        400,
        "validation_failed",
    ),
    ("ttl with 5000 digits", with_field(TTL, "9" * 5000), 400, "malformed_json"),
    ("ttl with 4000 digits", with_field(TTL, "9" * 4000), 400, "validation_failed"),
    ("ttl 60.0", with_field(TTL, "60.0"), 400, "validation_failed"),
    ("ttl '60'", with_field(TTL, '"60"'), 400, "validation_failed"),
    ("ttl true", with_field(TTL, "true"), 400, "validation_failed"),
    ("ttl -1e-400", with_field(TTL, "-1e-400"), 400, "validation_failed"),
    ("body a lone surrogate", with_field(BODY, r'"code \ud800"'), 400, "validation_failed"),
    ("key a lone surrogate", with_field("idempotencyId", r'"\udfff"'), 400, "validation_failed"),
    ("sendersReference a lone surrogate", with_field("sendersReference", r'"\ud83d"'), 400, "validation_failed"),
    ("key with NUL", with_field("idempotencyId", r'"a\u0000b"'), 400, "validation_failed"),
    ("phone with NUL", with_field("recipientSms.phoneNumber", r'"+4798\u0000123456"'), 400, "validation_failed"),
    ("key of 256 characters", with_field("idempotencyId", json.dumps("k" * 256)), 400, "validation_failed"),
    (
        "body of 2049 characters",
        with_field(BODY, json.dumps("b" * 2049)),
        400,
        "validation_failed",
    ),
    (
        "names differing only in case",
        with_field("idempotencyId", '"a", "IdempotencyId": "b"'),
        400,
        "validation_failed",
    ),
    ("an unknown field", with_field("idempotencyId", '"a", "priority": "high"'), 400, "validation_failed"),
    ("an object for a string", with_field(BODY, '{"a": 1}'), 400, "validation_failed"),
]


@pytest.mark.parametrize(("name", "raw", "status", "code"), BODIES + FIELDS, ids=[c[0] for c in BODIES + FIELDS])
async def test_bad_body(client: Client, name: str, raw: bytes, status: int, code: str) -> None:
    assert_problem(await client.post("sms", None, raw=raw), status, code)


async def test_body_size_limit(client: Client) -> None:
    # exactly 1 MiB (a valid order padded with white space) is read; one byte more is refused
    order = json.dumps(valid_json()).encode()
    padded = order[:-1] + b" " * (MIB - len(order)) + b"}"
    assert len(padded) == MIB
    accepted = await client.post("sms", None, raw=padded)
    assert accepted.status == 201, accepted.body
    assert_problem(await client.post("sms", None, raw=padded + b" "), 413, "payload_too_large")
    # an email body of 512 KiB is allowed, one byte more is a validation error (not a 413)
    big = {"idempotencyId": new_key("big"), "recipientEmail": {"emailAddress": "big@example.com",
           "emailSettings": {"subject": "s", "body": "x" * (512 * 1024 + 1)}}}  # fmt: skip
    assert_problem(await client.post("email", big), 400, "validation_failed")


CONTENT_TYPES: list[tuple[str | None, int]] = [
    ("application/json", 201),
    ("Application/JSON", 201),
    ("application/json; charset=utf-8", 201),
    ("application/json;charset=UTF-8", 201),
    ('application/json; charset="utf-8"', 201),
    (None, 415),
    ("text/plain", 415),
    ("application/x-www-form-urlencoded", 415),
    ("multipart/form-data; boundary=x", 415),
    ("application/json; charset=latin-1", 415),
    ("application/jsonp", 415),
    ("application/problem+json", 415),
]


@pytest.mark.parametrize(("content_type", "status"), CONTENT_TYPES, ids=[str(c) for c, _ in CONTENT_TYPES])
async def test_content_type(client: Client, content_type: str | None, status: int) -> None:
    raw = json.dumps(valid_json()).encode()
    url = f"{client.app_url}/future/orders/instant/sms"
    headers = {"X-Caller-Id": "rel-caller"} | ({"Content-Type": content_type} if content_type else {})
    async with client.session.post(url, data=raw, headers=headers, skip_auto_headers=["Content-Type"]) as response:
        body = await response.read()
        assert response.status == status, body
        if status >= 400:
            assert response.headers["Content-Type"].startswith("application/problem+json")
            assert json.loads(body)["code"] == "unsupported_media_type"


# -- headers, byte for byte -------------------------------------------------------------------


@dataclass
class RawReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


async def raw_request(client: Client, head_lines: list[bytes], body: bytes) -> RawReply:
    """One request written byte for byte (aiohttp refuses to send broken headers)."""
    url = urlsplit(client.app_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    request = (
        b"POST " + (url.path + "/future/orders/instant/sms").encode() + b" HTTP/1.1\r\n"
        + b"Host: " + url.netloc.encode() + b"\r\n"
        + b"Content-Type: application/json\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        + b"Connection: close\r\n"
        + b"".join(line + b"\r\n" for line in head_lines)
        + b"\r\n" + body
    )  # fmt: skip
    writer.write(request)
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 30)
    writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(h.split(": ", 1)) for h in header_lines if ": " in h]
    return RawReply(int(status_line.split()[1]), headers, payload)  # type: ignore[arg-type]


CALLER_HEADERS: list[tuple[str, list[bytes], int]] = [
    ("CR LF then another header", [b"X-Caller-Id: alice\r\nX-Injected: yes"], 201),
    ("obsolete line folding", [b"X-Caller-Id: alice", b" X-Injected: yes"], 400),
    ("two caller headers", [b"X-Caller-Id: alice", b"X-Caller-Id: bob"], 403),
    ("a comma list", [b"X-Caller-Id: alice,bob"], 403),
    ("a space inside", [b"X-Caller-Id: al ice"], 403),
    ("UTF-8 letters", ["X-Caller-Id: ålice".encode()], 403),
    ("latin-1 byte", [b"X-Caller-Id: \xe5lice"], 403),
    ("65 characters", [b"X-Caller-Id: " + b"a" * 65], 403),
    ("empty", [b"X-Caller-Id: "], 403),
    ("a tab inside", [b"X-Caller-Id: al\tice"], 403),
    ("a NUL byte", [b"X-Caller-Id: alice\x00bob"], 400),
    ("a bare CR", [b"X-Caller-Id: alice\rX-Injected: yes"], 400),
    ("padding is not part of the value", [b"X-Caller-Id:    alice   "], 201),
    ("header name in other case", [b"x-caller-ID: alice"], 201),
]


@pytest.mark.parametrize(("name", "lines", "status"), CALLER_HEADERS, ids=[c[0] for c in CALLER_HEADERS])
async def test_caller_header_attacks(client: Client, name: str, lines: list[bytes], status: int) -> None:
    body = json.dumps(sms_payload(new_key("hdr"), new_phone(), body=passcode_body())).encode()
    reply = await raw_request(client, lines, body)
    assert reply.status == status, reply.body[:300]
    # nothing the caller sent comes back as a header of the answer
    assert reply.header("X-Injected") is None
    assert not any("alice" in value or "bob" in value for _, value in reply.headers)
    if reply.status == 403:
        assert (reply.header("Content-Type") or "").startswith("application/problem+json")
        problem = json.loads(reply.body)
        assert problem["code"] == "caller_missing"
        assert "alice" not in problem["detail"] and "bob" not in problem["detail"]
    if reply.status == 201:
        created = json.loads(reply.body)
        shipment_path = f"/future/shipment/{created['notification']['shipmentId']}"
        # the order is alice's: she can read it
        assert (await client.get(shipment_path, caller="alice")).status == 200
    if reply.status == 400:
        # refused by the HTTP server before the app: the app never saw the request
        assert not (reply.header("Content-Type") or "").startswith("application/problem+json")
