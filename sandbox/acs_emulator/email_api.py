"""POST /emails:send and GET /emails/operations/{id}: the ACS Email long-running send operation."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from .common import (
    answer,
    apply_latency,
    authenticated_body,
    drop_connection,
    error_response,
    hang,
    pause,
)
from .state import RECORD_KEY, STATE_KEY, EmailMessage, EmailOperation, JSONDict, now_iso

# azure-communication-email 1.1.0 sends 2025-09-01; the older ones are still served by ACS.
EMAIL_API_VERSIONS = frozenset({"2023-03-31", "2024-07-01-preview", "2025-09-01"})
FAULT_EMAIL_DOMAIN = "faults.example.com"
# Magic local parts on FAULT_EMAIL_DOMAIN (see sandbox/README.md).
EMAIL_FAULTS = frozenset(
    {"reject", "503twice", "429once", "429always", "slow", "hang", "always503", "opfailed", "accepthang", "reset"}
)


def _addresses(recipients: JSONDict, kind: str) -> list[str] | None:
    entries = recipients.get(kind)
    if entries is None:
        return []
    if not isinstance(entries, list):
        return None
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            return None
        out.append(entry["address"])
    return out


def _parse(payload: Any) -> tuple[str, list[str], list[str], list[str], JSONDict] | str:
    """Returns (sender, to, cc, bcc, content) or what is wrong with the body."""
    if not isinstance(payload, dict):
        return "Body must be a JSON object."
    sender = payload.get("senderAddress")
    if not isinstance(sender, str) or "@" not in sender:
        return "'senderAddress' is required."
    recipients = payload.get("recipients")
    if not isinstance(recipients, dict):
        return "'recipients' is required."
    to, cc, bcc = (_addresses(recipients, kind) for kind in ("to", "cc", "bcc"))
    if to is None or cc is None or bcc is None:
        return "Every recipient needs an 'address'."
    if not to and not cc and not bcc:
        return "At least one recipient is required."
    content = payload.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("subject"), str):
        return "'content.subject' is required."
    for name in ("plainText", "html"):
        if content.get(name) is not None and not isinstance(content[name], str):
            return f"'content.{name}' must be a string."
    if not content.get("plainText") and not content.get("html"):
        return "'content.plainText' or 'content.html' is required."
    return sender, to, cc, bcc, content


def _faults(addresses: list[str]) -> set[str]:
    faults: set[str] = set()
    for address in addresses:
        local, _, domain = address.lower().rpartition("@")
        if domain == FAULT_EMAIL_DOMAIN and local in EMAIL_FAULTS:
            faults.add(local)
    return faults


def _accepted(request: web.Request, operation: EmailOperation) -> web.Response:
    state = request.app[STATE_KEY]
    api_version = request.query["api-version"]
    # Built from the Host the client used, so the SDK poller comes back to this emulator.
    location = f"{request.scheme}://{request.host}/emails/operations/{operation.id}?api-version={api_version}"
    headers = {
        "Operation-Location": location,
        "Retry-After": state.options.email_retry_after,
        "Operation-Id": operation.id,
    }
    body = operation.to_json(state.options.email_running_seconds)
    return answer(request, web.json_response(body, status=202, headers=headers))


def _bad_api_version(api_version: str) -> web.Response:
    return error_response(400, "InvalidApiVersion", f"Unsupported api-version '{api_version}'.")


async def handle_email_send(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "email")
    if isinstance(body, web.Response):
        return body
    record = request[RECORD_KEY]
    client_operation_id = request.headers.get("Operation-Id") or None
    record.operation_id = client_operation_id
    api_version = request.query.get("api-version", "")
    if api_version not in EMAIL_API_VERSIONS:
        return answer(request, _bad_api_version(api_version))
    try:
        payload = json.loads(body)
    except ValueError:
        return answer(request, error_response(400, "BadRequest", "Body is not valid JSON."))
    parsed = _parse(payload)
    if isinstance(parsed, str):
        return answer(request, error_response(400, "BadRequest", parsed))
    sender, to, cc, bcc, content = parsed
    record.to = [*to, *cc, *bcc]

    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    existing = state.email_operations.get(client_operation_id or "")
    if existing is not None:
        return _accepted(request, existing)  # a repeat never delivers twice

    faults = _faults(record.to)
    if "reset" in faults:
        return drop_connection(request, reset=True)
    if "hang" in faults:
        return await hang(request)
    if "always503" in faults or ("503twice" in faults and state.bump("503twice", client_operation_id) <= 2):
        unavailable = error_response(503, "ServiceUnavailable", "The service is temporarily unavailable.")
        return answer(request, unavailable)
    if "429once" in faults and state.bump("429once", client_operation_id) == 1:
        limited = error_response(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "1"})
        return answer(request, limited)
    if "429always" in faults:
        # No Retry-After: azure-core does not retry it, so the service's own backoff is what runs.
        return answer(request, error_response(429, "TooManyRequests", "Rate limit exceeded."))
    if "reject" in faults:
        # The code ACS returns at send time for an address it refuses outright.
        refused = error_response(400, "InvalidEmailAddress", "The recipient address is not valid.")
        return answer(request, refused)
    # Slow = processed only after the delay; a client that gave up by then gets nothing delivered.
    if "slow" in faults and not await pause(request, state.options.slow_seconds):
        return drop_connection(request, reset=False)

    # No await from this duplicate check to the insert: concurrent repeats deliver once.
    operation_id = client_operation_id or str(uuid.uuid4())
    existing = state.email_operations.get(operation_id)
    if existing is not None:
        return _accepted(request, existing)
    operation = EmailOperation(id=operation_id, started=time.monotonic(), fails="opfailed" in faults)
    state.email_operations[operation_id] = operation
    record.operation_id = operation_id
    state.email_inbox.append(
        EmailMessage(
            operation=operation,
            sender=sender,
            to=to,
            cc=cc,
            bcc=bcc,
            subject=content["subject"],
            plain_text=content.get("plainText"),
            html=content.get("html"),
            api_version=api_version,
            received_at=now_iso(),
        )
    )
    if "accepthang" in faults:
        return await hang(request)
    return _accepted(request, operation)


async def handle_email_status(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "email-status")
    if isinstance(body, web.Response):
        return body
    operation_id = request.match_info["operation_id"]
    request[RECORD_KEY].operation_id = operation_id
    api_version = request.query.get("api-version", "")
    if api_version not in EMAIL_API_VERSIONS:
        return answer(request, _bad_api_version(api_version))
    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    operation = state.email_operations.get(operation_id)
    if operation is None:
        return answer(request, error_response(404, "NotFound", f"Operation '{operation_id}' was not found."))
    status_body = operation.to_json(state.options.email_running_seconds)
    # Per the spec, retry-after is only present while the operation is not terminal.
    headers = {"Retry-After": state.options.email_retry_after} if status_body["status"] == "Running" else {}
    return answer(request, web.json_response(status_body, headers=headers))
