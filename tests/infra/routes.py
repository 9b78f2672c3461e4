"""The HTTP surface of the function app: ONE list that every test reads.

The APIM API (infra/modules/apim-api.bicep) must expose exactly these operations, and the
function app must register exactly these routes (host.json routePrefix + @app.route). A test that
checks either side imports EXPECTED_ROUTES from here instead of keeping its own copy.

`auth` is who may call the route:
  "function"  -- function key (held by APIM alone) + a caller identified by APIM (JWT -> X-Caller-Id)
  "anonymous" -- no key, no JWT (health probe, OpenAPI document)
"""

from __future__ import annotations

from typing import Literal, NamedTuple

ROUTE_PREFIX = "notifications/api/v1"


class Route(NamedTuple):
    method: Literal["GET", "POST"]
    path: str  # full path including "/{ROUTE_PREFIX}", path parameters as {name}
    auth: Literal["function", "anonymous"]

    @property
    def relative(self) -> str:
        """Path below the route prefix, i.e. what @app.route(route=...) gets (no leading slash)."""
        prefix = f"/{ROUTE_PREFIX}/"
        assert self.path.startswith(prefix), self.path
        return self.path[len(prefix) :]


EXPECTED_ROUTES: tuple[Route, ...] = (
    Route("POST", f"/{ROUTE_PREFIX}/future/orders/instant/sms", "function"),
    Route("POST", f"/{ROUTE_PREFIX}/future/orders/instant/email", "function"),
    Route("GET", f"/{ROUTE_PREFIX}/future/shipment/{{shipmentId}}", "function"),
    Route("GET", f"/{ROUTE_PREFIX}/openapi.json", "anonymous"),
    Route("GET", f"/{ROUTE_PREFIX}/health", "anonymous"),
)
