"""EmailGateway on Azure Communication Services Email (azure-communication-email, async client).

``send`` makes one ``POST /emails:send`` with our deterministic ``Operation-Id``, so a repeat
never makes ACS send twice, and answers as soon as ACS took the operation: recorded ACS answers
``Retry-After: 3`` and keeps an operation ``Running`` for 3-10 s, so a caller held for the end of
the operation would wait for seconds and usually still get ``Running`` (docs/architecture.md,
"ACS facts"). With ``wait`` > 0 it asks for the status until a terminal one or the wait is up,
and never past the deadline. GET shipment and the status check before a re-post read
``GET /emails/operations/{id}`` (``status``). Both go through the client's public
``send_request``: the SDK's signing, and our one-try deadline policy.
Spec: azure-rest-api-specs, specification/communication/data-plane/Email (2025-09-01).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from azure.communication.email.aio import EmailClient
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest

from instant.adapters.provider_errors import (
    CONFIGURATION_STATUSES,
    request_refused,
    transport_failure,
    unavailable,
)
from instant.adapters.retry import DEADLINE_OPTION, DeadlinePolicy
from instant.adapters.transport import transport_options
from instant.domain.deadline import Deadline
from instant.domain.errors import (
    ProviderMisconfigured,
    ProviderUnavailable,
)
from instant.domain.ports import EmailContentType, EmailMessage, EmailOperationStatus, EmailReceipt

API_VERSION = "2025-09-01"
# How often a send with a wait asks for the status (the SDK's poller would obey Retry-After: 3).
POLLING_INTERVAL_SECONDS = 0.25
# ACS operation statuses (case-insensitive), reduced to what the service distinguishes.
_STATUSES = {
    "notstarted": EmailOperationStatus.RUNNING,
    "running": EmailOperationStatus.RUNNING,
    "succeeded": EmailOperationStatus.SUCCEEDED,
    "failed": EmailOperationStatus.FAILED,
    "canceled": EmailOperationStatus.FAILED,
}


class AcsEmailGateway:
    """EmailGateway on ACS Email: one POST with our Operation-Id, and the operation's status."""

    def __init__(self, client: EmailClient, endpoint: str) -> None:
        self._client = client
        self._endpoint = endpoint.rstrip("/")

    @classmethod
    def create(
        cls, endpoint: str, credential: AzureKeyCredential | AsyncTokenCredential, **options: Any
    ) -> AcsEmailGateway:
        """A gateway with its own SDK client on ``endpoint``."""
        options = {**transport_options(), **options}
        client = EmailClient(endpoint, credential, api_version=API_VERSION, retry_policy=DeadlinePolicy(), **options)
        return cls(client, endpoint)

    async def send(self, message: EmailMessage, *, deadline: Deadline, wait: float) -> EmailReceipt:
        """One attempt; see ``EmailGateway.send``."""
        content: dict[str, str] = {"subject": message.subject}
        content["html" if message.content_type is EmailContentType.HTML else "plainText"] = message.body
        payload: dict[str, Any] = {
            "senderAddress": message.sender,
            "recipients": {"to": [{"address": message.recipient}]},
            "content": content,
        }
        request = HttpRequest(
            "POST",
            f"{self._endpoint}/emails:send",
            params={"api-version": API_VERSION},
            headers={"Operation-Id": message.operation_id, "Accept": "application/json"},
            json=payload,
        )
        response = await self._call(request, deadline)
        if response.status_code != 202:
            raise _send_refused(response.status_code, response.headers)
        receipt = _receipt(message.operation_id, response.text())
        if receipt.status is EmailOperationStatus.RUNNING and wait > 0:
            return await self._wait_for_end(receipt, deadline, time.monotonic() + wait)
        return receipt

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        """The operation's status; see ``EmailGateway.status``."""
        request = HttpRequest(
            "GET", f"{self._endpoint}/emails/operations/{operation_id}", params={"api-version": API_VERSION}
        )
        response = await self._call(request, deadline)
        if response.status_code == 404:
            return None
        if response.status_code in CONFIGURATION_STATUSES:
            raise ProviderMisconfigured(f"the provider refused our credentials ({response.status_code})")
        if response.status_code != 200:
            raise unavailable(response.status_code, response.headers)
        return _receipt(operation_id, response.text())

    async def close(self) -> None:
        """Close the SDK client."""
        await self._client.close()

    async def _call(self, request: HttpRequest, deadline: Deadline) -> Any:
        try:
            options: dict[str, Any] = {DEADLINE_OPTION: deadline.monotonic_end()}
            response = await self._client.send_request(request, stream=False, **options)
            await response.read()
        except AzureError as exc:
            raise transport_failure(exc) from exc
        return response

    async def _wait_for_end(self, receipt: EmailReceipt, deadline: Deadline, until: float) -> EmailReceipt:
        """Ask for the status until it is terminal, ``until`` (monotonic) or the deadline."""
        while time.monotonic() + POLLING_INTERVAL_SECONDS < min(until, deadline.monotonic_end()):
            await asyncio.sleep(POLLING_INTERVAL_SECONDS)
            try:
                current = await self.status(receipt.operation_id, deadline=deadline)
            except ProviderUnavailable:
                return receipt  # ACS took it; the status is for later readers to find
            if current is not None and current.status is not EmailOperationStatus.RUNNING:
                return current
        return receipt


def _receipt(operation_id: str, text: str) -> EmailReceipt:
    try:
        body = json.loads(text)
        status = _STATUSES.get(str(body["status"]).lower(), EmailOperationStatus.RUNNING)
    except (ValueError, KeyError, TypeError) as exc:
        raise ProviderUnavailable("the operation status could not be read", may_have_reached=True) from exc
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return EmailReceipt(operation_id, status, error_code=str(code) if code else None)


def _send_refused(status: int, headers: Any) -> Exception:
    """The error of an answer to the send that is not a 202."""
    if status == 404:
        # DomainNotLinked: a sender domain the resource does not own.
        return ProviderMisconfigured(f"the provider refused our sender ({status})")
    return request_refused(status, headers, "the email")
