"""HMAC authentication as ACS verifies it, error answers, and requests held open without an answer."""

from __future__ import annotations

import asyncio
import socket
import struct

from aiohttp import web

from .auth import verify_hmac
from .errors import error_response
from .state import RECORD_KEY, STATE_KEY, RequestRecord, now_iso

# How often held-open handlers look for a client disconnect or emulator shutdown.
POLL_SECONDS = 0.05


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
