"""A FunctionApp the local host must refuse at start-up: a route constraint it does not implement."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="items/{id:foo}", methods=["GET"])
async def item(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("never served")
