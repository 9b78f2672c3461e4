"""POST /sms: the ACS SMS send API (2021-03-07, 2024-02-05) with repeatability and scripted faults."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .common import answer, apply_latency, authenticated_body, drop_connection, hang, pause
from .errors import error_response, outage_response, problem_details
from .events import schedule_sms_report
from .repeatability import IN_PROGRESS, claim, first_sent_problem, release
from .senders import sms_sender_refusal
from .sms_faults import SMS_ACCEPT_HANG, SMS_ITEM_503_ONCE, SMS_REFUSE, SMS_SLOW, request_fault
from .state import RECORD_KEY, STATE_KEY, EmulatorState, JSONDict, SmsMessage, now_iso

SMS_API_VERSIONS = frozenset({"2021-03-07", "2024-02-05"})
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# The recorded item answer for a malformed `to` (test_send_sms_fake_to_phone_number recording).
INVALID_TO = "Invalid To phone number format."
_REFUSAL_CODES = {409: "Conflict", 412: "PreconditionFailed"}


def _validate(payload: Any, api_version: str) -> dict[str, list[str]] | None:
    """ProblemDetails ``errors`` for a body ACS would refuse as a whole, or None."""
    if not isinstance(payload, dict):
        return {"$": ["The request body must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    if not isinstance(payload.get("from"), str) or not payload["from"]:
        errors["From"] = ["The From field is required."]
    message = payload.get("message")
    if not isinstance(message, str):
        errors["Message"] = ["The Message field is required."]
    elif len(message) > 2048:
        errors["Message"] = ["The field Message must be a string with a maximum length of 2048."]
    recipients = payload.get("smsRecipients")
    if not isinstance(recipients, list) or not recipients:
        errors["SmsRecipients"] = ["The SmsRecipients field is required."]
    elif len(recipients) > 100:
        errors["SmsRecipients"] = ["Max of 100 phone are allowed in the To field."]
    elif not all(isinstance(r, dict) and isinstance(r.get("to"), str) for r in recipients):
        errors["SmsRecipients"] = ["Every recipient needs a 'to'."]
    options = payload.get("smsSendOptions")
    if options is not None and not isinstance(options, dict):
        errors["SmsSendOptions"] = ["The SmsSendOptions field must be an object."]
    elif isinstance(options, dict):
        errors.update(_validate_options(options, api_version))
    return errors or None


def _validate_options(options: JSONDict, api_version: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if "enableDeliveryReport" in options and not isinstance(options["enableDeliveryReport"], bool):
        errors["SmsSendOptions.EnableDeliveryReport"] = ["The EnableDeliveryReport field must be a boolean."]
    if options.get("tag") is not None and not isinstance(options["tag"], str):
        errors["SmsSendOptions.Tag"] = ["The Tag field must be a string."]
    validity = options.get("validityPeriodSeconds")
    if validity is not None:
        # bool is an int subclass in Python, but not an integer in JSON.
        if api_version != "2024-02-05":
            errors["SmsSendOptions.ValidityPeriodSeconds"] = [f"Not supported by api-version {api_version}."]
        elif not isinstance(validity, int) or isinstance(validity, bool) or not 60 <= validity <= 43200:
            errors["SmsSendOptions.ValidityPeriodSeconds"] = ["Must be an integer between 60 and 43200."]
    return errors


def _failed(to: str, status: int, message: str, repeatability: str | None = None) -> JSONDict:
    item: JSONDict = {"to": to, "httpStatusCode": status, "errorMessage": message, "successful": False}
    if repeatability:
        item["repeatabilityResult"] = repeatability
    return item


def _refusals(state: EmulatorState, recipients: list[JSONDict]) -> dict[int, tuple[int, str]]:
    """Recipient index -> (status, message) for repeats ACS refuses; claims the others' ids (no await)."""
    refused: dict[int, tuple[int, str]] = {}
    for index, recipient in enumerate(recipients):
        request_id, first_sent = recipient.get("repeatabilityRequestId"), recipient.get("repeatabilityFirstSent")
        if request_id is None and first_sent is None:
            continue
        problem = first_sent_problem(state, request_id, first_sent)
        if problem is None and not claim(state, str(request_id)):
            problem = (409, IN_PROGRESS)
        if problem is not None:
            refused[index] = problem
    return refused


