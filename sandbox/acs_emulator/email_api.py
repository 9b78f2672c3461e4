"""POST /emails:send and GET /emails/operations/{id}: the ACS Email long-running send operation."""

from __future__ import annotations

import json
import time
import uuid

from aiohttp import web

from .common import answer, apply_latency, authenticated_body, drop_connection, hang, pause
from .email_faults import NOT_STARTED, OUTCOMES, email_faults, parse_email
from .errors import error_response, outage_response
from .events import schedule_email_report
from .repeatability import IN_PROGRESS, claim, first_sent_problem, is_uuid, release
from .senders import email_sender_refusal
from .state import (
    RECORD_KEY,
    STATE_KEY,
    TERMINAL_EMAIL_STATUSES,
    EmailMessage,
    EmailOperation,
    EmulatorState,
    JSONDict,
    now_iso,
)

# azure-communication-email 1.1.0 sends 2025-09-01; the older ones are still served by ACS.
EMAIL_API_VERSIONS = frozenset({"2023-03-31", "2024-07-01-preview", "2025-09-01"})


def _with_retry_after(state: EmulatorState, operation: EmailOperation, headers: dict[str, str]) -> dict[str, str]:
    # Per the spec (and the recordings), Retry-After only while the status is not terminal.
    if operation.status() not in TERMINAL_EMAIL_STATUSES:
        headers["Retry-After"] = state.options.timing.email_retry_after
    return headers


def _accepted(request: web.Request, operation: EmailOperation) -> web.Response:
    state = request.app[STATE_KEY]
    api_version = request.query["api-version"]
    # Built from the Host the client used, so the SDK poller comes back to this emulator.
    location = f"{request.scheme}://{request.host}/emails/operations/{operation.id}?api-version={api_version}"
    headers = _with_retry_after(state, operation, {"Operation-Location": location})
    return answer(request, web.json_response(operation.to_json(), status=202, headers=headers))


def _bad_request(message: str, code: str = "BadRequest") -> web.Response:
    return error_response(400, code, message)


def _repeat_key(request: web.Request, state: EmulatorState) -> str | web.Response | None:
    """The documented Repeatability-* header form: its key, a refusal (400/412), or None if absent."""
    request_id = request.headers.get("Repeatability-Request-Id")
    first_sent = request.headers.get("Repeatability-First-Sent")
    if request_id is None and first_sent is None:
        return None
    problem = first_sent_problem(state, request_id, first_sent)
    if problem is not None:
        code = "PreconditionFailed" if problem[0] == 412 else "BadRequest"
        return error_response(problem[0], code, problem[1])
    return f"repeatability:{str(request_id).lower()}"


async def handle_email_send(request: web.Request) -> web.StreamResponse:
    """POST /emails:send."""
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "email")
    if isinstance(body, web.Response):
        return body
    record = request[RECORD_KEY]
    client_operation_id = request.headers.get("Operation-Id") or None
    record.operation_id = client_operation_id
    api_version = request.query.get("api-version", "")
    if api_version not in EMAIL_API_VERSIONS:
        return answer(request, _bad_request(f"Unsupported api-version '{api_version}'.", "UnsupportedApiVersion"))
    if client_operation_id is not None and not is_uuid(client_operation_id):
        return answer(request, _bad_request("Operation-Id must be a UUID."))
    try:
        parsed = parse_email(json.loads(body))
    except ValueError:
        parsed = "Body is not valid JSON."
    if isinstance(parsed, str):
        return answer(request, _bad_request(parsed))
    _, to, cc, bcc, _ = parsed
    record.to = [*to, *cc, *bcc]  # logged for refused requests too
    refused_sender = email_sender_refusal(state.options.senders, parsed[0])
    if refused_sender is not None:
        return answer(request, refused_sender)
    repeat_key = _repeat_key(request, state)
    if isinstance(repeat_key, web.Response):
        return answer(request, repeat_key)
    keys = [k for k in (client_operation_id and client_operation_id.lower(), repeat_key) if k]
    claimed: list[str] = []
    for key in keys:
        if not claim(state, key):
            release(state, claimed)
            return answer(request, error_response(409, "Conflict", IN_PROGRESS))
        claimed.append(key)
    try:
        return await _send(request, state, parsed, client_operation_id, repeat_key, claimed)
    finally:
        release(state, claimed)


