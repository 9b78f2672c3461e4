"""Magic SMS recipients: valid Norwegian mobile numbers that script a fault (see sandbox/README.md)."""

from __future__ import annotations

from aiohttp import web

from .errors import error_response
from .state import EmulatorState, JSONDict

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
# Delivery-report kinds (only with a webhook URL): the report says Failed / Expired.
SMS_REPORT_FAILED = "+4790000011"
SMS_REPORT_EXPIRED = "+4790000012"


def request_fault(state: EmulatorState, recipients: list[JSONDict]) -> web.Response | str | None:
    """Whole-request faults: an error response, "reset" or "hang" (no answer), or None."""
    ids = {r["to"]: r.get("repeatabilityRequestId") for r in recipients}
    if SMS_RESET in ids:
        return "reset"
    if SMS_HANG in ids:
        return "hang"
    if SMS_ALWAYS_503 in ids or (SMS_503_TWICE in ids and state.bump(SMS_503_TWICE, ids[SMS_503_TWICE]) <= 2):
        return error_response(503, "ServiceUnavailable", "The service is temporarily unavailable.", error_header=False)
    if SMS_429_NO_RETRY_AFTER in ids:
        return error_response(429, "TooManyRequests", "Rate limit exceeded.", error_header=False)
    if SMS_429_ONCE in ids and state.bump(SMS_429_ONCE, ids[SMS_429_ONCE]) == 1:
        return error_response(429, "TooManyRequests", "Rate limit exceeded.", {"Retry-After": "1"}, error_header=False)
    return None