def _process_recipient(
    state: EmulatorState, recipient: JSONDict, payload: JSONDict, api_version: str
) -> tuple[JSONDict, bool]:
    """One recipient's item and whether it was delivered now; synchronous, so lookup and insert are atomic."""
    to: str = recipient["to"]
    request_id: str | None = recipient.get("repeatabilityRequestId")
    if not E164.match(to) or to == SMS_REFUSE:
        return _failed(to, 400, INVALID_TO), False  # as recorded: no repeatabilityResult on this item
    original = state.sms_results.get(request_id or "")
    if original is not None:
        return dict(original), False  # a repeat: the original answer, no second delivery
    if to == SMS_ITEM_503_ONCE and state.bump(SMS_ITEM_503_ONCE, request_id) == 1:
        return _failed(to, 503, "Transient failure, retry with the same repeatabilityRequestId."), False
    options = payload.get("smsSendOptions") or {}
    message = SmsMessage(
        # Outgoing_<yyyyMMddHHmmss><uuid>, as in the SMS Event Grid and log examples.
        message_id=f"Outgoing_{datetime.now(UTC):%Y%m%d%H%M%S}{uuid.uuid4()}",
        sender=payload["from"],
        to=to,
        message=payload["message"],
        validity_period_seconds=options.get("validityPeriodSeconds"),
        repeatability_request_id=request_id,
        repeatability_first_sent=recipient.get("repeatabilityFirstSent"),
        api_version=api_version,
        received_at=now_iso(),
    )
    state.sms_inbox.append(message)
    item: JSONDict = {"to": to, "messageId": message.message_id, "httpStatusCode": 202}
    if request_id:
        item["repeatabilityResult"] = "accepted"
    item["successful"] = True
    if request_id:
        state.sms_results[request_id] = dict(item)
    if options.get("enableDeliveryReport") is True:
        schedule_sms_report(state, message, options.get("tag"))
    return item, True


async def handle_sms(request: web.Request) -> web.StreamResponse:
    """POST /sms."""
    state = request.app[STATE_KEY]
    body = await authenticated_body(request, "sms")
    if isinstance(body, web.Response):
        return body
    record = request[RECORD_KEY]
    api_version = request.query.get("api-version", "")
    if api_version not in SMS_API_VERSIONS:
        unsupported = f"The HTTP resource does not support the API version '{api_version}'."
        headers = {"api-supported-versions": ", ".join(sorted(SMS_API_VERSIONS))}
        return answer(request, error_response(400, "UnsupportedApiVersion", unsupported, headers, error_header=False))
    try:
        payload = json.loads(body)
    except ValueError:
        return answer(request, problem_details({"$": ["The request body is not valid JSON."]}))
    errors = _validate(payload, api_version)
    if errors is not None:
        return answer(request, problem_details(errors))
    recipients: list[JSONDict] = payload["smsRecipients"]
    record.to = [r["to"] for r in recipients]  # logged for refused requests too
    refused_sender = sms_sender_refusal(state.options.senders, payload["from"])
    if refused_sender is not None:
        return answer(request, refused_sender)
    record.repeatability_request_id = recipients[0].get("repeatabilityRequestId")
    refused = _refusals(state, recipients)
    claimed = [
        str(r["repeatabilityRequestId"])
        for i, r in enumerate(recipients)
        if i not in refused and r.get("repeatabilityRequestId")
    ]
    try:
        return await _send(request, state, payload, api_version, refused, claimed)
    finally:
        release(state, claimed)


async def _send(
    request: web.Request,
    state: EmulatorState,
    payload: JSONDict,
    api_version: str,
    refused: dict[int, tuple[int, str]],
    claimed: list[str],
) -> web.StreamResponse:
    recipients: list[JSONDict] = payload["smsRecipients"]
    whole = [status_message for status_message in refused.values() if status_message[0] in _REFUSAL_CODES]
    if whole and state.options.sms_repeat_refusal == "request":
        status, message = whole[0]
        return answer(request, error_response(status, _REFUSAL_CODES[status], message, error_header=False))
    if not await apply_latency(request):
        return drop_connection(request, reset=False)
    fault = outage_response() if state.outage else request_fault(state, recipients)
    if fault == "reset":
        return drop_connection(request, reset=True)
    if fault == "hang":
        return await hang(request)
    if isinstance(fault, web.Response):
        return answer(request, fault)
    # Slow = processed only after the delay; a client that gave up by then gets nothing delivered.
    if any(r["to"] == SMS_SLOW for r in recipients) and not await pause(request, state.options.timing.slow_seconds):
        return drop_connection(request, reset=False)

    # From here to the answer there is no await, so concurrent repeats cannot both deliver.
    items: list[JSONDict] = []
    fresh_accept_hang = False
    for index, recipient in enumerate(recipients):
        if index in refused:
            status, message = refused[index]
            items.append(_failed(recipient["to"], status, message, "rejected"))
            continue
        item, delivered = _process_recipient(state, recipient, payload, api_version)
        items.append(item)
        fresh_accept_hang = fresh_accept_hang or (delivered and recipient["to"] == SMS_ACCEPT_HANG)
    if fresh_accept_hang:
        release(state, claimed)  # processed: a repeat now gets the stored answer, not 409
        claimed.clear()  # so the caller's final release cannot drop a later request's claim
        return await hang(request)
    return answer(request, web.json_response({"value": items}, status=202))
