"""The error bodies ACS answers with: the common ErrorResponse and the SMS API's ProblemDetails."""

from __future__ import annotations

import secrets

from aiohttp import web


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, *, error_header: bool = True
) -> web.Response:
    """The ACS error body (common-types ErrorResponse), with or without the x-ms-error-code header."""
    # The Email spec documents x-ms-error-code; the SMS recordings' error answers carry none.
    hdrs = {"x-ms-error-code": code} if error_header else {}
    hdrs.update(headers or {})
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=hdrs)


def problem_details(errors: dict[str, list[str]]) -> web.Response:
    """The SMS API's whole-request 400: ASP.NET Core validation ProblemDetails.

    Source: the 400 body quoted in Azure-Samples/communication-services-dotnet-quickstarts#49
    (``{"SmsRecipients": ["Max of 100 phone are allowed in the To field."]}`` under ``errors``).
    """
    body = {
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return web.json_response(body, status=400, content_type="application/json")


def outage_response() -> web.Response:
    """What ACS answers while it refuses work: 503, nothing processed, Retry-After 1."""
    return error_response(
        503, "ServiceUnavailable", "The service is temporarily unavailable.", {"Retry-After": "1"}, error_header=False
    )
