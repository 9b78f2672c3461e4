"""Repeatable requests as ACS documents them, shared by the SMS body form and the email headers.

Source: "Repeatability of Requests" (azure-rest-api-specs docs-ref-conceptual/communication/
repeatable-requests.md): requests are tracked for 5 minutes; a first-sent time before that is
412 "Repeatability first sent header was not in 5 minutes window."; a malformed id or date is 400;
a repeat while the original request is still in progress is 409; otherwise a repeat gets the
original answer without executing again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from .state import EmulatorState

IN_PROGRESS = "The original request with this repeatability id is still in progress."


def window_message(window_seconds: float) -> str:
    """The documented 412 text, with the configured window (5 minutes by default)."""
    minutes = window_seconds / 60
    shown = f"{minutes:g} minutes" if minutes >= 1 else f"{window_seconds:g} seconds"
    return f"Repeatability first sent header was not in {shown} window."


def is_uuid(value: str) -> bool:
    """The 36-character GUID form the spec asks for."""
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def first_sent_problem(state: EmulatorState, request_id: str | None, first_sent: str | None) -> tuple[int, str] | None:
    """(status, message) if ACS refuses these repeatability values, else None."""
    if not request_id or not first_sent:
        return 400, "repeatabilityRequestId and repeatabilityFirstSent go together."
    if not is_uuid(request_id):
        return 400, "repeatabilityRequestId must be a GUID."
    try:
        first = parsedate_to_datetime(first_sent)
    except (TypeError, ValueError):
        return 400, "repeatabilityFirstSent is not an RFC 1123 date."
    if first.tzinfo is None:
        return 400, "repeatabilityFirstSent has no time zone."
    window = state.options.repeatability_window_seconds
    if (datetime.now(UTC) - first).total_seconds() > window:
        return 412, window_message(window)
    return None


def claim(state: EmulatorState, key: str) -> bool:
    """Mark key's first request as in progress; False if one already is (the caller answers 409)."""
    if key in state.in_progress:
        return False
    state.in_progress.add(key)
    return True


def release(state: EmulatorState, keys: list[str]) -> None:
    """The requests holding these keys have been answered (or abandoned)."""
    for key in keys:
        state.in_progress.discard(key)
