"""HTTP routes: parse -> service -> response. No business rule lives here: only the wire (size,
media type, JSON, caller header) and the mapping of answers and raised problems to responses.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any, NoReturn

import azure.functions as func

from instant import bootstrap
from instant.config import CALLER_ID_PATTERN
from instant.domain.answer import Answer
from instant.domain.errors import ProblemCode, ProblemError
from instant.domain.orders import EmailOrder, Order, SmsOrder
from instant.domain.ports import EmailContentType
from instant.domain.records import Channel
from instant.entrypoints import answers
from instant.entrypoints.openapi import openapi_document
from instant.entrypoints.request_parsing import RequestInvalid, parse_request
from instant.entrypoints.schemas import InstantEmailRequest, InstantSmsRequest, RequestModel
from instant.observability import spans
from instant.service.instant_service import RequestInfo

log = logging.getLogger("instant.entrypoints.http")

MAX_BODY_BYTES = 1024 * 1024
_UTF8_CHARSETS = frozenset({"utf-8", "utf8"})
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]


@blueprint.route(route="future/orders/instant/sms", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def instant_sms(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../future/orders/instant/sms."""
    return await _handle(req, lambda info: _send(req, info, InstantSmsRequest, _sms_order), "send", Channel.SMS)


@blueprint.route(route="future/orders/instant/email", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
async def instant_email(req: func.HttpRequest) -> func.HttpResponse:
    """POST .../future/orders/instant/email."""
    return await _handle(req, lambda info: _send(req, info, InstantEmailRequest, _email_order), "send", Channel.EMAIL)


@blueprint.route(route="future/shipment/{shipmentId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def shipment(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../future/shipment/{shipmentId}."""

    async def read(info: RequestInfo) -> Answer:
        service = await bootstrap.service()
        return await service.get_shipment(info.caller, req.route_params.get("shipmentId", ""), info.trace_id)

    return await _handle(req, read, "get_shipment")


@blueprint.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def openapi(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../openapi.json: the contract as OpenAPI 3.1."""
    return func.HttpResponse(openapi_document(), status_code=200, mimetype="application/json", charset="utf-8")


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def health(req: func.HttpRequest) -> func.HttpResponse:
    """GET .../health: liveness."""
    # Liveness only: probing storage and ACS here would let a health checker load them.
    return func.HttpResponse('{"status":"ok"}', status_code=200, mimetype="application/json", charset="utf-8")


async def _handle(
    req: func.HttpRequest,
    work: Callable[[RequestInfo], Awaitable[Answer]],
    operation: str,
    channel: Channel | None = None,
) -> func.HttpResponse:
    # The request's span (instant/observability/spans.py): caller, channel, outcome code, replay. The
    # claim, provider and state-update spans below it come from the traced ports.
    with spans.request_span(operation, channel.value if channel else None, req.headers) as span:
        try:
            caller = _caller(req)
            spans.set_caller(span, caller)
            # The audit's trace id is the trace's when one is recorded, so the two can be joined.
            info = RequestInfo(caller=caller, trace_id=spans.trace_id_of(span) or _trace_id(req))
            answer = await work(info)
        except ProblemError as problem:
            answer = answers.problem_answer(problem)
        except Exception as exc:
            # A bug must still answer in the contract's format, and must not leak internals. The
            # type and the stack only: an exception's message may quote its input (pydantic's
            # do), and the input holds recipients and passcodes.
            log.error(
                "unhandled error",
                extra={"error_type": type(exc).__name__, "stack": "".join(traceback.format_tb(exc.__traceback__))},
            )
            answer = answers.problem_answer(
                ProblemError(ProblemCode.INTERNAL_ERROR, "An unexpected error occurred; it has been logged.")
            )
        spans.record_answer(span, answer)
        return _response(answer)


def _response(answer: Answer) -> func.HttpResponse:
    return func.HttpResponse(
        answer.body,
        status_code=answer.status,
        headers=dict(answer.headers),
        mimetype=answer.content_type,
        charset="utf-8",
    )


def _caller(req: func.HttpRequest) -> str:
    caller: str | None = req.headers.get("x-caller-id")
    if caller is None:
        caller = bootstrap.settings().instant_default_caller
    if not caller:
        raise ProblemError(ProblemCode.CALLER_MISSING, "The caller identity (X-Caller-Id) is missing.")
    if not CALLER_ID_PATTERN.fullmatch(caller):
        raise ProblemError(
            ProblemCode.CALLER_MISSING, "The caller identity (X-Caller-Id) must be 1-64 characters of A-Z a-z 0-9 . _ -"
        )
    return caller


def _trace_id(req: func.HttpRequest) -> str:
    match = _TRACEPARENT.match(req.headers.get("traceparent", ""))
    return match.group(1) if match else uuid.uuid4().hex


async def _send(
    req: func.HttpRequest,
    info: RequestInfo,
    model: type[RequestModel],
    to_order: Callable[[Any], Order],
) -> Answer:
    payload = _json_object(req)
    try:
        wire = parse_request(model, payload)
    except RequestInvalid as invalid:
        raise ProblemError(
            ProblemCode.VALIDATION_FAILED,
            "The request breaks the rules of one or more fields.",
            errors=invalid.errors,
            errors_omitted=invalid.omitted,
        ) from None
    service = await bootstrap.service()
    return await service.send(to_order(wire), info)


def is_json_media_type(content_type: str | None) -> bool:
    """True for application/json with a UTF-8 charset or none; other parameters are ignored."""
    if not content_type:
        return False
    header = Message()
    header["content-type"] = content_type
    # A malformed value parses as text/plain (RFC 2045's default), which is refused below.
    if header.get_content_type() != "application/json":
        return False
    charset = header.get_param("charset")
    if charset is None:
        return True
    if isinstance(charset, tuple):  # RFC 2231 form: charset*=utf-8''utf-8
        charset = collapse_rfc2231_value(charset)
    return charset.strip().lower() in _UTF8_CHARSETS


def _json_object(req: func.HttpRequest) -> dict[str, Any]:
    body = req.get_body() or b""
    if len(body) > MAX_BODY_BYTES:
        raise ProblemError(ProblemCode.PAYLOAD_TOO_LARGE, "The body must be at most 1 MiB.")
    if not is_json_media_type(req.headers.get("content-type")):
        raise ProblemError(ProblemCode.UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json (UTF-8).")
    try:
        with _collector_paused():
            value = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSON syntax, duplicate keys, NaN/Infinity and over-long integers.
        raise ProblemError(ProblemCode.MALFORMED_JSON, "The body is not valid UTF-8 JSON.") from None
    if not isinstance(value, dict):
        raise ProblemError(ProblemCode.MALFORMED_JSON, "The body must be a JSON object.")
    return value


@contextmanager
def _collector_paused() -> Iterator[None]:
    # The duplicate check makes the parser build one tuple per key. None can be in a cycle, but
    # the cyclic collector would walk them again and again while they pile up: a body of 87,000
    # keys took twice as long to parse. json.loads does not yield, so no other request runs here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() in C, then compare sizes: a Python loop here would dominate a 90,000-key body.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _sms_order(wire: InstantSmsRequest) -> SmsOrder:
    recipient = wire.recipient_sms
    return SmsOrder(
        idempotency_id=wire.idempotency_id,
        senders_reference=wire.senders_reference,
        phone_number=recipient.phone_number,
        ttl_seconds=recipient.time_to_live_in_seconds,
        sender=recipient.sms_settings.sender,
        body=recipient.sms_settings.body,
    )


def _email_order(wire: InstantEmailRequest) -> EmailOrder:
    recipient = wire.recipient_email
    settings = recipient.email_settings
    return EmailOrder(
        idempotency_id=wire.idempotency_id,
        senders_reference=wire.senders_reference,
        email_address=recipient.email_address,
        subject=settings.subject,
        body=settings.body,
        content_type=EmailContentType(settings.content_type),
        sender=settings.sender_email_address,
    )
