"""Rendering of the service's answers into their exact wire bytes.

A first answer is rendered once and stored, so a replay returns the same bytes even if this
module changes later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from instant.errors import ProblemCode, ProblemError
from instant.idempotency import Channel, OrderRecord, StoredAnswer
from instant.schemas import InstantNotification, InstantOrderCreated, Problem, Shipment, ShipmentRecipient

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
ROUTE_PREFIX = "/notifications/api/v1"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    code: str  # "created", "replayed" or the problem code
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return PROBLEM_JSON if self.status >= 400 else JSON


def shipment_location(shipment_id: str) -> str:
    return f"{ROUTE_PREFIX}/future/shipment/{shipment_id}"


def problem_type(code: ProblemCode) -> str:
    # A stable URN: names the problem without pretending to be a page that can be fetched.
    return f"urn:instant-notifications:problem:{code.value}"


def render_problem(problem: ProblemError) -> str:
    kind = problem.kind
    return Problem(
        type=problem_type(problem.code),
        title=kind.title,
        status=kind.status,
        detail=problem.detail,
        code=problem.code.value,
        errors=problem.errors,
        fields=problem.fields,
    ).to_json()


def problem_answer(problem: ProblemError) -> Answer:
    headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after is not None else {}
    return Answer(problem.kind.status, render_problem(problem), problem.code.value, headers)


def created_answer(record: OrderRecord) -> StoredAnswer:
    body = InstantOrderCreated(
        notification_order_id=record.order_id,
        notification=InstantNotification(
            shipment_id=record.shipment_id,
            senders_reference=record.senders_reference,
            status=record.status.value,
        ),
    ).to_json()
    return StoredAnswer(201, body, "created")


def stored_problem(problem: ProblemError) -> StoredAnswer:
    return StoredAnswer(problem.kind.status, render_problem(problem), problem.code.value)


def first_answer(record: OrderRecord, stored: StoredAnswer) -> Answer:
    headers = {"Location": shipment_location(record.shipment_id)} if stored.status < 400 else {}
    return Answer(stored.status, stored.body, stored.code, headers)


def replay_answer(record: OrderRecord, stored: StoredAnswer) -> Answer:
    """The first answer's bytes again; a success becomes 200, an error keeps its status."""
    status = 200 if stored.status == 201 else stored.status
    headers = {"Idempotent-Replayed": "true"}
    if stored.status < 400:
        headers["Location"] = shipment_location(record.shipment_id)
    return Answer(status, stored.body, stored.code, headers)


def wire_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def shipment_answer(record: OrderRecord) -> Answer:
    last_update = wire_time(record.updated_at)
    body = Shipment(
        shipment_id=record.shipment_id,
        senders_reference=record.senders_reference,
        status="Order_Processing" if record.status.is_sending else "Order_Completed",
        last_update=last_update,
        recipients=[
            ShipmentRecipient(
                type="SMS" if record.channel is Channel.SMS else "Email",
                destination=record.recipient,
                status=record.status.value,
                last_update=last_update,
            )
        ],
    ).to_json()
    return Answer(200, body, "shipment")
