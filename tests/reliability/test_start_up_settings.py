"""What the app refuses to start with (issue "Hardening", point 5, and "First deployment", point 3).

Promise: outside local development, said explicitly (INSTANT_LOCAL_DEVELOPMENT=true), a missing
or short INSTANT_DIGEST_KEY stops start-up with a message naming it: a plain SHA-256 of a
passcode body is reversed by trying the million codes. And the one setting the app may start
without is the SMS sender, which it says once.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from instant.config import SETTING_NAMES
from sandbox.services import REPO_ROOT

# Azure's shape: endpoints only, managed identity for both (no key, no connection string).
AZURE_LIKE = {
    "ACS_ENDPOINT": "https://example.communication.azure.com",
    "TABLES_ENDPOINT": "https://example.table.core.windows.net",
    "SMS_DEFAULT_SENDER": "Instant",
    "EMAIL_DEFAULT_SENDER": "noreply@instant.example.com",
}


def import_app(**settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-c", "import function_app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "digest_key",
    [None, "", base64.b64encode(b"x" * 16).decode()],
    ids=["missing", "empty", "16 bytes"],
)
def test_outside_local_development_a_missing_or_short_digest_key_stops_start_up(digest_key: str | None) -> None:
    settings = dict(AZURE_LIKE)
    if digest_key is not None:
        settings["INSTANT_DIGEST_KEY"] = digest_key
    result = import_app(**settings)
    assert result.returncode != 0, "the app started with plain SHA-256 digests outside local development"
    assert "INSTANT_DIGEST_KEY" in result.stderr


def test_local_development_must_be_said_and_then_plain_digests_are_allowed() -> None:
    assert import_app(**AZURE_LIKE, INSTANT_LOCAL_DEVELOPMENT="true").returncode == 0
    assert import_app(**AZURE_LIKE, INSTANT_DIGEST_KEY=base64.b64encode(b"k" * 32).decode()).returncode == 0


def test_without_an_sms_sender_the_app_starts_and_says_so_once() -> None:
    settings = {k: v for k, v in AZURE_LIKE.items() if k != "SMS_DEFAULT_SENDER"}
    result = import_app(**settings, INSTANT_DIGEST_KEY=base64.b64encode(b"k" * 32).decode())
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("SMS_DEFAULT_SENDER is not set") == 1
