"""Traces: one span per request and one per port call, with nothing personal in them.

The request's span (``instant.request``) is opened by the edge (instant/entrypoints/http.py);
the claim, provider and state-update spans below it come from the decorators around the ports
(instant/adapters/traced.py), so neither the service nor an adapter knows about spans. Only the
OpenTelemetry API is used here: until an SDK is configured (instant/observability/__init__.py)
its tracer is a no-op, so local runs and tests pay next to nothing (attributes are computed only
for a span that records).

Never in a span: a body, a passcode, a raw recipient (phone number or email address), a raw
idempotency key, a key or connection string. Keys and recipients appear only as
``correlation_digest`` (instant/domain/digests.py): enough to find every span of one key or one
recipient. A digest of a phone number can be reversed by trying every number, so it keeps
numbers out of plain sight in dashboards; it is not anonymisation, and telemetry stays personal
data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from instant.domain.digests import correlation_digest
from instant.domain.records import OrderRecord

if TYPE_CHECKING:
    from instant.domain.answer import Answer

TRACER_NAME = "instant"

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
DELIVERY_OUTCOME = "instant.outcome"  # a delivery report's outcome (infra/kql/workbook/delivery-reports.kql)
ERROR_TYPE = "error.type"

_tracer: Tracer = trace.get_tracer(TRACER_NAME)  # a proxy: follows the global provider once one is set
_propagator = TraceContextTextMapPropagator()
_configured = False


def tracer() -> Tracer:
    """The tracer spans are made with."""
    return _tracer


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace into ``provider`` instead of the global one (tests); None goes back to the global."""
    global _tracer
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else trace.get_tracer(TRACER_NAME)


@contextmanager
def traced_span(
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


def set_attributes(span: Span, attributes: Mapping[str, AttributeValue | None]) -> None:
    """Set the attributes that have a value, on a span that records."""
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def record_attributes(record: OrderRecord) -> dict[str, AttributeValue | None]:
    """A record's span attributes: ids and digests, never a raw key or recipient."""
    return {
        CALLER: record.caller,
        CHANNEL: record.channel.value,
        SHIPMENT_ID: record.shipment_id,
        KEY_DIGEST: correlation_digest(record.idempotency_id),
        RECIPIENT_DIGEST: correlation_digest(record.recipient),
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
        set_attributes(span, {OPERATION: operation, CHANNEL: channel})
        yield span


def set_caller(span: Span, caller: str) -> None:
    """Name the caller on the request span."""
    set_attributes(span, {CALLER: caller})


def record_answer(span: Span, answer: Answer) -> None:
    """The answer's code, status and replay flag on the request span; 5xx marks it failed."""
    set_attributes(
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
