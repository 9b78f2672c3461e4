"""HMAC-SHA256 access-key authentication, checked as strictly as ACS checks it.

What is signed (ACS "Sign an HTTP request" tutorial, MicrosoftDocs/azure-docs
articles/communication-services/tutorials/includes/hmac-header-*.md; the SDKs'
``_shared/policy.py``): ``VERB\\n<path?query>\\n<x-ms-date>;<host>;<x-ms-content-sha256>`` with the
base64-decoded key, announced as exactly ``SignedHeaders=x-ms-date;host;x-ms-content-sha256``.

Path and query are taken exactly as they arrived on the request line, never a decoded variant.
The SMS and Email SDKs sign ``unquote(path?query)`` (``decode_url=True``); for every URL they build
(``/sms?api-version=...``, ``/emails:send?api-version=...``, ``/emails/operations/<uuid>?...``) there
is nothing percent-encoded, so the decoded and the sent form are the same string and the SDKs pass.
A request whose URL does carry escapes and was signed over the decoded form is refused, as the
tutorial's server-side form (.NET ``Uri.PathAndQuery``, which keeps escapes) would refuse it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from aiohttp import web

MAX_CLOCK_SKEW_SECONDS = 15 * 60
SIGNED_HEADERS = ("x-ms-date", "host", "x-ms-content-sha256")
_PREFIX = "HMAC-SHA256 "


def _parse_authorization(value: str) -> tuple[list[str], str] | str:
    """(signed header names, signature) or why the header is malformed."""
    if not value.startswith(_PREFIX):
        return "Authorization header is not 'HMAC-SHA256 SignedHeaders=...&Signature=...'."
    parts = value[len(_PREFIX) :].split("&")
    names = [part.partition("=")[0] for part in parts]
    if names != ["SignedHeaders", "Signature"]:
        return "Authorization must be exactly 'SignedHeaders=...&Signature=...'."
    signed_headers = parts[0].partition("=")[2].lower().split(";")
    signature = parts[1].partition("=")[2]  # the base64 signature itself may end in "="
    try:
        base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "Signature is not base64."
    return signed_headers, signature


def _date_problem(value: str) -> str | None:
    try:
        sent_at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return "x-ms-date is not an RFC 1123 date."
    if sent_at.tzinfo is None:
        return "x-ms-date has no time zone."
    if abs((datetime.now(UTC) - sent_at).total_seconds()) > MAX_CLOCK_SKEW_SECONDS:
        return "x-ms-date is more than 15 minutes away from the server time."
    return None


def verify_hmac(request: web.Request, body: bytes, access_key: bytes) -> str | None:
    """Why ACS would refuse this request's signature, or None if it is valid."""
    auth = request.headers.get("Authorization")
    if not auth:
        return "Missing Authorization header."
    parsed = _parse_authorization(auth)
    if isinstance(parsed, str):
        return parsed
    signed_headers, signature = parsed
    if tuple(signed_headers) != SIGNED_HEADERS:
        return "SignedHeaders must be exactly x-ms-date;host;x-ms-content-sha256."
    values = [request.headers.get(name) for name in SIGNED_HEADERS]
    if any(value is None for value in values):
        return "A signed header is missing."
    x_ms_date, host, content_hash = (str(value) for value in values)
    date_problem = _date_problem(x_ms_date)
    if date_problem is not None:
        return date_problem
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if not hmac.compare_digest(body_hash, content_hash):
        return "x-ms-content-sha256 does not match the request body."
    string_to_sign = f"{request.method.upper()}\n{request.raw_path}\n{x_ms_date};{host};{content_hash}"
    expected = base64.b64encode(hmac.new(access_key, string_to_sign.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, signature):
        return "Signature verification failed."
    return None
