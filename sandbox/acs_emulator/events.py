"""Optional delivery reports: Event Grid events POSTed to a webhook URL some time after a send.

Off unless a webhook URL is configured. The shapes are the Event Grid schema examples in the Event
Grid docs (MicrosoftDocs/azure-docs articles/event-grid/communication-services-telephony-sms-events.md
and communication-services-email-events.md): an array of events, header ``aeg-event-type: Notification``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import aiohttp

from .email_faults import REPORT_FAULTS
from .sms_faults import SMS_REPORT_EXPIRED, SMS_REPORT_FAILED
from .state import EmailMessage, EmulatorState, JSONDict, SmsMessage, now_iso

TOPIC = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator"
    "/providers/microsoft.communication/communicationservices/acs-emulator"
)
_SMS_STATUS = {
    SMS_REPORT_FAILED: ("Failed", "Message failed to deliver."),
    SMS_REPORT_EXPIRED: ("Expired", "Message expired."),
}
_EMAIL_STATUS = {
    "bounced": "Bounced",
    "reportsuppressed": "Suppressed",
    "reportfailed": "Failed",
    "filteredspam": "FilteredSpam",
    "quarantined": "Quarantined",
}


def _event(event_type: str, subject: str, data: JSONDict) -> JSONDict:
    return {
        "id": str(uuid.uuid4()),
        "topic": TOPIC,
        "subject": subject,
        "data": data,
        "eventType": event_type,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": now_iso(),
    }


def sms_report(message: SmsMessage, tag: str | None) -> JSONDict:
    """Microsoft.Communication.SMSDeliveryReportReceived for one delivered SMS."""
    status, details = _SMS_STATUS.get(message.to, ("Delivered", "No error."))
    now = datetime.now(UTC).isoformat()
    data: JSONDict = {
        "MessageId": message.message_id,
        "From": message.sender,
        "To": message.to,
        "DeliveryStatus": status,
        "DeliveryStatusDetails": details,
        "ReceivedTimestamp": now,
        "DeliveryAttempts": [
            {
                "Timestamp": now,
                "SegmentsSucceeded": int(status == "Delivered"),
                "SegmentsFailed": int(status != "Delivered"),
            }
        ],
    }
    if tag is not None:
        data["Tag"] = tag
    return _event("Microsoft.Communication.SMSDeliveryReportReceived", f"/phonenumber/{message.to.lstrip('+')}", data)


def email_reports(message: EmailMessage, faults: set[str]) -> list[JSONDict]:
    """Microsoft.Communication.EmailDeliveryReportReceived, one per recipient."""
    status = next((_EMAIL_STATUS[f] for f in sorted(faults) if f in _EMAIL_STATUS), "Delivered")
    subject = f"sender/{message.sender}/message/{message.operation.id}"
    return [
        _event(
            "Microsoft.Communication.EmailDeliveryReportReceived",
            subject,
            {
                "sender": message.sender,
                "recipient": recipient,
                "messageId": message.operation.id,
                "status": status,
                "deliveryStatusDetails": {"statusMessage": "No error." if status == "Delivered" else status},
                "deliveryAttemptTimeStamp": datetime.now(UTC).isoformat(),
            },
        )
        for recipient in message.addresses()
    ]


async def _post_later(url: str, delay: float, events: list[JSONDict]) -> None:
    await asyncio.sleep(delay)
    # A webhook that is down loses the report, as an Event Grid subscription without retries would.
    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            headers = {"aeg-event-type": "Notification"}
            async with session.post(url, json=events, headers=headers) as response:
                await response.read()


def _schedule(state: EmulatorState, events: list[JSONDict]) -> None:
    url = state.options.webhook_url
    if url is None or not events:
        return
    task = asyncio.get_running_loop().create_task(_post_later(url, state.options.webhook_delay_seconds, events))
    state.event_tasks.add(task)
    task.add_done_callback(state.event_tasks.discard)


def schedule_sms_report(state: EmulatorState, message: SmsMessage, tag: str | None) -> None:
    """Report this SMS later (only with a webhook URL and enableDeliveryReport)."""
    if state.options.webhook_url is not None:
        _schedule(state, [sms_report(message, tag)])


def schedule_email_report(state: EmulatorState, message: EmailMessage, faults: set[str]) -> None:
    """Report this email later (only with a webhook URL); not for operations that end Failed/Canceled."""
    if state.options.webhook_url is not None and not faults & {"opfailed", "suppressed", "canceled"}:
        _schedule(state, email_reports(message, faults & REPORT_FAULTS))
