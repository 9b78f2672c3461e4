"""Event Grid-triggered functions, served the way Core Tools serves them locally.

``POST /runtime/webhooks/eventgrid?functionName=<name>`` with ``aeg-event-type: Notification``
and a JSON array of Event Grid schema events runs the function once per event, in order.
A missing or unknown function name is 404, a body that is not an array of events is 400, a
function that raises is 500 (Event Grid would deliver again), otherwise 202. The subscription
validation handshake (``aeg-event-type: SubscriptionValidation``) is answered with its code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import azure.functions as func
from aiohttp import web

from sandbox.host.exchange import failure
from sandbox.host.functions import Target
from sandbox.host.limits import LIMITS_KEY, read_body

log = logging.getLogger("sandbox.local_host")

WEBHOOK_PATH: Final = "/runtime/webhooks/eventgrid"
EVENT_GRID_KEY: Final[web.AppKey[dict[str, EventGridFunction]]] = web.AppKey("event_grid_functions")
_REQUIRED: Final = ("id", "eventType", "subject", "data", "dataVersion")


@dataclass(frozen=True)
class EventGridFunction:
    """An Event Grid-triggered function."""

    target: Target

    @property
    def function_name(self) -> str:
        """The function's name as Azure shows it."""
        return self.target.name

    def describe(self) -> str:
        """One line for the start-up listing."""
        return f"POST {WEBHOOK_PATH}?functionName={self.function_name} -> {self.function_name} (Event Grid)"


def _bad_request(text: str) -> web.Response:
    return web.Response(status=400, text=text + "\n", content_type="text/plain")


def to_event(raw: Mapping[str, Any]) -> func.EventGridEvent:
    """What the worker passes to the trigger parameter (ValueError if a field is missing)."""
    missing = [name for name in _REQUIRED if name not in raw]
    if missing:
        raise ValueError(f"an event lacks {', '.join(missing)}")
    when = raw.get("eventTime")
    return func.EventGridEvent(
        id=str(raw["id"]),
        data=raw["data"],
        topic=str(raw.get("topic", "")),
        subject=str(raw["subject"]),
        event_type=str(raw["eventType"]),
        event_time=datetime.fromisoformat(when) if isinstance(when, str) else None,
        data_version=str(raw["dataVersion"]),
    )


async def eventgrid_webhook(request: web.Request) -> web.StreamResponse:
    """Core Tools' Event Grid webhook."""
    name = request.query.get("functionName", "")
    function = request.app[EVENT_GRID_KEY].get(name.lower())
    if function is None:
        raise web.HTTPNotFound(text=f"No Event Grid function named {name!r}\n")
    body = await read_body(request, request.app[LIMITS_KEY])
    try:
        raw_events = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return _bad_request("the body is not JSON")
    if not isinstance(raw_events, list) or not all(isinstance(e, dict) for e in raw_events):
        return _bad_request("the body is not an array of events")
    kind = request.headers.get("aeg-event-type", "").casefold()
    if kind == "subscriptionvalidation":
        code = raw_events[0].get("data", {}).get("validationCode") if raw_events else None
        if not isinstance(code, str):
            return _bad_request("no validationCode")
        return web.json_response({"validationResponse": code})
    if kind != "notification":
        return _bad_request("aeg-event-type must be Notification or SubscriptionValidation")
    try:
        events = [to_event(raw) for raw in raw_events]
    except (ValueError, TypeError) as exc:
        return _bad_request(str(exc))
    for event in events:
        try:
            await function.target.call({function.target.trigger_arg: event})
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed, Id=%s)", function.function_name, event.id)
            return failure(function.function_name)
    return web.Response(status=202)
