"""The wire format of every answer: the ``AnswerRenderer`` the service is given, and the
mapping of a raised ProblemError to its answer.

A first answer is rendered once and stored, so a replay returns the same bytes even if this
module changes later.
"""

from __future__ import annotations

from datetime import datetime

from instant.domain.answer import Answer
from instant.domain.errors import ProblemCode, ProblemError
from instant.domain.records import Channel, OrderRecord, StoredAnswer
from instant.entrypoints.response_models import (
    InstantNotification,
    InstantOrderCreated,
    Problem,
    Shipment,
    ShipmentRecipient,
)

ROUTE_PREFIX = "/notifications/api/v1"


def shipment_location(shipment_id: str) -> str:
    """The path of a shipment, as the Location header gives it."""
    return f"{ROUTE_PREFIX}/future/shipment/{shipment_id}"


def problem_type(code: ProblemCode) -> str:
    """A stable URN: names the problem without pretending to be a page that can be fetched."""
    return f"urn:instant-notifications:problem:{code.value}"


def render_problem(problem: ProblemError) -> str:
    """The problem+json body of ``problem`` (RFC 9457 plus ``code``)."""
    kind = problem.kind
    return Problem(
        type=problem_type(problem.code),
        title=kind.title,
        status=kind.status,
        detail=problem.detail,
        code=problem.code.value,
        errors=problem.errors,
        errors_omitted=problem.errors_omitted or None,
        fields=problem.fields,
    ).to_json()


def problem_answer(problem: ProblemError) -> Answer:
    """The answer to a raised problem, with its Retry-After."""
    headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after is not None else {}
    return Answer(problem.kind.status, render_problem(problem), problem.code.value, headers)


def wire_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as Altinn writes times."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class WireRenderer:
    """The service's ``AnswerRenderer``: Altinn's JSON shapes through the pydantic wire models."""

    def created(self, record: OrderRecord) -> StoredAnswer:
        """The 201 body of a new order."""
        body = InstantOrderCreated(
            notification_order_id=record.order_id,
            notification=InstantNotification(
                shipment_id=record.shipment_id,
                senders_reference=record.senders_reference,
                status=record.status.value,
            ),
        ).to_json()
        return StoredAnswer(201, body, "created")

    def problem(self, problem: ProblemError) -> StoredAnswer:
        """A problem+json body with its status and code."""
        return StoredAnswer(problem.kind.status, render_problem(problem), problem.code.value)

    def shipment(self, record: OrderRecord) -> Answer:
        """The GET shipment answer."""
        last_update = wire_time(record.updated_at)
        body = Shipment(
            shipment_id=record.shipment_id,
            senders_reference=record.senders_reference,
            status="Order_Completed" if record.status.is_terminal else "Order_Processing",
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

    def location(self, shipment_id: str) -> str:
        """The Location header's path."""
        return shipment_location(shipment_id)
