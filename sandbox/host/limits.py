"""The request limits of the Functions host, so a client meets the same walls locally as in Azure.

The Functions host serves HTTP with Kestrel and keeps Kestrel's defaults (KestrelServerLimits)
except the body size, which it raises to 100 MB (ScriptConstants.DefaultMaxRequestBodySize):

* request headers must arrive within 30 s (RequestHeadersTimeout);
* the header block may hold at most 32 KiB (MaxRequestHeadersTotalSize) and 100 headers
  (MaxRequestHeaderCount), else 431; the request line at most 8 KiB (MaxRequestLineSize);
* once the body is being read it must arrive at 240 bytes/s or more, averaged, after a 5 s
  grace period (MinRequestBodyDataRate), else 408 and the connection is closed;
* bodies over 100 MB get 413;
* request bodies are not decompressed: a function gets the bytes as sent, Content-Encoding and all
  (Kestrel has no request decompression and the Functions host adds none).

Every figure is a field of HostLimits, so tests can use short timeouts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

KIB: Final = 1024
# aiohttp refuses a single header line or header count beyond these multiples with its own 400,
# before the 431 check below sees the request; they bound what one connection can make us buffer.
_ALLOWANCE: Final = 2


@dataclass(frozen=True)
class HostLimits:
    """Kestrel's limits as the Functions host sets them; every field can be changed for tests."""

    request_headers_timeout: float = 30.0
    max_request_headers_total_size: int = 32 * KIB
    max_request_header_count: int = 100
    max_request_line_size: int = 8 * KIB
    min_request_body_data_rate: float = 240.0
    min_request_body_grace: float = 5.0
    max_request_body_size: int = 100 * KIB * KIB

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for aiohttp's request handler (via ``web.AppRunner``)."""
        return {
            # aiohttp's keep-alive timer closes a connection that has not delivered a complete
            # request head within this time of opening or of the previous answer; trickling bytes
            # does not extend it. (Kestrel waits 130 s for the first byte of an idle connection.)
            "keepalive_timeout": self.request_headers_timeout,
            "max_line_size": self.max_request_line_size,
            "max_field_size": _ALLOWANCE * self.max_request_headers_total_size,
            "max_headers": _ALLOWANCE * self.max_request_header_count,
            # Kestrel does not decompress request bodies and the Functions host adds no middleware
            # that does: the function gets the bytes as sent, Content-Encoding and all.
            "auto_decompress": False,
        }


# What the Functions host applies in Azure.
AZURE_LIMITS: Final = HostLimits()
LIMITS_KEY: Final[web.AppKey[HostLimits]] = web.AppKey("host_limits")


def _headers_size(request: web.Request) -> int:
    # Kestrel counts each header line with its CRLF; aiohttp has stripped the ": " and CRLF.
    return sum(len(name) + len(value) + 4 for name, value in request.raw_headers)


@web.middleware
async def header_limits(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """431 and close for a header block over Kestrel's size or count, before any routing."""
    limits = request.app[LIMITS_KEY]
    too_many = len(request.raw_headers) > limits.max_request_header_count
    if too_many or _headers_size(request) > limits.max_request_headers_total_size:
        response = web.Response(status=431, text="Request Header Fields Too Large\n")
        response.force_close()
        return response
    return await handler(request)


class BodyTooSlow(Exception):
    """The body arrived slower than the minimum data rate after the grace period."""


async def read_body(request: web.Request, limits: HostLimits) -> bytes:
    """The whole body, enforcing the minimum data rate and the size limit as Kestrel does."""
    declared = request.content_length
    if declared is not None and declared > limits.max_request_body_size:
        raise web.HTTPRequestEntityTooLarge(max_size=limits.max_request_body_size, actual_size=declared)
    loop = asyncio.get_running_loop()
    started = loop.time()
    chunks: list[bytes] = []
    received = 0
    while True:
        # With `received` bytes in, the average rate falls below the minimum at this moment.
        deadline = started + max(limits.min_request_body_grace, received / limits.min_request_body_data_rate)
        try:
            async with asyncio.timeout_at(deadline):
                chunk = await request.content.readany()
        except TimeoutError:
            raise BodyTooSlow(f"{received} bytes in {loop.time() - started:.1f}s") from None
        if not chunk:
            return b"".join(chunks)
        received += len(chunk)
        if received > limits.max_request_body_size:
            raise web.HTTPRequestEntityTooLarge(max_size=limits.max_request_body_size, actual_size=received)
        chunks.append(chunk)


def body_too_slow() -> web.Response:
    """Kestrel's answer to a body below the minimum data rate: 408, then the connection closes."""
    response = web.Response(status=408, text="Request body arrived too slowly\n")
    response.force_close()
    return response