async def _send(
    request: web.Request,
    state: EmulatorState,
    parsed: tuple[str, list[str], list[str], list[str], JSONDict],
    client_operation_id: str | None,
    repeat_key: str | None,
    claimed: list[str],
) -> web.StreamResponse:
    sender, to, cc, bcc, content = parsed
    record = request[RECORD_KEY]
    record.to = [*to, *cc, *bcc]
    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    if state.outage:
        return answer(request, outage_response())
    existing = _existing(state, client_operation_id, repeat_key)
    if existing is not None:
        return _accepted(request, existing)  # a repeat never delivers twice

    faults = email_faults(record.to)
    timing = state.options.timing
    if "reset" in faults:
        return drop_connection(request, reset=True)
    if "hang" in faults:
        return await hang(request)
    if "always503" in faults or ("503twice" in faults and state.bump("503twice", client_operation_id) <= 2):
        return answer(request, error_response(503, "ServiceUnavailable", "The service is temporarily unavailable."))
    if "429once" in faults and state.bump("429once", client_operation_id) == 1:
        return answer(request, error_response(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "1"}))
    if "429always" in faults:
        # No Retry-After: azure-core does not retry it, so the service's own backoff is what runs.
        return answer(request, error_response(429, "TooManyRequests", "Rate limit exceeded."))
    if "reject" in faults:
        # The code ACS returns at send time for an address it refuses outright.
        return answer(request, _bad_request("The recipient address is not valid.", "InvalidEmailAddress"))
    # Slow = processed only after the delay; a client that gave up by then gets nothing delivered.
    if "slow" in faults and not await pause(request, timing.slow_seconds):
        return drop_connection(request, reset=False)

    # No await from this duplicate check to the insert: concurrent repeats deliver once.
    existing = _existing(state, client_operation_id, repeat_key)
    if existing is not None:
        return _accepted(request, existing)
    operation = _new_operation(state, client_operation_id or str(uuid.uuid4()), faults)
    if repeat_key is not None:
        state.email_repeats[repeat_key] = operation.id
    record.operation_id = operation.id
    message = EmailMessage(
        operation=operation,
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        subject=str(content["subject"]),
        plain_text=content.get("plainText"),
        html=content.get("html"),
        api_version=request.query["api-version"],
        received_at=now_iso(),
    )
    state.email_inbox.append(message)
    schedule_email_report(state, message, faults)
    if "accepthang" in faults:
        release(state, claimed)  # processed: a repeat now gets the operation, not 409
        claimed.clear()  # so the caller's final release cannot drop a later request's claim
        return await hang(request)
    return _accepted(request, operation)


def _existing(state: EmulatorState, operation_id: str | None, repeat_key: str | None) -> EmailOperation | None:
    if operation_id is not None and operation_id in state.email_operations:
        return state.email_operations[operation_id]
    repeated = state.email_repeats.get(repeat_key or "")
    return state.email_operations.get(repeated) if repeated else None


def _new_operation(state: EmulatorState, operation_id: str, faults: set[str]) -> EmailOperation:
    running = state.options.timing.running_seconds(operation_id)
    outcome, error = next((OUTCOMES[f] for f in sorted(faults) if f in OUTCOMES), ("Succeeded", None))
    operation = EmailOperation(
        id=operation_id,
        started=time.monotonic(),
        running_seconds=running,
        outcome=outcome,
        error=error,
        not_started_seconds=running / 2 if NOT_STARTED in faults else 0.0,
    )
    state.email_operations[operation_id] = operation
    return operation


async def handle_email_status(request: web.Request) -> web.StreamResponse:
    """GET /emails/operations/{operation_id}."""
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "email-status")
    if isinstance(body, web.Response):
        return body
    operation_id = request.match_info["operation_id"]
    request[RECORD_KEY].operation_id = operation_id
    api_version = request.query.get("api-version", "")
    if api_version not in EMAIL_API_VERSIONS:
        return answer(request, _bad_request(f"Unsupported api-version '{api_version}'.", "UnsupportedApiVersion"))
    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    operation = state.email_operations.get(operation_id)
    if operation is None:
        return answer(request, error_response(404, "NotFound", f"Operation '{operation_id}' was not found."))
    headers = _with_retry_after(state, operation, {})
    return answer(request, web.json_response(operation.to_json(), headers=headers))
