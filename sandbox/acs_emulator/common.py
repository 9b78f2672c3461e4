"""HMAC authentication as ACS verifies it, error answers, and requests held open without an answer."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import struct
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from aiohttp import web

from .state import RECORD_KEY, STATE_KEY, RequestRecord, now_iso

MAX_CLOCK_SKEW_SECONDS = 15 * 60
REQUIRED_SIGNED_HEADERS = frozenset({"x-ms-date", "host", "x-ms-content-sha256"})
# How often held-open handlers look for a client disconnect or emulator shutdown.
POLL_SECONDS = 0.05


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    # ACS error shape (common-types ErrorResponse) plus the x-ms-error-code header it documents.
    hdrs = {"x-ms-error-code": code, **(headers or {})}
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=hdrs)


# --------------------------------------------------------------------------- HMAC authentication


def _parse_authorization(value: str) -> tuple[list[str], str] | None:
    scheme, _, params = value.partition(" ")
    if scheme != "HMAC-SHA256":
        return None
    parts: dict[str, str] = {}
    for part in params.strip().split("&"):
        key, sep, val = part.partition("=")  # the base64 signature itself may contain "="
        if not sep:
            return None
        parts[key.strip().lower()] = val.strip()
    if "signedheaders" not in parts or "signature" not in parts:
        return None
    return parts["signedheaders"].lower().split(";"), parts["signature"]


def verify_hmac(request: web.Request, body: bytes, access_key: bytes) -> str | None:
    """Check the request the way ACS does; returns why it is refused, or None if it is valid."""
    auth = request.headers.get("Authorization")
    if not auth:
        return "Missing Authorization header."
    parsed = _parse_authorization(auth)
    if parsed is None:
        return "Authorization header is not 'HMAC-SHA256 SignedHeaders=...&Signature=...'."
    signed_headers, signature = parsed
    if not set(signed_headers) >= REQUIRED_SIGNED_HEADERS:
        return "SignedHeaders must include x-ms-date, host and x-ms-content-sha256."
    values: list[str] = []
    for name in signed_headers:
        value = request.headers.get(name)
        if value is None:
            return f"Signed header '{name}' is missing."
        values.append(value)

    try:
        sent_at = parsedate_to_datetime(request.headers["x-ms-date"])
    except (TypeError, ValueError):
        return "x-ms-date is not an RFC 1123 date."
    if sent_at.tzinfo is None:
        return "x-ms-date has no time zone."
    if abs((datetime.now(UTC) - sent_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        return "x-ms-date is more than 15 minutes away from the server time."

    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if not hmac.compare_digest(body_hash, request.headers["x-ms-content-sha256"]):
        return "x-ms-content-sha256 does not match the request body."

    # The SDKs sign the path+query as they build it; with decode_url=True (both the SMS and the
    # Email client) it is percent-decoded first, so accept the raw and the decoded form.
    signed_values = ";".join(values)
    for path_and_query in {request.raw_path, unquote(request.raw_path)}:
        string_to_sign = f"{request.method.upper()}\n{path_and_query}\n{signed_values}"
        digest = hmac.new(access_key, string_to_sign.encode(), hashlib.sha256).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode(), signature):
            return None
    return "Signature verification failed."


async def authenticated_body(request: web.Request, kind: str) -> bytes | web.Response:
    """Read the body and verify the signature (401 if invalid); logs the authenticated request."""
    state = request.app[STATE_KEY]
    body = await request.read()
    refusal = verify_hmac(request, body, state.access_key)
    if refusal is not None:
        return error_response(401, "Denied", f"Denied by the resource provider. {refusal}")
    record = RequestRecord(
        kind=kind,
        method=request.method,
        path=request.path,
        api_version=request.query.get("api-version"),
        received_at=now_iso(),
    )
    state.requests.append(record)
    request[RECORD_KEY] = record
    return body


def answer(request: web.Request, response: web.Response) -> web.Response:
    """Return response and note its status in the request log."""
    request[RECORD_KEY].status = response.status
    return response


# --------------------------------------------------------------------------- held-open requests


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def pause(request: web.Request, seconds: float) -> bool:
    """Sleep before answering; False if the client left (or the emulator is stopping) meanwhile.

    Polling the transport works whether or not the runner cancels handlers on disconnect.
    """
    state = request.app[STATE_KEY]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    state.pending += 1
    try:
        while True:
            if _client_gone(request) or state.stopping.is_set():
                return False
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            await asyncio.sleep(min(remaining, POLL_SECONDS))
    finally:
        state.pending -= 1


def drop_connection(request: web.Request, *, reset: bool) -> web.Response:
    """Close the connection without an HTTP answer; the returned response is never written."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        sock = transport.get_extra_info("socket")
        if reset and sock is not None:
            # SO_LINGER 0 turns close() into a TCP RST, i.e. "connection reset by peer".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    return web.Response(status=499)


async def hang(request: web.Request) -> web.Response:
    """Never answer: hold the request until the client disconnects or the emulator stops."""
    await pause(request, float("inf"))
    return drop_connection(request, reset=False)


async def apply_latency(request: web.Request) -> bool:
    """The benchmark latency from /_emulator/config; False if the client left meanwhile."""
    latency_ms = request.app[STATE_KEY].latency_ms
    return latency_ms <= 0 or await pause(request, latency_ms / 1000)
