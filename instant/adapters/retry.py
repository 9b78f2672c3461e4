"""azure-core's retry policy, bounded by the request's own deadline.

azure-core retries POST on 500/503/504 and on any status with Retry-After, and sleeps as long
as Retry-After says (design.md, "ACS facts"). Left alone, a ``Retry-After: 30`` would hold the
caller past the request budget. This policy keeps the SDK's retries but:
- takes an absolute deadline per call (``instant_deadline``, a ``time.monotonic()`` value),
- never starts a retry whose wait would end at or after the deadline (it returns the last
  response instead, so the adapter can report the provider's Retry-After to the caller),
- bounds each try's connect and read timeouts by the time left (azure-core bounds only the
  connect timeout, so an unanswered request would otherwise wait for the 300 s read timeout),
- retries POST after connection errors: our POSTs carry provider idempotency tokens.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import AsyncRetryPolicy

DEADLINE_OPTION = "instant_deadline"
_CONTEXT_KEY = "instant_deadline"
# A try needs at least this long to be worth starting.
_MIN_TRY_SECONDS = 0.05


class BudgetedRetryPolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("retry_total", 4)
        kwargs.setdefault("retry_backoff_factor", 0.2)
        kwargs.setdefault("retry_backoff_max", 2)
        kwargs.setdefault("retry_on_methods", frozenset({"GET", "POST"}))
        super().__init__(**kwargs)
        self._method_whitelist = frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"})

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        options = request.context.options
        deadline = options.pop(DEADLINE_OPTION, None)
        if deadline is not None:
            request.context[_CONTEXT_KEY] = float(deadline)
            options["timeout"] = max(0.0, float(deadline) - time.monotonic())
        return await super().send(request)

    def _configure_timeout(
        self, request: PipelineRequest[Any], absolute_timeout: float, is_response_error: bool
    ) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        deadline = request.context.get(_CONTEXT_KEY)
        if deadline is not None:
            left = max(_MIN_TRY_SECONDS, deadline - time.monotonic())
            request.context.options["read_timeout"] = left
            request.context.options["connection_timeout"] = min(
                left, request.context.options.get("connection_timeout") or left
            )

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        if not bool(super().is_retry(settings, response)):
            return False
        deadline = response.context.get(_CONTEXT_KEY)
        if deadline is None:
            return True
        wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time({**settings, "history": [*settings["history"], None]})
        return bool(time.monotonic() + float(wait) + _MIN_TRY_SECONDS < float(deadline))
