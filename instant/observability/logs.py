"""Structured logs: one JSON object per line, with the trace and span ids, never anything personal.

The service logs with ``extra={...}``; ``JsonFormatter`` writes the record's fields (a sensitive
key's value is replaced, even if it was passed by mistake). Under the Functions worker the root
handlers are the worker's own, which forward records to the host; they are left alone.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# The logger whose records the Azure Monitor distro exports: the app's own, not the SDKs' HTTP chatter.
LOGGER_NAME = "instant"


def configure_logging() -> None:
    """Give the console handlers of a local run (sandbox/local_host.py's ``basicConfig``) the
    JSON format. Only handlers that are exactly ``logging.StreamHandler`` change: under the
    Functions worker the root handlers are the worker's own (they forward records to the host)
    and pytest's are subclasses; both are left alone."""
    formatter = JsonFormatter()
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(formatter)


# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# ``extra`` keys that must never reach a log line, even by mistake: their value is replaced.
_SENSITIVE_KEYS = frozenset(
    {
        "body",
        "passcode",
        "recipient",
        "phone_number",
        "email_address",
        "idempotency_id",
        "access_key",
        "connection_string",
        "acs_access_key",
        "tables_connection_string",
        "applicationinsights_connection_string",
    }
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's ``extra`` fields,
    and the current trace and span ids (so a log line finds its trace)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        for key, value in vars(record).items():
            if key in _RECORD_FIELDS or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if key.lower() in _SENSITIVE_KEYS else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
