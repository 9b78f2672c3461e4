"""SmsGateway on Azure Communication Services, REST api-version 2024-02-05.

azure-communication-sms 1.1.0's ``send()`` draws a fresh random repeatabilityRequestId on every
call and speaks 2021-03-07, which has no validity period. So we send our own JSON body through
the SDK's own pipeline (its HMAC or Entra ID signing; its retry policy replaced by our deadline
policy, which makes one try: instant/service/delivery.py owns the retries). That pipeline is a
private attribute: requirements.txt pins the SDK and
tests/integration covers this path against the emulator.
Spec: azure-rest-api-specs, specification/communication/data-plane/Sms/stable/2024-02-05.
"""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import Any

from azure.communication.sms.aio import SmsClient
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError

from instant.adapters.provider_errors import (
    CONFIGURATION_STATUSES,
    IN_PROGRESS_STATUS,
    OUTSIDE_WINDOW_STATUS,
    TRANSIENT_STATUSES,
    in_progress,
    request_refused,
    transport_failure,
    unavailable,
)
from instant.adapters.retry import DEADLINE_OPTION, DeadlinePolicy
from instant.adapters.transport import transport_options
from instant.domain.deadline import Deadline
from instant.domain.errors import ProviderMisconfigured, ProviderOutcomeUnknown, ProviderRejected
from instant.domain.ports import SmsMessage, SmsReceipt

API_VERSION = "2024-02-05"


class AcsSmsGateway:
    """SmsGateway on ACS: one POST /sms per call, with our repeatability fields."""

    def __init__(self, client: SmsClient, endpoint: str) -> None:
        self._client = client
        # The SDK's AsyncPipelineClient: authentication + retry + transport, as the SDK built it.
        self._pipeline_client = client._sms_service_client._client
        self._url = f"{endpoint.rstrip('/')}/sms"

    @classmethod
    def create(
        cls, endpoint: str, credential: AzureKeyCredential | AsyncTokenCredential, **options: Any
    ) -> AcsSmsGateway:
        """A gateway with its own SDK client on ``endpoint``."""
        options = {**transport_options(), **options}
        client = SmsClient(endpoint, credential, retry_policy=DeadlinePolicy(), **options)
        return cls(client, endpoint)

    async def send(self, message: SmsMessage, *, deadline: Deadline) -> SmsReceipt:
        """One attempt; see ``SmsGateway.send``."""
        body = {
            "from": message.sender,
            "smsRecipients": [
                {
                    "to": message.recipient,
                    "repeatabilityRequestId": message.token,
                    # RFC 1123, fixed at the first attempt: ACS compares it with its window.
                    "repeatabilityFirstSent": format_datetime(message.first_sent_at, usegmt=True),
                }
            ],
            "message": message.body,
            "smsSendOptions": _send_options(message),
        }
        request = self._pipeline_client.post(
            self._url,
            {"api-version": API_VERSION},
            {"Content-Type": "application/json", "Accept": "application/json"},
            content=body,
        )
        try:
            pipeline_response = await self._pipeline_client._pipeline.run(
                request, stream=False, **{DEADLINE_OPTION: deadline.monotonic_end()}
            )
        except AzureError as exc:
            # A retry later is safe either way: it carries the same repeatability id.
            raise transport_failure(exc) from exc
        return _receipt(pipeline_response.http_response)

    async def close(self) -> None:
        """Close the SDK client."""
        await self._client.close()


def _send_options(message: SmsMessage) -> dict[str, Any]:
    """Ask for a delivery report; its ``tag`` (the shipment id) leads the report to the order."""
    options: dict[str, Any] = {"enableDeliveryReport": True, "validityPeriodSeconds": message.validity_seconds}
    if message.tag is not None:
        options["tag"] = message.tag
    return options


def _receipt(response: Any) -> SmsReceipt:
    status = response.status_code
    if status != 202:
        # A 400 to the whole request: our request or sender was refused as such.
        raise request_refused(status, response.headers, "the request")
    try:
        item = json.loads(response.text())["value"][0]
        item_status = int(item.get("httpStatusCode") or 0)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ProviderOutcomeUnknown("the provider's answer could not be read") from exc
    if item.get("successful"):
        message_id = item.get("messageId")
        if not isinstance(message_id, str):
            raise ProviderOutcomeUnknown("the provider accepted without a message id")
        return SmsReceipt(message_id=message_id)
    if item_status == IN_PROGRESS_STATUS:
        raise in_progress(None)
    if item_status == OUTSIDE_WINDOW_STATUS or str(item.get("repeatabilityResult", "")).lower() == "rejected":
        # A repeat outside ACS's repeatability window: the first attempt may have been sent,
        # and ACS will not tell us. Never send again under this key. (A retry after attempts
        # that cannot have reached ACS starts a fresh window instead: transitions.take_over.)
        raise ProviderOutcomeUnknown("the provider refused the repeat of an earlier attempt")
    if item_status in TRANSIENT_STATUSES:
        raise unavailable(item_status, None)
    if item_status in CONFIGURATION_STATUSES:
        raise ProviderMisconfigured(f"the provider refused our sender or credentials ({item_status})")
    raise ProviderRejected(f"the provider refused the recipient ({item_status})")
