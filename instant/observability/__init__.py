"""Observability: JSON logs (logs.py) and traces (spans.py), exported to Application Insights
when its connection string is set.

Export: with APPLICATIONINSIGHTS_CONNECTION_STRING set, ``configure`` sets up the Azure Monitor
distro (azure-monitor-opentelemetry). It is imported only then: importing it takes longer than
importing the rest of the app. Ingestion authenticates as the infra sets it up
(APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD, read by the exporter itself).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from instant.observability.logs import LOGGER_NAME, configure_logging

if TYPE_CHECKING:
    from instant.config import Settings

_configured = False


def configure(settings: Settings) -> None:
    """Once per process (function_app.py calls it at import): JSON logs on the console, and
    export to Application Insights when its connection string is set."""
    global _configured
    if _configured:
        return
    _configured = True
    configure_logging()
    connection_string = settings.applicationinsights_connection_string
    if connection_string is not None:
        _configure_azure_monitor(connection_string.get_secret_value())


def _configure_azure_monitor(connection_string: str) -> None:
    # Imported here and only here: it costs more start-up time than the rest of the app.
    from azure.monitor.opentelemetry import configure_azure_monitor

    configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER_NAME)
    # One path to Application Insights: the app's records go through OpenTelemetry only, not also
    # through the worker's handlers on the root logger (which forward them to the host's own).
    logging.getLogger(LOGGER_NAME).propagate = False
