"""The ``delivery_report`` function: ACS delivery reports from Event Grid (Event Grid schema).

Takes Microsoft.Communication.SMSDeliveryReportReceived and EmailDeliveryReportReceived and hands
each to the service (instant/service/delivery_reports.py). Microsoft's own samples disagree on
key casing (``tag``/``Tag``, ``...Timestamp``/``...TimeStamp``) and status casing, so keys and
statuses are read case-insensitively. Raising makes Event Grid deliver the event again: only a
report that can succeed later raises; one that cannot be read is logged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import azure.functions as func
from opentelemetry.trace import SpanKind

from instant import bootstrap
from instant.domain.delivery_status import Report
from instant.domain.errors import StorageUnavailable
from instant.domain.records import Channel
from instant.observability.spans import DELIVERY_OUTCOME, set_attributes, trace_id_of, traced_span
from instant.service.delivery_reports import ReportNotReady

log = logging.getLogger("instant.entrypoints.delivery_reports")

SMS_EVENT = "Microsoft.Communication.SMSDeliveryReportReceived"
EMAIL_EVENT = "Microsoft.Communication.EmailDeliveryReportReceived"
UNREADABLE = "unreadable"

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]


@blueprint.event_grid_trigger(arg_name="event")
async def delivery_report(event: func.EventGridEvent) -> None:
    """One delivery report event; raises only when Event Grid should deliver it again."""
    with traced_span("instant.delivery_report", kind=SpanKind.CONSUMER, expected=(ReportNotReady,)) as span:
        report = report_from_event(event.event_type, event.id, event.event_time, event.get_json())
        if report is None:
            set_attributes(span, {DELIVERY_OUTCOME: UNREADABLE})
            log.warning("an event that is not a readable delivery report was dropped", extra={"event_id": event.id})
            return
        service = await bootstrap.service()
        try:
            outcome = await service.delivery_report(report, trace_id_of(span) or "0" * 32)
        except ReportNotReady:
            set_attributes(span, {DELIVERY_OUTCOME: "not_yet"})
            raise
        except StorageUnavailable:
            set_attributes(span, {DELIVERY_OUTCOME: "storage_unavailable"})
            raise
        set_attributes(span, {DELIVERY_OUTCOME: outcome})


def report_from_event(event_type: str, event_id: str, event_time: datetime | None, data: Any) -> Report | None:
    """The report an event carries, or None if it is not one we can read."""
    if not isinstance(data, Mapping) or not event_id:
        return None
    fields = {str(k).casefold(): v for k, v in data.items()}
    kind = event_type.strip().casefold()
    if kind == SMS_EVENT.casefold():
        return _report(
            Channel.SMS, event_id, event_time or _time(fields.get("receivedtimestamp")), fields, "deliverystatus", "to"
        )
    if kind == EMAIL_EVENT.casefold():
        when = event_time or _time(fields.get("deliveryattempttimestamp"))
        return _report(Channel.EMAIL, event_id, when, fields, "status", "recipient")
    return None


def _report(
    channel: Channel, event_id: str, when: datetime | None, fields: Mapping[str, Any], status_key: str, to_key: str
) -> Report | None:
    status, message_id, recipient = fields.get(status_key), fields.get("messageid"), fields.get(to_key)
    if not all(isinstance(v, str) and v.strip() for v in (status, message_id, recipient)):
        return None
    details = fields.get("deliverystatusdetails")
    if isinstance(details, Mapping):  # email: {"statusMessage": ..., "recipientMailServerHostName": ...}
        details = {str(k).casefold(): v for k, v in details.items()}.get("statusmessage")
    tag = fields.get("tag")
    return Report(
        channel=channel,
        event_id=event_id,
        event_time=when,
        provider_status=str(status).strip(),
        details=details if isinstance(details, str) else None,
        message_id=str(message_id).strip(),
        recipient=str(recipient).strip(),
        tag=tag if isinstance(tag, str) else None,
    )


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)  # 7 fractional digits are cut to 6
    except ValueError:
        return None
