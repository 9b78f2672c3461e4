"""6a. Generated requests (schemathesis) against the served OpenAPI document.

Every operation of ``GET /notifications/api/v1/openapi.json`` gets schema-valid and schema-invalid
requests (with ``X-Caller-Id``, generated or set), plus requests whose recipients and texts are
patched to be valid, so that many of them reach the provider and the store. Promise: no 5xx, every
error is application/problem+json with a ``code``, every status is documented and every
documented response matches its schema (status, content type, headers, body).

schemathesis is synchronous (requests); it runs in a worker thread, so the session's event loop
keeps draining the output of the stack's processes meanwhile. Failures are collected, not raised
inside Hypothesis, so there is no shrinking phase: the run stays bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation

from instant.entrypoints.openapi import openapi_document
from tests.support.reliability import FAULTS, WATCHED, figure
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration

CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    st_checks.negative_data_rejection,
]
# Recipients that answer at once (the slow, hanging and always-failing ones would make each
# example take the whole request budget; tests/reliability/test_provider_faults.py has them).
PHONES = ["+4798000001", "+4798000002", "+4741234567", "+4790000001", "+4790000002", "+4790000003", "+4790000007"]
LINE_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"
EMAILS = ["fuzz@example.com", "Fuzz.User@Example.NO", f"reject@{FAULTS}", f"503twice@{FAULTS}", f"opfailed@{FAULTS}"]


@dataclass
class Findings:
    statuses: Counter[str] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)  # first example of each distinct failure
    requests: int = 0
    created: dict[str, str] = field(default_factory=dict)  # shipmentId -> caller, from 201 answers

    def fail(self, kind: str, case: Any, detail: str) -> None:
        self.failures.setdefault(kind, f"{detail}\n    {case.as_curl_command()}"[:2000])


# The SMS sender the reliability stack's emulated ACS resource owns (its default).
OWNED_SMS_SENDER = "Instant"


def _sms_sender(body: Any) -> str | None:
    """The SMS sender a generated body names, if any."""
    sms = body.get("recipientSms") if isinstance(body, dict) else None
    settings_ = sms.get("smsSettings") if isinstance(sms, dict) else None
    sender = settings_.get("sender") if isinstance(settings_, dict) else None
    return sender.strip() or None if isinstance(sender, str) else None


def make_valid(case: Any, data: st.DataObject) -> Any:
    """Patch a generated order so it passes validation (but keep everything else generated)."""
    body = case.body
    if not isinstance(body, dict):
        return case
    sms, email = body.get("recipientSms"), body.get("recipientEmail")
    if isinstance(sms, dict):
        sms["phoneNumber"] = data.draw(st.sampled_from(PHONES))
        sms["timeToLiveInSeconds"] = data.draw(st.integers(60, 172_800))
        settings_ = sms.get("smsSettings")
        if isinstance(settings_, dict):
            # At most 10 segments (SMS_MAX_SEGMENTS) whatever the characters: 335 astral ones are 670 UCS-2 units.
            settings_["body"] = f"x{settings_.get('body') or ''}"[:335]
            if data.draw(st.booleans()):
                settings_.pop("sender", None)
    if isinstance(email, dict):
        email["emailAddress"] = data.draw(st.sampled_from(EMAILS))
        settings_ = email.get("emailSettings")
        if isinstance(settings_, dict):
            subject = "".join(c for c in str(settings_.get("subject", "")) if c not in LINE_BREAKS)
            settings_["subject"] = f"s{subject}"[:900]
            settings_["body"] = f"x{settings_.get('body') or ''}"
            settings_.pop("senderEmailAddress", None)
    if isinstance(body.get("idempotencyId"), str):
        body["idempotencyId"] = "fz" + "".join(c for c in body["idempotencyId"] if c.isprintable())[:250]
    return case


def fuzz(base_url: str, examples: int) -> Findings:
    findings = Findings()
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    schema.config.update(base_url=base_url)
    session = requests.Session()

    def exercise(case: Any) -> None:
        case.headers = {**(case.headers or {})}
        case.headers.setdefault("X-Caller-Id", "fuzz-caller")
        if any(str(v) in (".", "..") for v in (case.path_parameters or {}).values()):
            return  # the client removes dot segments: it would be another path, not this operation
        if isinstance(case.body, dict):
            WATCHED.bodies.update(_message_bodies(case.body))
        response = case.call(session=session, timeout=30)
        findings.requests += 1
        findings.statuses[f"{case.operation.label} {response.status_code}"] += 1
        # A generated SMS sender that passes validation is one the emulated ACS resource does not
        # own: ACS answers 401, and the documented answer is 503 channel_not_configured.
        foreign_sender = response.status_code == 503 and _code(response) == "channel_not_configured"
        foreign_sender = foreign_sender and _sms_sender(case.body) not in (None, OWNED_SMS_SENDER)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, FailureGroup) as exc:  # one failure, or several found together
            for line in str(exc).splitlines():
                if line.startswith("- ") and not (foreign_sender and "Server error" in line):
                    findings.fail(f"{case.operation.label}: {line[2:]}", case, str(exc))
        if response.status_code == 201:
            findings.created[json.loads(response.content)["notification"]["shipmentId"]] = case.headers["X-Caller-Id"]
        if response.status_code >= 400:
            content_type = ",".join(response.headers.get("content-type", []))  # lower-case names, list values
            code = _code(response)
            if not content_type.startswith("application/problem+json") or not code:
                findings.fail(
                    f"{case.operation.label}: error without problem+json code",
                    case,
                    f"{response.status_code} {content_type}",
                )

    operations: list[APIOperation[Any, Any, Any, Any]] = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"the served OpenAPI document has an unusable operation: {result.err()}")
        operations.append(result.ok())
    for operation in operations:
        strategies: list[Callable[[], st.SearchStrategy[Any]]] = [
            partial(operation.as_strategy, GenerationMode.POSITIVE),
            partial(operation.as_strategy, GenerationMode.NEGATIVE),
        ]
        if operation.method.upper() == "POST":
            strategies.append(partial(_valid_posts, operation))
        for strategy in strategies:

            @given(case=strategy())
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                exercise(case)

            try:
                run()
            except Unsatisfiable:
                findings.statuses[f"{operation.label} (no invalid request possible)"] += 0
    # Random ids never hit a real shipment: read the ones the orders above created, as their callers.
    (shipment,) = [op for op in operations if op.label.startswith("GET /future/shipment/")]
    for shipment_id, caller in list(findings.created.items())[:examples]:
        exercise(shipment.Case(path_parameters={"shipmentId": shipment_id}, headers={"X-Caller-Id": caller}))
    return findings


def _valid_posts(operation: APIOperation[Any, Any, Any, Any]) -> st.SearchStrategy[Any]:
    """Generated orders patched by ``make_valid`` so they pass validation."""
    return st.builds(make_valid, operation.as_strategy(GenerationMode.POSITIVE), st.data())


def _message_bodies(order: dict[str, Any]) -> list[str]:
    """The message bodies of a generated order that are distinctive enough to look for later."""
    found = []
    for recipient, settings_name in (("recipientSms", "smsSettings"), ("recipientEmail", "emailSettings")):
        recipient_part = order.get(recipient)
        settings_part = recipient_part.get(settings_name) if isinstance(recipient_part, dict) else None
        body = settings_part.get("body") if isinstance(settings_part, dict) else None
        # short or repetitive strings would be found by chance (in ids, timestamps, a cron line)
        if isinstance(body, str) and len(body) >= 16 and len(set(body)) >= 10:
            found.append(body)
    return found


def _code(response: schemathesis.Response) -> str | None:
    try:
        code = json.loads(response.content).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) and code else None


async def run_fuzz(client: Client, examples: int) -> Findings:
    started = time.monotonic()
    findings = await asyncio.to_thread(fuzz, client.app_url, examples)
    figure(
        f"schemathesis ({examples} examples per operation and mode)",
        f"{findings.requests} requests in {time.monotonic() - started:.0f} s; "
        + ", ".join(f"{k}: {v}" for k, v in sorted(findings.statuses.items())),
    )
    return findings


@pytest.mark.timeout(300)
async def test_generated_requests_get_documented_answers(client: Client) -> None:
    findings = await run_fuzz(client, 60)
    assert not findings.failures, "\n\n".join(f"{k}\n{v}" for k, v in findings.failures.items())


@pytest.mark.slow
@pytest.mark.timeout(1800)
async def test_thousands_of_generated_requests(client: Client) -> None:
    findings = await run_fuzz(client, 600)
    assert not findings.failures, "\n\n".join(f"{k}\n{v}" for k, v in findings.failures.items())


async def test_the_served_document_is_the_one_the_code_generates(client: Client) -> None:
    # schemathesis leaves out the operation that serves the schema itself: checked here
    async with client.session.get(f"{client.app_url}/openapi.json") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        served = await response.json()
    assert served == json.loads(openapi_document())
    assert served["openapi"] == "3.1.0"
