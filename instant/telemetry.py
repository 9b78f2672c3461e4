"""Traces and structured logs, with nothing personal in them.

Traces: one span per request (instant/http.py) and one per port call, from decorators around the
ports that bootstrap.py applies (``TracedOrderStore``, ``TracedSmsGateway``,
``TracedEmailGateway``): the claim (``instant.claim``), the provider call
(``instant.provider.sms.send`` / ``instant.provider.email.send``) and the state update
(``instant.state_update``), children of ``instant.request``. Only the OpenTelemetry API is used
here: until an SDK is configured its tracer is a no-op, so local runs and tests pay next to
nothing (attributes are computed only for a span that records).

Export: with APPLICATIONINSIGHTS_CONNECTION_STRING set, ``configure`` sets up the Azure Monitor
distro (azure-monitor-opentelemetry). It is imported only then: importing it takes longer than
importing the rest of the app. Ingestion authenticates as the infra sets it up
(APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD, read by the exporter itself).

Logs: the service logs with ``extra={...}``; ``JsonFormatter`` writes one JSON object per line
(the local host's console), with the current trace and span ids.

Never in a span or a log: a body, a passcode, a raw recipient (phone number or email address),
a raw idempotency key, the ACS access key, a connection string. Keys and recipients appear only
as ``digest()``: enough to find every span of one key or one recipient. A digest of a phone
number can be reversed by trying every number, so it keeps numbers out of plain sight in
dashboards; it is not anonymisation, and telemetry stays personal data.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from instant.errors import (
    KeyAlreadyClaimed,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
    RecordChanged,
)
from instant.idempotency import AuditEntry, OrderRecord
from instant.ports import (
    EmailGateway,
    EmailMessage,
    EmailReceipt,
    OrderStore,
    SmsGateway,
    SmsMessage,
    SmsReceipt,
)

if TYPE_CHECKING:
    from instant.answers import Answer
    from instant.config import Settings

TRACER_NAME = "instant"
# The logger whose records the Azure Monitor distro exports: the app's own, not the SDKs' HTTP chatter.
LOGGER_NAME = "instant"

# Attribute names. "instant.*" for the service's own vocabulary; OpenTelemetry's where one fits.
CALLER = "instant.caller"
CHANNEL = "instant.channel"
OPERATION = "instant.operation"
OUTCOME_CODE = "instant.outcome.code"
REPLAY = "instant.replay"
HTTP_STATUS = "http.response.status_code"
KEY_DIGEST = "instant.idempotency_key.sha256"
RECIPIENT_DIGEST = "instant.recipient.sha256"
SHIPMENT_ID = "instant.shipment_id"
STATE = "instant.state"
STATUS = "instant.recipient_status"
ATTEMPTS = "instant.attempts"
RESULT = "instant.result"
AUDIT_OUTCOME = "instant.audit.outcome"
PROVIDER_ID = "instant.provider.id"
MAY_HAVE_REACHED = "instant.provider.may_have_reached"
TIMEOUT = "instant.provider.timeout_seconds"
VALIDITY = "instant.sms.validity_seconds"
DELETED = "instant.purge.deleted"
LIMIT = "instant.purge.limit"
ERROR_TYPE = "error.type"

DIGEST_HEX_DIGITS = 16

_tracer: Tracer = trace.get_tracer(TRACER_NAME)  # a proxy: follows the global provider once one is set
_propagator = TraceContextTextMapPropagator()
_configured = False


def digest(value: str) -> str:
    """SHA-256 of ``value``, first 16 hex digits (64 bits): enough to correlate, not to read."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:DIGEST_HEX_DIGITS]


