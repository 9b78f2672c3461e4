"""Helpers of the reliability suite: what must never leak, figures, payloads, app processes.

Tests import these; tests/reliability/conftest.py holds only the fixtures and pytest hooks.
Every message body of the session carries a fresh passcode and MARKER (``passcode_body()``),
so a leak of any of them is detectable.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from instant.domain.records import Channel, email_operation_id_for, provider_token_for, shipment_id_for
from sandbox.services import REPO_ROOT, LocalHostProcess, start_local_host_process
from tests.support.integration import base_environment, new_email, new_phone

__all__ = ["new_email", "new_phone"]  # the suite imports them from here, with the rest

PREFIX = "/notifications/api/v1"
TABLE = "instantorders"
# The request budget of every app in this suite; the lease is budget + 5 s.
BUDGET_SECONDS = 3.0
LEASE_SECONDS = BUDGET_SECONDS + 5.0
# What a request may take beyond the budget: the claim, the final write, HTTP on a loaded 2-core box.
MARGIN_SECONDS = 1.5
CALLER = "rel-caller"
MARKER = "rlmark" + secrets.token_hex(6)
# Every app of the suite digests bodies under this key (HMAC-SHA256), as in Azure; the secrets
# scan checks that neither the key nor a plain SHA-256 of any body is stored anywhere.
DIGEST_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
FAULTS = "faults.example.com"


# -- what must never leak ----------------------------------------------------------------------


@dataclass
class Watched:
    """Everything the secrets scan looks for, and everywhere it looks."""

    passcodes: set[str] = field(default_factory=set)
    bodies: set[str] = field(default_factory=set)
    access_keys: set[str] = field(default_factory=set)
    log_files: set[Path] = field(default_factory=set)
    # name -> connection string of every Azurite the service wrote to (scanned while it runs)
    azurites: dict[str, str] = field(default_factory=dict)
    stopped_azurites: set[str] = field(default_factory=set)


WATCHED = Watched()


def passcode_body(prefix: str = "Your code is") -> str:
    """A message body with a fresh passcode and MARKER, both watched by the secrets scan."""
    code = str(random.SystemRandom().randrange(10**7, 10**8))
    body = f"{prefix} {code}. {MARKER}"
    WATCHED.passcodes.add(code)
    WATCHED.bodies.add(body)
    return body


# -- figures for tests/reliability/README.md -----------------------------------------------------

FIGURES: dict[str, str] = {}


def figure(name: str, value: str) -> None:
    """Record a figure for the end-of-run summary (tests/reliability/README.md)."""
    FIGURES[name] = value


# -- payloads ----------------------------------------------------------------------------------


def new_key(prefix: str = "rel") -> str:
    """A fresh idempotency key."""
    return f"{prefix}-{uuid.uuid4().hex}"


def sms_payload(key: str, phone: str, *, ttl: int = 300, body: str | None = None) -> dict[str, Any]:
    """An SMS order body (a watched passcode body unless ``body`` is given)."""
    return {
        "idempotencyId": key,
        "sendersReference": "ref-rel",
        "recipientSms": {
            "phoneNumber": phone,
            "timeToLiveInSeconds": ttl,
            "smsSettings": {"body": body if body is not None else passcode_body()},
        },
    }


def email_payload(key: str, address: str, *, body: str | None = None) -> dict[str, Any]:
    """An email order body (a watched passcode body unless ``body`` is given)."""
    return {
        "idempotencyId": key,
        "recipientEmail": {
            "emailAddress": address,
            "emailSettings": {
                "subject": "Your code",
                "body": body if body is not None else passcode_body(),
                "contentType": "Plain",
            },
        },
    }


def payload_for(channel: str, key: str, recipient: str, **options: Any) -> dict[str, Any]:
    """An order body for ``channel`` ("sms" or "email")."""
    return sms_payload(key, recipient, **options) if channel == "sms" else email_payload(key, recipient, **options)


def body_of(payload: dict[str, Any]) -> str:
    """The message body of an order body."""
    if "recipientSms" in payload:
        return str(payload["recipientSms"]["smsSettings"]["body"])
    return str(payload["recipientEmail"]["emailSettings"]["body"])


def token(caller: str, channel: str, key: str, received_at: datetime) -> str:
    """The provider token of an order: SMS repeatabilityRequestId, email Operation-Id. It depends
    on the order's first receipt (``received_at`` of its record; ``Tables.provider_token``)."""
    if channel == "email":
        return email_operation_id_for(caller, key, received_at)
    return provider_token_for(caller, Channel(channel), key, received_at)


def shipment(caller: str, channel: str, key: str) -> str:
    """The shipment id the service gives a key."""
    return shipment_id_for(caller, Channel(channel), key)


# -- app processes of our own (extra workers, crash points, storage faults) --------------------


async def start_app(
    env: dict[str, str],
    workdir: Path,
    *,
    app: str = "function_app:app",
    port: int = 0,
    extra_args: tuple[str, ...] = (),
) -> LocalHostProcess:
    """The function app in a local host process of its own. host.json is passed explicitly: an app
    module outside the repository root (tests.support.crash_points) would not find it next to itself."""
    host = await start_local_host_process(
        env, port, app=app, workdir=workdir, extra_args=["--host-json", str(REPO_ROOT / "host.json"), *extra_args]
    )
    WATCHED.log_files.add(host.log_path)
    return host


@asynccontextmanager
async def running_app(
    env: dict[str, str],
    workdir: Path,
    *,
    app: str = "function_app:app",
    port: int = 0,
    extra_args: tuple[str, ...] = (),
) -> AsyncIterator[LocalHostProcess]:
    """``start_app`` for the length of an ``async with`` block, stopped however the block ends."""
    host = await start_app(env, workdir, app=app, port=port, extra_args=extra_args)
    try:
        yield host
    finally:
        await host.stop()


def reliability_environment(**overrides: str) -> dict[str, str]:
    """The environment of every app in this suite (budget, digest key), plus ``overrides``."""
    env = base_environment(INSTANT_REQUEST_BUDGET_SECONDS=f"{BUDGET_SECONDS:g}", INSTANT_DIGEST_KEY=DIGEST_KEY)
    env.update(overrides)
    return env


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
