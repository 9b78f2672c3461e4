"""Response wire models: the shapes of the answers (201, the shipment, problems, health).

Separate from schemas.py, which holds the requests and their field rules: an answer is only
ever written by this service, so none of the request side's parsing applies to it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class ResponseModel(BaseModel):
    """Base of the answers: camelCase on the wire, absent values left out."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    def to_json(self) -> str:
        """The wire bytes of this answer."""
        return self.model_dump_json(by_alias=True, exclude_none=True)


class InstantNotification(ResponseModel):
    """The notification part of a 201: shipment id, reference, status."""

    shipment_id: str
    senders_reference: str | None = None
    status: str


class InstantOrderCreated(ResponseModel):
    """201 (and the 200 replay): the provider accepted the message."""

    notification_order_id: str
    notification: InstantNotification


class ShipmentRecipient(ResponseModel):
    """One recipient of a shipment, with its status."""

    type: Literal["SMS", "Email"]
    destination: str
    status: str
    last_update: str


class Shipment(ResponseModel):
    """GET .../future/shipment/{shipmentId}"""

    shipment_id: str
    senders_reference: str | None = None
    type: Literal["Instant"] = "Instant"
    status: Literal["Order_Processing", "Order_Completed"]
    last_update: str
    recipients: list[ShipmentRecipient]


class Problem(ResponseModel):
    """RFC 9457 problem details, with the stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, list[str]] | None = None
    errors_omitted: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="How many more fields were wrong than `errors` names (it names the first 20)."
    )
    fields: list[str] | None = None


class Health(ResponseModel):
    """The liveness answer."""

    status: Literal["ok"]