def tracer() -> Tracer:
    return _tracer


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace into ``provider`` instead of the global one (tests); None goes back to the global."""
    global _tracer
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else trace.get_tracer(TRACER_NAME)


# -- configuration ------------------------------------------------------------------------------


def configure(settings: Settings) -> None:
    """Once per process (function_app.py calls it at import): JSON logs on the console, and
    export to Application Insights when its connection string is set."""
    global _configured
    if _configured:
        return
    _configured = True
    configure_logging()
    connection_string = settings.applicationinsights_connection_string
    if connection_string is not None:
        _configure_azure_monitor(connection_string.get_secret_value())


def _configure_azure_monitor(connection_string: str) -> None:
    # Imported here and only here: it costs more start-up time than the rest of the app.
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER_NAME)


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


# -- spans ----------------------------------------------------------------------------------------


@contextmanager
def _span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    expected: tuple[type[Exception], ...] = (),
) -> Iterator[Span]:
    """A span that records an exception by its type only (its message may quote a recipient or
    the provider's answer); ``expected`` exceptions are outcomes, not errors."""
    with _tracer.start_as_current_span(name, kind=kind, record_exception=False, set_status_on_exception=False) as span:
        try:
            yield span
        except Exception as exc:
            if not isinstance(exc, expected) and span.is_recording():
                span.set_attribute(ERROR_TYPE, type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def _set(span: Span, attributes: Mapping[str, AttributeValue | None]) -> None:
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def _record_attributes(record: OrderRecord) -> dict[str, AttributeValue | None]:
    return {
        CALLER: record.caller,
        CHANNEL: record.channel.value,
        SHIPMENT_ID: record.shipment_id,
        KEY_DIGEST: digest(record.idempotency_id),
        RECIPIENT_DIGEST: digest(record.recipient),
        STATE: record.state.value,
        STATUS: record.status.value,
        ATTEMPTS: record.attempts,
    }


@contextmanager
def request_span(operation: str, channel: str | None, headers: Mapping[str, str]) -> Iterator[Span]:
    """The span of one HTTP request, a child of the caller's ``traceparent`` when there is one."""
    parent = _propagator.extract(carrier=headers)
    with _tracer.start_as_current_span(
        "instant.request", context=parent, record_exception=False, set_status_on_exception=False
    ) as span:
        _set(span, {OPERATION: operation, CHANNEL: channel})
        yield span


def set_caller(span: Span, caller: str) -> None:
    _set(span, {CALLER: caller})


def record_answer(span: Span, answer: Answer) -> None:
    _set(
        span,
        {
            OUTCOME_CODE: answer.code,
            HTTP_STATUS: answer.status,
            REPLAY: answer.headers.get("Idempotent-Replayed") == "true",
        },
    )
    if answer.status >= 500 and span.is_recording():
        span.set_status(Status(StatusCode.ERROR, answer.code))


def trace_id_of(span: Span) -> str | None:
    """The span's W3C trace id (32 hex digits), or None when nothing is traced."""
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


# -- decorators around the ports ----------------------------------------------------------------


class TracedOrderStore:
    def __init__(self, inner: OrderStore) -> None:
        self.inner = inner

    async def claim(self, record: OrderRecord) -> OrderRecord:
        with _span("instant.claim", expected=(KeyAlreadyClaimed,)) as span:
            _set(span, _record_attributes(record))
            try:
                claimed = await self.inner.claim(record)
            except KeyAlreadyClaimed as exc:
                _set(span, {RESULT: "existing", STATE: exc.existing.state.value})
                raise
            _set(span, {RESULT: "claimed"})
            return claimed

    async def get(self, shipment_id: str) -> OrderRecord | None:
        with _span("instant.store.get") as span:
            _set(span, {SHIPMENT_ID: shipment_id})
            found = await self.inner.get(shipment_id)
            _set(span, {RESULT: "found" if found is not None else "missing"})
            return found

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        with _span("instant.state_update", expected=(RecordChanged,)) as span:
            _set(span, _record_attributes(record))
            _set(span, {AUDIT_OUTCOME: audit.outcome if audit is not None else None})
            try:
                updated = await self.inner.update(record, audit)
            except RecordChanged:
                _set(span, {RESULT: "record_changed"})
                raise
            _set(span, {RESULT: "updated"})
            return updated

    async def append_audit(self, audit: AuditEntry) -> None:
        with _span("instant.audit.append") as span:
            _set(
                span,
                {
                    SHIPMENT_ID: audit.shipment_id,
                    CALLER: audit.caller,
                    CHANNEL: audit.channel.value,
                    AUDIT_OUTCOME: audit.outcome,
                    REPLAY: audit.replay,
                },
            )
            await self.inner.append_audit(audit)

    async def audit_entries(self, shipment_id: str) -> list[AuditEntry]:
        with _span("instant.store.audit_entries") as span:
            _set(span, {SHIPMENT_ID: shipment_id})
            return await self.inner.audit_entries(shipment_id)

    async def purge_orders(self, received_before: datetime, *, limit: int) -> int:
        with _span("instant.purge.orders") as span:
            deleted = await self.inner.purge_orders(received_before, limit=limit)
            _set(span, {DELETED: deleted, LIMIT: limit})
            return deleted

    async def purge_audit(self, before: datetime, *, limit: int) -> int:
        with _span("instant.purge.audit") as span:
            deleted = await self.inner.purge_audit(before, limit=limit)
            _set(span, {DELETED: deleted, LIMIT: limit})
            return deleted

    async def close(self) -> None:
        await self.inner.close()


def _provider_failure(span: Span, exc: Exception) -> None:
    if isinstance(exc, ProviderRejected):
        _set(span, {RESULT: "rejected"})
    elif isinstance(exc, ProviderUnavailable):
        _set(span, {RESULT: "unavailable", MAY_HAVE_REACHED: exc.may_have_reached})
    elif isinstance(exc, ProviderOutcomeUnknown):
        _set(span, {RESULT: "outcome_unknown"})


class TracedSmsGateway:
    def __init__(self, inner: SmsGateway) -> None:
        self.inner = inner

    async def send(self, message: SmsMessage, *, timeout: float) -> SmsReceipt:
        with _span("instant.provider.sms.send", kind=SpanKind.CLIENT) as span:
            _set(
                span,
                {
                    CHANNEL: "sms",
                    RECIPIENT_DIGEST: digest(message.recipient),
                    VALIDITY: message.validity_seconds,
                    TIMEOUT: round(timeout, 3),
                },
            )
            try:
                receipt = await self.inner.send(message, timeout=timeout)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            _set(span, {RESULT: "accepted", PROVIDER_ID: receipt.message_id})
            return receipt

    async def close(self) -> None:
        await self.inner.close()


class TracedEmailGateway:
    def __init__(self, inner: EmailGateway) -> None:
        self.inner = inner

    async def send(self, message: EmailMessage, *, timeout: float, wait: float) -> EmailReceipt:
        with _span("instant.provider.email.send", kind=SpanKind.CLIENT) as span:
            _set(
                span,
                {
                    CHANNEL: "email",
                    RECIPIENT_DIGEST: digest(message.recipient),
                    PROVIDER_ID: message.operation_id,
                    TIMEOUT: round(timeout, 3),
                },
            )
            try:
                receipt = await self.inner.send(message, timeout=timeout, wait=wait)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            _set(span, {RESULT: receipt.status.value})
            return receipt

    async def status(self, operation_id: str, *, timeout: float) -> EmailReceipt | None:
        with _span("instant.provider.email.status", kind=SpanKind.CLIENT) as span:
            _set(span, {CHANNEL: "email", PROVIDER_ID: operation_id, TIMEOUT: round(timeout, 3)})
            try:
                receipt = await self.inner.status(operation_id, timeout=timeout)
            except Exception as exc:
                _provider_failure(span, exc)
                raise
            _set(span, {RESULT: receipt.status.value if receipt is not None else "unknown_operation"})
            return receipt

    async def close(self) -> None:
        await self.inner.close()
