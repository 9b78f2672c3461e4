"""The OpenAPI 3.1 document, generated from the wire models (schemas.py, response_models.py) and the error table."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from instant.domain.errors import PROBLEMS, ProblemCode
from instant.entrypoints.response_models import Health, InstantOrderCreated, Problem, Shipment
from instant.entrypoints.schemas import InstantEmailRequest, InstantSmsRequest

_REF = "#/components/schemas/{model}"

_SEND_PROBLEMS = [
    ProblemCode.VALIDATION_FAILED,
    ProblemCode.MALFORMED_JSON,
    ProblemCode.RECIPIENT_REJECTED,
    ProblemCode.STORAGE_UNAVAILABLE,
    ProblemCode.CALLER_MISSING,
    ProblemCode.REQUEST_IN_PROGRESS,
    ProblemCode.PAYLOAD_TOO_LARGE,
    ProblemCode.UNSUPPORTED_MEDIA_TYPE,
    ProblemCode.IDEMPOTENCY_KEY_REUSED,
    ProblemCode.TTL_EXPIRED,
    ProblemCode.OUTCOME_UNKNOWN,
    ProblemCode.PROVIDER_UNAVAILABLE,
    ProblemCode.RECIPIENT_RATE_LIMITED,
    ProblemCode.CALLER_BUDGET_EXHAUSTED,
    ProblemCode.INTERNAL_ERROR,
]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


# Problems answered with Retry-After (docs/api.md, "Errors": 409, both 503s and both 429s).
_RETRY_AFTER_CODES = frozenset(
    {
        ProblemCode.REQUEST_IN_PROGRESS,
        ProblemCode.PROVIDER_UNAVAILABLE,
        ProblemCode.STORAGE_UNAVAILABLE,
        ProblemCode.RECIPIENT_RATE_LIMITED,
        ProblemCode.CALLER_BUDGET_EXHAUSTED,
    }
)


def _problem_responses(codes: list[ProblemCode]) -> dict[str, Any]:
    by_status: dict[int, list[ProblemCode]] = {}
    for code in codes:
        by_status.setdefault(PROBLEMS[code].status, []).append(code)
    responses: dict[str, Any] = {}
    for status, status_codes in sorted(by_status.items()):
        response: dict[str, Any] = {
            "description": "Problem: " + ", ".join(sorted(code.value for code in status_codes)),
            "content": {"application/problem+json": {"schema": _ref(Problem)}},
        }
        headers: dict[str, Any] = {}
        if all(code in _RETRY_AFTER_CODES for code in status_codes):
            headers["Retry-After"] = {
                "required": True,
                "description": "Seconds to wait before retrying with the same idempotencyId.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        if any(PROBLEMS[code].stored for code in status_codes):
            headers["Idempotent-Replayed"] = {
                "description": "Set on a replay of the first answer, which this problem was.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        if headers:
            response["headers"] = headers
        responses[str(status)] = response
    return responses


_CALLER = {
    "name": "X-Caller-Id",
    "in": "header",
    "required": False,
    "description": "The caller's id, set by API Management from the validated token.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
}

_REPLAY_HEADERS = {
    "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
    "Location": {"schema": {"type": "string"}},
}


def _send_operation(request: type[BaseModel], summary: str, operation_id: str) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_CALLER],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request)}}},
        "responses": {
            "201": {
                "description": "The provider accepted the message.",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": _ref(InstantOrderCreated)}},
            },
            "200": {
                "description": "A replay of the first answer (Idempotent-Replayed: true).",
                "headers": _REPLAY_HEADERS,
                "content": {"application/json": {"schema": _ref(InstantOrderCreated)}},
            },
            **_problem_responses(_SEND_PROBLEMS),
        },
    }


@cache
def openapi_document() -> str:
    """The OpenAPI 3.1 document, generated from the wire models."""
    models: list[type[BaseModel]] = [
        InstantSmsRequest,
        InstantEmailRequest,
        InstantOrderCreated,
        Shipment,
        Problem,
        Health,
    ]
    _, schema = models_json_schema(
        [(m, "validation" if m in (InstantSmsRequest, InstantEmailRequest) else "serialization") for m in models],
        by_alias=True,
        ref_template=_REF,
    )
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Instant notifications",
            "version": "1.0.0",
            "description": "Send one SMS or one email to one recipient now (Altinn-compatible instant orders).",
        },
        "servers": [{"url": "/notifications/api/v1"}],
        "paths": {
            "/future/orders/instant/sms": {
                "post": _send_operation(InstantSmsRequest, "Send one SMS now", "sendInstantSms")
            },
            "/future/orders/instant/email": {
                "post": _send_operation(InstantEmailRequest, "Send one email now", "sendInstantEmail")
            },
            "/future/shipment/{shipmentId}": {
                "get": {
                    "operationId": "getShipment",
                    "summary": "The status of an instant order",
                    "parameters": [
                        {"name": "shipmentId", "in": "path", "required": True, "schema": {"type": "string"}},
                        _CALLER,
                    ],
                    "responses": {
                        "200": {
                            "description": "The shipment.",
                            "content": {"application/json": {"schema": _ref(Shipment)}},
                        },
                        **_problem_responses(
                            [
                                ProblemCode.CALLER_MISSING,
                                ProblemCode.NOT_FOUND,
                                ProblemCode.STORAGE_UNAVAILABLE,
                                ProblemCode.INTERNAL_ERROR,
                            ]
                        ),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApi",
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                }
            },
            "/health": {
                "get": {
                    "operationId": "getHealth",
                    "summary": "Liveness",
                    "responses": {
                        "200": {"description": "Alive", "content": {"application/json": {"schema": _ref(Health)}}}
                    },
                }
            },
        },
        "components": {"schemas": schema.get("$defs", {})},
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
