"""The Function App: registers the blueprints; nothing else.

Settings are validated at import, so a missing or malformed setting stops start-up with a
message that names it (docs/api.md, "Settings").
"""

from __future__ import annotations

import azure.functions as func

from instant import bootstrap, observability
from instant.entrypoints.delivery_reports import blueprint as delivery_reports_blueprint
from instant.entrypoints.http import blueprint as http_blueprint
from instant.entrypoints.retention_timer import blueprint as retention_blueprint

# JSON logs on a local console; export to Application Insights when its connection string is set.
observability.configure(bootstrap.settings())

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(http_blueprint)
app.register_functions(retention_blueprint)
app.register_functions(delivery_reports_blueprint)


async def on_local_host_shutdown() -> None:
    """Called by sandbox/local_host.py so the SDK clients close cleanly."""
    await bootstrap.close()
