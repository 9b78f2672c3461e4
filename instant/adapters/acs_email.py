"""EmailGateway on Azure Communication Services Email (azure-communication-email, async).

``begin_send`` carries our deterministic ``Operation-Id`` so a repeat never makes ACS send
twice; the poller's interval is set short (its default is 30 s) and the wait for a terminal
status is bounded by ``wait``: after that the answer is ``Running`` and GET shipment refreshes
it later. ``status()`` reads ``GET /emails/operations/{id}`` through the client's public
``send_request``, so a retry can ask before it posts again.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from azure.communication.email.aio import EmailClient
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.rest import HttpRequest

from instant.adapters.provider_errors import TRANSIENT_STATUSES, retry_after, transport_failure
from instant.adapters.retry import DEADLINE_OPTION, DeadlinePolicy
from instant.adapters.transport import transport_options
from instant.domain.deadline import Deadline
from instant.domain.errors import ProviderRejected, ProviderUnavailable
from instant.domain.ports import EmailContentType, EmailMessage, EmailOperationStatus, EmailReceipt

API_VERSION = "2025-09-01"
POLLING_INTERVAL_SECONDS = 0.25


class AcsEmailGateway:
    """EmailGateway on ACS Email: begin_send with our Operation-Id, and the operation's status."""

    def __init__(self, client: EmailClient, endpoint: str) -> None:
        self._client = client
        self._endpoint = endpoint.rstrip("/")

    @classmethod
    def create(
        cls, endpoint: str, credential: AzureKeyCredential | AsyncTokenCredential, **options: Any
    ) -> AcsEmailGateway:
        """A gateway with its own SDK client on ``endpoint``."""
        options = {**transport_options(), **options}
        client = EmailClient(
            endpoint,
            credential,
            api_version=API_VERSION,
            retry_policy=DeadlinePolicy(),
            polling_interval=POLLING_INTERVAL_SECONDS,
            **options,
        )
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
        end = deadline.monotonic_end()
        options: dict[str, Any] = {DEADLINE_OPTION: end, "polling_interval": POLLING_INTERVAL_SECONDS}
        try:
            poller = await self._client.begin_send(payload, operation_id=message.operation_id, **options)
        except HttpResponseError as exc:
            raise _translate_http(exc) from exc
        except AzureError as exc:
            raise transport_failure(exc) from exc
        # ACS took the operation. Wait briefly for a terminal status; Running is an answer too.
        try:
            await asyncio.wait_for(poller.result(), timeout=max(0.0, min(wait, end - time.monotonic())))
        except TimeoutError:
            return EmailReceipt(message.operation_id, EmailOperationStatus.RUNNING)
        except HttpResponseError as exc:
            if _poller_status(poller) == "failed":
                raise ProviderRejected("the email operation ended Failed") from exc
            return EmailReceipt(message.operation_id, EmailOperationStatus.RUNNING)
        except AzureError:
            return EmailReceipt(message.operation_id, EmailOperationStatus.RUNNING)
        return EmailReceipt(message.operation_id, EmailOperationStatus.SUCCEEDED)

    async def status(self, operation_id: str, *, deadline: Deadline) -> EmailReceipt | None:
        """The operation's status; see ``EmailGateway.status``."""
        request = HttpRequest(
            "GET", f"{self._endpoint}/emails/operations/{operation_id}", params={"api-version": API_VERSION}
        )
        try:
            options: dict[str, Any] = {DEADLINE_OPTION: deadline.monotonic_end()}
            response = await self._client.send_request(request, stream=False, **options)
            await response.read()
        except AzureError as exc:
            raise transport_failure(exc) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ProviderUnavailable(
                f"the provider answered {response.status_code}", retry_after=retry_after(response.headers)
            )
        try:
            status = str(json.loads(response.text())["status"]).lower()
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderUnavailable("the operation status could not be read") from exc
        if status == "succeeded":
            return EmailReceipt(operation_id, EmailOperationStatus.SUCCEEDED)
        if status in ("failed", "canceled"):
            return EmailReceipt(operation_id, EmailOperationStatus.FAILED)
        return EmailReceipt(operation_id, EmailOperationStatus.RUNNING)

    async def close(self) -> None:
        """Close the SDK client."""
        await self._client.close()


def _poller_status(poller: Any) -> str:
    try:
        return str(poller.status()).lower()
    except Exception:  # the status is only a hint for the error's meaning
        return ""


def _translate_http(exc: HttpResponseError) -> Exception:
    status = exc.status_code or 0
    if status in TRANSIENT_STATUSES:
        headers = getattr(exc.response, "headers", None)
        return ProviderUnavailable(f"the provider answered {status}", retry_after=retry_after(headers))
    if status in (401, 403):
        return ProviderUnavailable(f"the provider refused our credentials ({status})")
    return ProviderRejected(f"the provider refused the email ({status})")
