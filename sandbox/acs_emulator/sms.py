"""POST /sms: the ACS SMS send API (2021-03-07, 2024-02-05) with repeatability and scripted faults."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
from .state import RECORD_KEY, STATE_KEY, EmulatorState, JSONDict, SmsMessage, now_iso

SMS_API_VERSIONS = frozenset({"2021-03-07", "2024-02-05"})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Magic recipients: valid Norwegian mobile numbers, so the service's own validation lets them through.
SMS_REFUSE = "+4790000001"
SMS_503_TWICE = "+4790000002"
SMS_429_ONCE = "+4790000003"
SMS_SLOW = "+4790000004"
SMS_HANG = "+4790000005"
SMS_ALWAYS_503 = "+4790000006"
SMS_ITEM_503_ONCE = "+4790000007"
SMS_ACCEPT_HANG = "+4790000008"
SMS_429_NO_RETRY_AFTER = "+4790000009"
SMS_RESET = "+4790000010"


def _validate(payload: Any, api_version: str) -> str | None:
    if not isinstance(payload, dict):
        return "Body must be a JSON object."
    sender = payload.get("from")
    if not isinstance(sender, str) or not sender:
        return "'from' is required."
    message = payload.get("message")
    if not isinstance(message, str):
        return "'message' is required."
    if len(message) > 2048:
        return "'message' is longer than 2048 characters."
    recipients = payload.get("smsRecipients")
    if not isinstance(recipients, list) or not 1 <= len(recipients) <= 100:
        return "'smsRecipients' must hold 1 to 100 recipients."
    for recipient in recipients:
        if not isinstance(recipient, dict) or not isinstance(recipient.get("to"), str):
            return "Every recipient needs a 'to'."
        for name in ("repeatabilityRequestId", "repeatabilityFirstSent"):
            if recipient.get(name) is not None and not isinstance(recipient[name], str):
                return f"'{name}' must be a string."
    options = payload.get("smsSendOptions")
    if options is None:
        return None
    if not isinstance(options, dict):
        return "'smsSendOptions' must be an object."
    if "enableDeliveryReport" in options and not isinstance(options["enableDeliveryReport"], bool):
        return "'enableDeliveryReport' must be a boolean."
    if options.get("tag") is not None and not isinstance(options["tag"], str):
        return "'tag' must be a string."
    validity = options.get("validityPeriodSeconds")
    if validity is not None:
        if api_version != "2024-02-05":
            return f"'validityPeriodSeconds' is not supported by api-version {api_version}."
        # bool is an int subclass in Python, but not an integer in JSON.
        if not isinstance(validity, int) or isinstance(validity, bool) or not 60 <= validity <= 43200:
            return "'validityPeriodSeconds' must be an integer between 60 and 43200."
    return None


def _failed(to: str, status: int, message: str, repeatability: str | None = None) -> JSONDict:
    item: JSONDict = {"to": to, "httpStatusCode": status, "successful": False, "errorMessage": message}
    if repeatability:
        item["repeatabilityResult"] = repeatability
    return item


def _repeatability_problem(state: EmulatorState, request_id: str | None, first_sent: str | None) -> str | None:
    if not request_id or not first_sent:
        return "repeatabilityRequestId and repeatabilityFirstSent go together."
    try:
        first = parsedate_to_datetime(first_sent)
    except (TypeError, ValueError):
        return "repeatabilityFirstSent is not an RFC 1123 date."
    if first.tzinfo is None:
        return "repeatabilityFirstSent has no time zone."
    if (datetime.now(UTC) - first).total_seconds() > state.options.repeatability_window_seconds:
        return "repeatabilityFirstSent is outside the repeatability window."
    return None


def _process_recipient(
    state: EmulatorState, recipient: JSONDict, payload: JSONDict, api_version: str
) -> tuple[JSONDict, bool]:
    """One recipient, synchronously (no await: the repeatability check and insert are atomic).

    Returns the response item and whether it was a fresh delivery to the accept-then-hang number.
    """
    to: str = recipient["to"]
    request_id: str | None = recipient.get("repeatabilityRequestId")
    first_sent: str | None = recipient.get("repeatabilityFirstSent")

    if not E164.match(to):
        return _failed(to, 400, "Invalid recipient"), False
    if request_id is not None or first_sent is not None:
        problem = _repeatability_problem(state, request_id, first_sent)
        if problem is not None:
            return _failed(to, 400, problem, "rejected"), False
        original = state.sms_results.get(request_id or "")
        if original is not None:
            return dict(original), False  # a repeat: the original answer, no second delivery

    if to == SMS_REFUSE:
        return _failed(to, 400, "Invalid recipient"), False
    if to == SMS_ITEM_503_ONCE and state.bump(SMS_ITEM_503_ONCE, request_id) == 1:
        return _failed(to, 503, "Transient failure, retry with the same repeatabilityRequestId."), False

    options = payload.get("smsSendOptions") or {}
    message = SmsMessage(
        message_id=f"Outgoing_{datetime.now(UTC):%Y%m%d%H%M%S}{uuid.uuid4().hex[:16]}_emulator",
        sender=payload["from"],
        to=to,
        message=payload["message"],
        validity_period_seconds=options.get("validityPeriodSeconds"),
        repeatability_request_id=request_id,
        repeatability_first_sent=first_sent,
        api_version=api_version,
        received_at=now_iso(),
    )
    state.sms_inbox.append(message)
    item: JSONDict = {"to": to, "messageId": message.message_id, "httpStatusCode": 202, "successful": True}
    if request_id:
        item["repeatabilityResult"] = "accepted"
        state.sms_results[request_id] = dict(item)
    return item, to == SMS_ACCEPT_HANG


def _request_fault(state: EmulatorState, recipients: list[JSONDict]) -> web.Response | str | None:
    """Whole-request faults: an error response, "reset" or "hang" (no answer), or None."""
    ids = {r["to"]: r.get("repeatabilityRequestId") for r in recipients}
    if SMS_RESET in ids:
        return "reset"
    if SMS_HANG in ids:
        return "hang"
    if SMS_ALWAYS_503 in ids or (SMS_503_TWICE in ids and state.bump(SMS_503_TWICE, ids[SMS_503_TWICE]) <= 2):
        return error_response(503, "ServiceUnavailable", "The service is temporarily unavailable.")
    if SMS_429_NO_RETRY_AFTER in ids:
        return error_response(429, "TooManyRequests", "Rate limit exceeded.")
    if SMS_429_ONCE in ids and state.bump(SMS_429_ONCE, ids[SMS_429_ONCE]) == 1:
        return error_response(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "1"})
    return None


async def handle_sms(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "sms")
    if isinstance(body, web.Response):
        return body
    record = request[RECORD_KEY]
    api_version = request.query.get("api-version", "")
    if api_version not in SMS_API_VERSIONS:
        unsupported = f"Unsupported api-version '{api_version}'."
        return answer(request, error_response(400, "InvalidApiVersion", unsupported))
    try:
        payload = json.loads(body)
    except ValueError:
        return answer(request, error_response(400, "BadRequest", "Body is not valid JSON."))
    problem = _validate(payload, api_version)
    if problem is not None:
        return answer(request, error_response(400, "BadRequest", problem))
    recipients: list[JSONDict] = payload["smsRecipients"]
    record.to = [r["to"] for r in recipients]
    record.repeatability_request_id = recipients[0].get("repeatabilityRequestId")

    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    fault = _request_fault(state, recipients)
    if fault == "reset":
        return drop_connection(request, reset=True)
    if fault == "hang":
        return await hang(request)
    if isinstance(fault, web.Response):
        return answer(request, fault)
    # Slow = processed only after the delay; a client that gave up by then gets nothing delivered.
    if any(r["to"] == SMS_SLOW for r in recipients) and not await pause(request, state.options.slow_seconds):
        return drop_connection(request, reset=False)

    # From here to the answer there is no await, so concurrent repeats cannot both deliver.
    items: list[JSONDict] = []
    hang_after = False
    for recipient in recipients:
        item, fresh_accept_hang = _process_recipient(state, recipient, payload, api_version)
        items.append(item)
        hang_after = hang_after or fresh_accept_hang
    if hang_after:
        return await hang(request)
    return answer(request, web.json_response({"value": items}, status=202))
