"""Telemetry on fakes: the spans of a request (request, claim, provider call, state update) and
their attributes, nothing personal in any span or log line, the JSON log format, and Azure
Monitor configured only when APPLICATIONINSIGHTS_CONNECTION_STRING is set."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr

from instant import bootstrap, observability
from instant.config import Settings
from instant.domain.digests import correlation_digest
from instant.domain.errors import ProviderRejected, ProviderUnavailable, StorageUnavailable
from instant.observability import logs
from instant.observability import spans as tracing
from instant.service.instant_service import InstantService
from tests.support.fakes import FakeClock, FakeEmailGateway, FakeSmsGateway, InMemoryOrderStore
from tests.support.unit import SETTINGS

REPO_ROOT = Path(__file__).resolve().parents[2]
SMS_URL = "http://localhost/notifications/api/v1/future/orders/instant/sms"
EMAIL_URL = "http://localhost/notifications/api/v1/future/orders/instant/email"

PASSCODE = "834271"
BODY = f"Your code is {PASSCODE}. It expires in 5 minutes."
KEY = "login-session-7f3a9c-attempt-1"
PHONE_AS_SENT = "+47 999 99 999"
PHONE = "+4799999999"
EMAIL = "kari.nordmann@example.no"
SUBJECT = "Your code"
# Every form a secret could leak in.
SECRETS = [BODY, PASSCODE, KEY, PHONE_AS_SENT, PHONE, PHONE[1:], "99999999", EMAIL, "kari.nordmann", SUBJECT]


class Installed:
    def __init__(self) -> None:
        self.store = InMemoryOrderStore()
        self.sms = FakeSmsGateway()
        self.email = FakeEmailGateway()
        self.clock = FakeClock()
        # Composed the way bootstrap composes the real adapters: every port traced.
        self.service = bootstrap.compose_service(
            store=self.store, sms=self.sms, email=self.email, clock=self.clock, settings=SETTINGS
        )


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    provider = TracerProvider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    tracing.use_tracer_provider(None)
    provider.shutdown()


@pytest.fixture
def app() -> Iterator[Installed]:
    installed = Installed()

    async def factory(_: Settings) -> InstantService:
        return installed.service

    bootstrap.use_factory(factory)
    yield installed
    bootstrap.use_factory(None)


def handler(name: str) -> Any:
    import function_app

    function_app.app.functions_bindings = None  # get_functions() refuses to index twice
    try:
        functions = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}
    finally:
        function_app.app.functions_bindings = None
    return functions[name]


def sms_request(body: str = BODY, key: str = KEY, **headers: str) -> func.HttpRequest:
    payload = {
        "idempotencyId": key,
        "recipientSms": {"phoneNumber": PHONE_AS_SENT, "timeToLiveInSeconds": 300, "smsSettings": {"body": body}},
    }
    return func.HttpRequest(
        "POST",
        SMS_URL,
        headers={"Content-Type": "application/json", "X-Caller-Id": "caller-a", **headers},
        body=json.dumps(payload).encode(),
    )


def email_request() -> func.HttpRequest:
    payload = {
        "idempotencyId": KEY,
        "recipientEmail": {"emailAddress": EMAIL, "emailSettings": {"subject": SUBJECT, "body": BODY}},
    }
    return func.HttpRequest(
        "POST",
        EMAIL_URL,
        headers={"Content-Type": "application/json", "X-Caller-Id": "caller-a"},
        body=json.dumps(payload).encode(),
    )


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    (span,) = by_name(spans, name)
    return span


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def every_recorded_value(spans: tuple[ReadableSpan, ...]) -> list[str]:
    """Everything a span carries that could hold text: names, attribute values (also of events
    and links), status descriptions."""
    values: list[str] = []
    for span in spans:
        values += [span.name, span.status.description or ""]
        sources = [span.attributes or {}, *(e.attributes or {} for e in span.events)]
        sources += [link.attributes or {} for link in span.links]
        for source in sources:
            for value in source.values():
                values += [str(v) for v in value] if isinstance(value, tuple | list) else [str(value)]
    return values


def assert_nothing_secret(values: list[str]) -> None:
    for value in values:
        for secret in SECRETS:
            assert secret not in value, f"{secret!r} leaked into {value!r}"


# -- spans --------------------------------------------------------------------------------------


async def test_a_new_sms_has_request_claim_provider_and_state_update_spans(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    # when
    response = await handler("instant_sms")(sms_request())
    assert response.status_code == 201
    spans = exporter.get_finished_spans()

    # then: one trace, the request span the parent of the claim, provider and update spans
    request = one(spans, "instant.request")
    claim = one(spans, "instant.claim")
    provider = one(spans, "instant.provider.sms.send")
    update = one(spans, "instant.state_update")
    for child in (claim, provider, update):
        assert child.parent is not None and child.parent.span_id == request.context.span_id
        assert child.context.trace_id == request.context.trace_id
    assert [s.name for s in sorted((claim, provider, update), key=lambda s: s.start_time or 0)] == [
        "instant.claim",
        "instant.provider.sms.send",
        "instant.state_update",
    ]
    assert provider.kind is SpanKind.CLIENT

    # and: the request span carries caller, channel, outcome code, status and replay
    assert attrs(request) == {
        tracing.OPERATION: "send",
        tracing.CHANNEL: "sms",
        tracing.CALLER: "caller-a",
        tracing.OUTCOME_CODE: "created",
        tracing.HTTP_STATUS: 201,
        tracing.REPLAY: False,
    }
    # and: the key and the recipient appear only as digests
    assert attrs(claim)[tracing.KEY_DIGEST] == correlation_digest(KEY)
    assert attrs(claim)[tracing.RECIPIENT_DIGEST] == correlation_digest(PHONE)
    assert attrs(provider)[tracing.RECIPIENT_DIGEST] == correlation_digest(PHONE)
    assert len(correlation_digest(PHONE)) == 16
    assert attrs(claim)[tracing.RESULT] == "claimed"
    assert attrs(provider)[tracing.RESULT] == "accepted"
    assert attrs(update)[tracing.RESULT] == "updated"
    assert attrs(update)[tracing.STATE] == "completed"
    assert attrs(update)[tracing.AUDIT_OUTCOME] == "created"
    assert_nothing_secret(every_recorded_value(spans))


async def test_a_replay_is_marked_on_the_request_span(app: Installed, exporter: InMemorySpanExporter) -> None:
    await handler("instant_sms")(sms_request())
    exporter.clear()
    # when
    response = await handler("instant_sms")(sms_request())
    # then
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    request = one(spans, "instant.request")
    assert attrs(request)[tracing.REPLAY] is True
    assert attrs(request)[tracing.OUTCOME_CODE] == "created"
    assert attrs(request)[tracing.HTTP_STATUS] == 200
    assert by_name(spans, "instant.provider.sms.send") == []  # nothing sent again
    assert attrs(one(spans, "instant.audit.append"))[tracing.REPLAY] is True
    assert_nothing_secret(every_recorded_value(spans))


async def test_a_concurrent_claim_is_an_outcome_not_an_error(app: Installed, exporter: InMemorySpanExporter) -> None:
    # given: another request holds the key (the claim loses; the record is in flight)
    app.sms.delay = 0.05
    first = handler("instant_sms")(sms_request())
    task = asyncio.ensure_future(first)
    await asyncio.sleep(0.01)
    second = await handler("instant_sms")(sms_request())
    await task
    assert second.status_code == 409
    claims = by_name(exporter.get_finished_spans(), "instant.claim")
    lost = [c for c in claims if attrs(c)[tracing.RESULT] == "existing"]
    assert len(lost) == 1
    assert lost[0].status.status_code is StatusCode.UNSET


async def test_a_rejected_sms_records_the_outcome_and_the_error_type_only(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    app.sms.script.append(ProviderRejected(f"InvalidRecipient {PHONE}: {BODY}"))
    response = await handler("instant_sms")(sms_request())
    assert response.status_code == 422
    spans = exporter.get_finished_spans()
    provider = one(spans, "instant.provider.sms.send")
    assert attrs(provider)[tracing.RESULT] == "rejected"
    assert attrs(provider)[tracing.ERROR_TYPE] == "ProviderRejected"
    assert provider.status.status_code is StatusCode.ERROR
    assert provider.events == ()  # no exception event: its message quotes the provider
    assert attrs(one(spans, "instant.request"))[tracing.OUTCOME_CODE] == "recipient_rejected"
    assert_nothing_secret(every_recorded_value(spans))


async def test_an_unavailable_provider_marks_the_request_as_failed(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    app.sms.script.extend([ProviderUnavailable(f"503 for {PHONE}", may_have_reached=True)] * 10)
    response = await handler("instant_sms")(sms_request())
    assert response.status_code == 503
    spans = exporter.get_finished_spans()
    attempts = by_name(spans, "instant.provider.sms.send")
    assert len(attempts) > 1  # one span per attempt
    assert all(attrs(a)[tracing.MAY_HAVE_REACHED] is True for a in attempts)
    request = one(spans, "instant.request")
    assert attrs(request)[tracing.OUTCOME_CODE] == "provider_unavailable"
    assert request.status.status_code is StatusCode.ERROR
    assert_nothing_secret(every_recorded_value(spans))


async def test_an_email_has_its_provider_span(app: Installed, exporter: InMemorySpanExporter) -> None:
    response = await handler("instant_email")(email_request())
    assert response.status_code == 201
    spans = exporter.get_finished_spans()
    provider = one(spans, "instant.provider.email.send")
    assert attrs(provider)[tracing.CHANNEL] == "email"
    assert attrs(provider)[tracing.RECIPIENT_DIGEST] == correlation_digest(EMAIL)
    assert attrs(one(spans, "instant.request"))[tracing.CHANNEL] == "email"
    assert one(spans, "instant.claim") and one(spans, "instant.state_update")
    assert_nothing_secret(every_recorded_value(spans))


async def test_the_request_span_continues_the_callers_trace_and_the_audit_names_it(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    await handler("instant_sms")(sms_request(traceparent=f"00-{trace_id}-00f067aa0ba902b7-01"))
    request = one(exporter.get_finished_spans(), "instant.request")
    assert format(request.context.trace_id, "032x") == trace_id
    assert request.parent is not None and format(request.parent.span_id, "016x") == "00f067aa0ba902b7"
    (entry,) = [a for entries in app.store.audits.values() for a in entries]
    assert entry.trace_id == trace_id


async def test_without_a_traceparent_the_audit_carries_the_recorded_trace_id(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    await handler("instant_sms")(sms_request())
    request = one(exporter.get_finished_spans(), "instant.request")
    (entry,) = [a for entries in app.store.audits.values() for a in entries]
    assert entry.trace_id == format(request.context.trace_id, "032x")


async def test_the_shipment_read_and_the_purge_are_traced(app: Installed, exporter: InMemorySpanExporter) -> None:
    created = await handler("instant_sms")(sms_request())
    shipment_id = json.loads(created.get_body())["notification"]["shipmentId"]
    exporter.clear()
    read = func.HttpRequest(
        "GET",
        f"http://localhost/notifications/api/v1/future/shipment/{shipment_id}",
        headers={"X-Caller-Id": "caller-a"},
        body=b"",
        route_params={"shipmentId": shipment_id},
    )
    assert (await handler("shipment")(read)).status_code == 200
    await app.service.purge_expired()
    spans = exporter.get_finished_spans()
    assert attrs(one(spans, "instant.request"))[tracing.OPERATION] == "get_shipment"
    assert attrs(one(spans, "instant.store.get"))[tracing.RESULT] == "found"
    assert attrs(one(spans, "instant.purge.orders"))[tracing.DELETED] == 0
    # the GET answer's body holds the phone number: it is in no span
    assert_nothing_secret(every_recorded_value(spans))


def report_event(shipment_id: str, message_id: str, status: str = "Delivered") -> func.EventGridEvent:
    return func.EventGridEvent(
        id=message_id,
        data={"messageId": message_id, "to": PHONE, "deliveryStatus": status, "tag": shipment_id},
        topic="/acs",
        subject=f"/phonenumber/{PHONE[1:]}",
        event_type="Microsoft.Communication.SMSDeliveryReportReceived",
        event_time=None,
        data_version="1.0",
    )


async def test_a_delivery_report_records_its_outcome_for_the_workbook(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    created = await handler("instant_sms")(sms_request())
    shipment_id = json.loads(created.get_body())["notification"]["shipmentId"]
    message_id = app.store.records[shipment_id].provider_id
    assert message_id is not None
    exporter.clear()
    deliver = handler("delivery_report")
    await deliver(report_event(shipment_id, message_id))
    await deliver(report_event(shipment_id, message_id))
    await deliver(report_event(shipment_id, "other-message"))
    spans = by_name(exporter.get_finished_spans(), "instant.delivery_report")
    # infra/kql/workbook/delivery-reports.kql counts these spans by this attribute
    assert [attrs(s)["instant.outcome"] for s in spans] == ["applied", "duplicate", "mismatched"]
    assert all(s.kind is SpanKind.CONSUMER and s.status.status_code is StatusCode.UNSET for s in spans)
    assert attrs(one(exporter.get_finished_spans(), "instant.state_update"))[tracing.AUDIT_OUTCOME] == "delivery_report"
    assert_nothing_secret(every_recorded_value(exporter.get_finished_spans()))


async def test_a_delivery_report_that_cannot_be_written_yet_raises_for_event_grid(
    app: Installed, exporter: InMemorySpanExporter
) -> None:
    app.store.available = False
    with pytest.raises(StorageUnavailable):
        await handler("delivery_report")(report_event("6f1c7a52-9d0e-4b43-8f5e-0c1a2b3c4d5e", "m-1"))
    (span,) = by_name(exporter.get_finished_spans(), "instant.delivery_report")
    assert attrs(span)["instant.outcome"] == "storage_unavailable"
    assert span.status.status_code is StatusCode.ERROR


async def test_without_a_configured_sdk_nothing_is_recorded(app: Installed) -> None:
    # The global provider is the API's proxy (no SDK configured in this process): spans are no-ops.
    span = tracing.tracer().start_span("probe")
    assert not span.is_recording()
    span.end()
    response = await handler("instant_sms")(sms_request())
    assert response.status_code == 201


# -- logs ---------------------------------------------------------------------------------------


def test_the_json_formatter_writes_extra_fields_and_redacts_sensitive_ones() -> None:
    record = logging.LogRecord(
        "instant.service.instant_service", logging.WARNING, __file__, 1, "claim failed: %s", ("x",), None
    )
    record.shipment_id = "5b1c"
    record.recipient = PHONE
    record.body = BODY
    line = logs.JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "claim failed: x"
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "instant.service.instant_service"
    assert entry["shipment_id"] == "5b1c"
    assert entry["recipient"] == entry["body"] == "[redacted]"
    assert "\n" not in line


def test_configure_logging_formats_plain_console_handlers_only() -> None:
    root = logging.getLogger()
    console = logging.StreamHandler(io.StringIO())
    file_like = logging.FileHandler(os.devnull)
    root.addHandler(console)
    root.addHandler(file_like)
    try:
        logs.configure_logging()
        assert isinstance(console.formatter, logs.JsonFormatter)
        assert not isinstance(file_like.formatter, logs.JsonFormatter)
    finally:
        root.removeHandler(console)
        root.removeHandler(file_like)
        file_like.close()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the app logs, formatted as the local console gets it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("instant")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(previous)


async def test_no_log_line_holds_a_body_a_recipient_or_a_key(
    app: Installed, exporter: InMemorySpanExporter, log_lines: io.StringIO
) -> None:
    # given: the paths that log (storage down at the claim, a final write that fails, a bug)
    await handler("instant_sms")(sms_request())
    app.store.available = False
    await handler("instant_sms")(sms_request(key=KEY + "-2"))
    app.store.available = True
    original_update = app.store.update

    async def failing_update(*args: Any, **kwargs: Any) -> Any:
        app.store.available = False
        try:
            return await original_update(*args, **kwargs)
        finally:
            app.store.available = True

    app.store.update = failing_update  # type: ignore[method-assign]
    await handler("instant_sms")(sms_request(key=KEY + "-3"))
    app.store.update = original_update  # type: ignore[method-assign]
    app.sms.script.append(ValueError(f"a bug that quotes {PHONE} and {BODY}"))
    bug = await handler("instant_sms")(sms_request(key=KEY + "-4"))
    assert bug.status_code == 500
    await app.service.purge_expired()
    # then
    lines = log_lines.getvalue().splitlines()
    assert any(json.loads(line)["message"] == "unhandled error" for line in lines)
    assert any(json.loads(line)["message"] == "retention purge" for line in lines)
    assert all(json.loads(line)["trace_id"] for line in lines if "shipment_id" in json.loads(line))
    assert_nothing_secret(lines)


# -- configuration --------------------------------------------------------------------------------


def settings(**overrides: Any) -> Settings:
    return Settings(
        acs_endpoint="http://127.0.0.1:9",
        tables_connection_string=SecretStr("UseDevelopmentStorage=true"),
        sms_default_sender="Instant",
        email_default_sender="noreply@instant.example.com",
        **overrides,
    )


@pytest.fixture
def fake_distro(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """azure.monitor.opentelemetry replaced by a module that records its calls."""
    calls: list[dict[str, Any]] = []
    module = types.ModuleType("azure.monitor.opentelemetry")
    module.configure_azure_monitor = lambda **kwargs: calls.append(kwargs)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.monitor.opentelemetry", module)
    monkeypatch.setattr(observability, "_configured", False)
    return calls


def test_the_connection_string_configures_azure_monitor_once(fake_distro: list[dict[str, Any]]) -> None:
    connection_string = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x"
    config = settings(applicationinsights_connection_string=connection_string)
    app_logger = logging.getLogger("instant")
    try:
        observability.configure(config)
        observability.configure(config)
        assert fake_distro == [{"connection_string": connection_string, "logger_name": "instant"}]
        # one path to Application Insights: not also through the worker's root handlers
        assert app_logger.propagate is False
    finally:
        app_logger.propagate = True


@pytest.mark.parametrize("value", [None, ""])
def test_without_a_connection_string_azure_monitor_is_not_configured(
    fake_distro: list[dict[str, Any]], value: str | None
) -> None:
    observability.configure(settings(applicationinsights_connection_string=value))
    assert fake_distro == []
    assert logging.getLogger("instant").propagate is True


def test_importing_the_app_without_a_connection_string_never_imports_azure_monitor() -> None:
    # A fresh interpreter: this test process may have imported anything.
    env = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    code = (
        "import sys, function_app\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('azure.monitor', 'opentelemetry.sdk')))\n"
        "assert not loaded, loaded\n"
        "assert 'instant.observability' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
