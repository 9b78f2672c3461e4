"""An aiohttp request as ``func.HttpRequest`` and a function's result as the answer, as the worker does."""

from __future__ import annotations

from typing import Any, Final

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict

# aiohttp computes these itself; passing a function's own copy through would corrupt framing.
_FRAMING_HEADERS: Final = frozenset({"content-length", "transfer-encoding", "connection"})


def _request_headers(request: web.Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        # Repeated headers reach a function comma-joined, as ASP.NET presents them.
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _query_params(request: web.Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.rel_url.query.items():
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def to_http_request(request: web.Request, route_params: dict[str, str], body: bytes) -> func.HttpRequest:
    """What the function's trigger parameter receives: URL, headers, query, route values, raw body."""
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=_request_headers(request),
        params=_query_params(request),
        route_params=route_params,
        body=body,
    )


def to_web_response(result: Any) -> web.Response:
    """The HttpResponse the function returned, as the Functions host would send it."""
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(body=result.encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(result, bytes | bytearray):
        return web.Response(body=bytes(result), headers={"Content-Type": "application/octet-stream"})
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"a function returned {type(result).__name__}, not azure.functions.HttpResponse")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in result.headers.items():  # werkzeug Headers: repeated names come out repeated
        if name.lower() not in _FRAMING_HEADERS:
            headers.add(name, value)
    if "Content-Type" not in headers:
        # Same rule as azure.functions.http.HttpResponseConverter.encode.
        mimetype, charset = str(result.mimetype), str(result.charset)
        text = mimetype.startswith("text/")
        headers["Content-Type"] = f"{mimetype}; charset={charset}" if text else mimetype
    return web.Response(status=int(result.status_code), headers=headers, body=result.get_body())


def failure(function_name: str) -> web.Response:
    """The Functions host's answer when a function raises: 500 with a plain line, no traceback."""
    return web.Response(
        status=500,
        text=f"Exception while executing function: Functions.{function_name}\n",
        content_type="text/plain",
    )
