"""Emulator state: inboxes, request log, repeatability and fault bookkeeping."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

JSONDict = dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class EmulatorOptions:
    repeatability_window_seconds: float = 3600
    slow_seconds: float = 2.0
    email_running_seconds: float = 0.2
    email_retry_after: str = "1"


@dataclass
class SmsMessage:
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


@dataclass
class EmailOperation:
    id: str
    started: float  # time.monotonic() at acceptance
    fails: bool

    def status(self, running_seconds: float) -> str:
        # Computed on read, so no background task is needed to move Running -> terminal.
        if time.monotonic() - self.started < running_seconds:
            return "Running"
        return "Failed" if self.fails else "Succeeded"

    def to_json(self, running_seconds: float) -> JSONDict:
        status = self.status(running_seconds)
        body: JSONDict = {"id": self.id, "status": status}
        if status == "Failed":
            # Same code/message as the spec's GetOperationStatusReturnsFailedTerminalStatus example.
            body["error"] = {
                "code": "EmailDropped",
                "message": "Email was dropped after several attempts to deliver.",
            }
        return body


@dataclass
class EmailMessage:
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
        return [*self.to, *self.cc, *self.bcc]

    def to_json(self, running_seconds: float) -> JSONDict:
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
            "status": self.operation.status(running_seconds),
        }


@dataclass
class RequestRecord:
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
    access_key: bytes
    options: EmulatorOptions
    latency_ms: float = 0.0
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
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def clear(self) -> None:
        """Forget everything a test could observe; the latency setting is configuration and stays."""
        self.sms_inbox.clear()
        self.email_inbox.clear()
        self.requests.clear()
        self.sms_results.clear()
        self.email_operations.clear()
        self.fault_counts.clear()

    def bump(self, fault: str, key: str | None) -> int:
        """Count one more request for this fault and id; returns the new count (1 = first)."""
        counter_key = (fault, key or "")
        self.fault_counts[counter_key] += 1
        return self.fault_counts[counter_key]


STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("acs_emulator_state", EmulatorState)
RECORD_KEY: web.RequestKey[RequestRecord] = web.RequestKey("acs_emulator_record", RequestRecord)
