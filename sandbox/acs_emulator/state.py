"""Emulator state: inboxes, request log, repeatability and fault bookkeeping."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web

from .senders import Senders
from .timing import REALISTIC, Timing

JSONDict = dict[str, Any]
# How an SMS repeat that ACS refuses (first-sent outside the window: 412; first still in progress: 409)
# is answered: as an item in the usual 202 (the default) or as the whole request's status.
RepeatRefusal = Literal["item", "request"]
# ACS tracks repeatability for 5 minutes (repeatable-requests documentation).
REPEATABILITY_WINDOW_SECONDS = 300.0


def now_iso() -> str:
    """Now in UTC, ISO 8601 with milliseconds and Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class EmulatorOptions:
    """Configuration fixed at start: timing, owned senders, repeatability window and refusal form."""

    timing: Timing = REALISTIC
    senders: Senders = field(default_factory=Senders.of)
    repeatability_window_seconds: float = REPEATABILITY_WINDOW_SECONDS
    sms_repeat_refusal: RepeatRefusal = "item"
    # Event Grid delivery reports (off when None); see events.py.
    webhook_url: str | None = None
    webhook_delay_seconds: float = 1.0


@dataclass
class SmsMessage:
    """One delivered SMS, as the admin inbox shows it."""

    message_id: str
    sender: str
    to: str
    message: str
    validity_period_seconds: int | None
    repeatability_request_id: str | None
    repeatability_first_sent: str | None
    api_version: str
    received_at: str

    def to_json(self) -> JSONDict:
        """The admin inbox entry."""
        return {
            "messageId": self.message_id,
            "from": self.sender,
            "to": self.to,
            "message": self.message,
            "validityPeriodSeconds": self.validity_period_seconds,
            "repeatabilityRequestId": self.repeatability_request_id,
            "repeatabilityFirstSent": self.repeatability_first_sent,
            "apiVersion": self.api_version,
            "receivedAt": self.received_at,
        }


TERMINAL_EMAIL_STATUSES = frozenset({"Succeeded", "Failed", "Canceled"})


@dataclass
class EmailOperation:
    """One email send operation; its status is computed on read from the time since acceptance."""

    id: str
    started: float  # time.monotonic() at acceptance
    running_seconds: float  # until the terminal status
    outcome: str = "Succeeded"  # the terminal status: Succeeded / Failed / Canceled
    error: JSONDict | None = None  # the error object of a Failed outcome
    not_started_seconds: float = 0.0  # reports NotStarted before Running for this long

    def status(self) -> str:
        """NotStarted -> Running -> the outcome, by elapsed time (no background task needed)."""
        elapsed = time.monotonic() - self.started
        if elapsed < self.not_started_seconds:
            return "NotStarted"
        if elapsed < self.running_seconds:
            return "Running"
        return self.outcome

    def to_json(self) -> JSONDict:
        """The EmailSendResult body; ``error`` is always present, null unless Failed (as recorded)."""
        status = self.status()
        return {"id": self.id, "status": status, "error": self.error if status == "Failed" else None}


@dataclass
class EmailMessage:
    """One accepted email and its operation."""

    operation: EmailOperation
    sender: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    plain_text: str | None
    html: str | None
    api_version: str
    received_at: str

    def addresses(self) -> list[str]:
        """to, cc and bcc together."""
        return [*self.to, *self.cc, *self.bcc]

    def to_json(self, _running_seconds: float | None = None) -> JSONDict:
        """The admin inbox entry; the argument is ignored (the running time is per operation now)."""
        return {
            "operationId": self.operation.id,
            "sender": self.sender,
            "to": self.to,
            "cc": self.cc,
            "bcc": self.bcc,
            "subject": self.subject,
            "contentType": "Html" if self.html else "Plain",
            "plainText": self.plain_text,
            "html": self.html,
            "apiVersion": self.api_version,
            "receivedAt": self.received_at,
            "status": self.operation.status(),
        }


@dataclass
class RequestRecord:
    """One authenticated request in the admin request log."""

    kind: str  # "sms" | "email" | "email-status"
    method: str
    path: str
    api_version: str | None
    received_at: str
    to: list[str] = field(default_factory=list)
    repeatability_request_id: str | None = None
    operation_id: str | None = None
    status: int | None = None  # None while unanswered, and for requests never answered

    def to_json(self) -> JSONDict:
        """The admin request-log entry."""
        body: JSONDict = {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "apiVersion": self.api_version,
            "to": self.to,
            "receivedAt": self.received_at,
            "status": self.status,
        }
        if self.kind == "sms":
            body["repeatabilityRequestId"] = self.repeatability_request_id
        else:
            body["operationId"] = self.operation_id
        return body


@dataclass
class EmulatorState:
    """Everything the emulator remembers between requests."""

    access_key: bytes
    options: EmulatorOptions
    latency_ms: float = 0.0
    # Set through POST /_emulator/config: every send answers 503 (refused unprocessed) meanwhile.
    outage: bool = False
    sms_inbox: list[SmsMessage] = field(default_factory=list)
    email_inbox: list[EmailMessage] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    # repeatabilityRequestId -> the original response item, replayed for repeats.
    sms_results: dict[str, JSONDict] = field(default_factory=dict)
    email_operations: dict[str, EmailOperation] = field(default_factory=dict)
    # (fault, repeatability id / operation id or "") -> requests seen; drives "first N requests" faults.
    fault_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Requests currently held open without an answer (hang / slow / latency).
    pending: int = 0
    # Repeatability ids / operation ids whose first request is still being processed (-> 409).
    in_progress: set[str] = field(default_factory=set)
    # Repeatability-Request-Id (email header form) -> operation id.
    email_repeats: dict[str, str] = field(default_factory=dict)
    # Delivery reports waiting to be POSTed to the webhook.
    event_tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def clear(self) -> None:
        """Forget everything a test could observe; the latency setting is configuration and stays."""
        self.sms_inbox.clear()
        self.email_inbox.clear()
        self.requests.clear()
        self.sms_results.clear()
        self.email_operations.clear()
        self.fault_counts.clear()
        self.in_progress.clear()
        self.email_repeats.clear()

    def bump(self, fault: str, key: str | None) -> int:
        """Count one more request for this fault and id; returns the new count (1 = first)."""
        counter_key = (fault, key or "")
        self.fault_counts[counter_key] += 1
        return self.fault_counts[counter_key]


STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("acs_emulator_state", EmulatorState)
RECORD_KEY: web.RequestKey[RequestRecord] = web.RequestKey("acs_emulator_record", RequestRecord)
