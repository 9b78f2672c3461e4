"""Translation of azure-core transport failures, shared by the ACS adapters.

Whether a failed request may have reached ACS decides what a later retry may do (an SMS after
its deadline is ``outcome_unknown`` rather than ``ttl_expired`` if it may have arrived), so it is
judged conservatively: only a failure to connect proves the request was never sent. azure-core
reports a connection reset after sending as ServiceRequestError too, so the type alone is not
enough.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
)

from instant.domain.errors import ProviderMisconfigured, ProviderOutcomeUnknown, ProviderRejected, ProviderUnavailable

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Answers by which ACS refused a request without processing it: a throttle, or the service
# refusing work. Every other transient answer (a 500, a gateway's 502/504, a 408) may come after
# ACS took the message, so a later "nothing was sent" could be false.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
# Our credentials, or a sender the resource does not own (ACS answers 401 for a foreign "from").
CONFIGURATION_STATUSES = frozenset({401, 403})
# A repeat of a request ACS is still processing (repeatable requests: 409 while in progress).
IN_PROGRESS_STATUS = 409
# A repeat whose first-sent time is outside ACS's 5-minute repeatability window.
OUTSIDE_WINDOW_STATUS = 412


def unavailable(status: int, headers: Mapping[str, str] | None) -> ProviderUnavailable:
    """The transient failure of an HTTP answer, judged by whether ACS may have processed it."""
    return ProviderUnavailable(
        f"the provider answered {status}",
        retry_after=retry_after(headers),
        may_have_reached=status not in NOT_PROCESSED_STATUSES,
    )


def request_refused(status: int, headers: Mapping[str, str] | None, what: str) -> Exception:
    """The error of an answer to a whole request that is not its success, for both channels."""
    if status in TRANSIENT_STATUSES:
        return unavailable(status, headers)
    if status == IN_PROGRESS_STATUS:
        return in_progress(headers)
    if status == OUTSIDE_WINDOW_STATUS:
        return ProviderOutcomeUnknown(f"the provider refused the repeat of an earlier attempt ({status})")
    if status in CONFIGURATION_STATUSES:
        # ACS answers 401 both for our key and for a sender the resource does not own.
        return ProviderMisconfigured(f"the provider refused our sender or credentials ({status})")
    return ProviderRejected(f"the provider refused {what} ({status})")


def in_progress(headers: Mapping[str, str] | None) -> ProviderUnavailable:
    """A 409: the first request with this token is still being processed; ask again later."""
    return ProviderUnavailable(
        "the provider is still processing an earlier attempt", retry_after=retry_after(headers), may_have_reached=True
    )


def may_have_arrived(exc: AzureError) -> bool:
    """Whether a failed request may have reached ACS (only a failed connect proves it did not)."""
    if isinstance(exc, ServiceRequestTimeoutError):
        return False  # the connection was never made
    if isinstance(exc, ServiceRequestError):
        inner = exc.inner_exception or exc.__cause__
        return not isinstance(inner, aiohttp.ClientConnectorError)
    return True


def transport_failure(exc: AzureError) -> ProviderUnavailable:
    """The ProviderUnavailable for an azure-core transport failure."""
    if isinstance(exc, ClientAuthenticationError):
        return ProviderUnavailable("the provider refused our credentials")
    if may_have_arrived(exc):
        return ProviderUnavailable("the provider did not answer", may_have_reached=True)
    return ProviderUnavailable("the provider could not be reached")


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After in seconds (delta form only; ACS sends seconds)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
