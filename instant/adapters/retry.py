"""azure-core's retry policy reduced to one try per call, bounded by the request's deadline.

Provider retries have exactly one owner, the delivery ladder (instant/service/delivery.py): it
knows the time-to-live, the provider token and whether an attempt may have reached ACS. Left
to itself, azure-core would retry POST on 500/503/504 and on any status with Retry-After (and
sleep as long as Retry-After says) underneath it. This policy:
- never retries (``retry_total=0``); the ladder sees every failure,
- takes an absolute deadline per call (``instant_deadline``, a ``time.monotonic()`` value, from
  ``Deadline.monotonic_end``),
- bounds the try's connect and read timeouts by the time left (azure-core bounds only the
  connect timeout, so an unanswered request would otherwise wait for the 300 s read timeout).
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


class DeadlinePolicy(AsyncRetryPolicy):  # type: ignore[type-arg]
    """One try, whose timeouts end at the call's deadline."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["retry_total"] = 0
        super().__init__(**kwargs)

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Send once, with the deadline turned into the SDK's timeout options."""
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
