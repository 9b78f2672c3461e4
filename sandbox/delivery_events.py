"""Event Grid delivery-report events as ACS sends them (Event Grid schema): to POST to the local
host's webhook by hand, from the tests and from the bench."""

from __future__ import annotations

import uuid
from typing import Any

SMS_EVENT = "Microsoft.Communication.SMSDeliveryReportReceived"
EMAIL_EVENT = "Microsoft.Communication.EmailDeliveryReportReceived"
WEBHOOK = "/runtime/webhooks/eventgrid?functionName=delivery_report"
NOTIFICATION = {"aeg-event-type": "Notification"}


def sms_report_event(
    shipment_id: str, message_id: str, to: str, status: str, *, event_time: str = "2026-11-26T10:00:03.1234567Z"
) -> dict[str, Any]:
    """An SMS delivery report; ACS gives the event the message's id, and echoes our tag."""
    return {
        "id": message_id,
        "topic": "/subscriptions/x/resourceGroups/y/providers/microsoft.communication/communicationservices/z",
        "subject": f"/phonenumber/{to.lstrip('+')}",
        "eventType": SMS_EVENT,
        "eventTime": event_time,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "data": {
            "messageId": message_id,
            "from": "Instant",
            "to": to,
            "deliveryStatus": status,
            "deliveryStatusDetails": "Message expired." if status == "Expired" else "No error.",
            "receivedTimestamp": event_time,
            "tag": shipment_id,
        },
    }


def email_report_event(
    operation_id: str, recipient: str, status: str, *, event_time: str = "2026-11-26T10:00:04.1234567Z"
) -> dict[str, Any]:
    """An email delivery report for one recipient of the operation ``operation_id``."""
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
        "subject": f"sender/noreply@instant.example.com/message/{operation_id}",
        "eventType": EMAIL_EVENT,
        "eventTime": event_time,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "data": {
            "sender": "noreply@instant.example.com",
            "recipient": recipient,
            "messageId": operation_id,
            "status": status,
            "deliveryStatusDetails": {"statusMessage": status},
            "deliveryAttemptTimeStamp": event_time,
        },
    }
