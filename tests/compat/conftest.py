"""The compatibility replay runs against the integration tests' local stack (Azurite, the ACS
emulator and the function app in the local host, each a real process)."""

from __future__ import annotations

from tests.integration.conftest import http_session, stack

__all__ = ["http_session", "stack"]
