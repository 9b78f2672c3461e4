"""The function app with crash points, for tests that kill the worker at a chosen moment.

``python -m sandbox.local_host --app tests.support.crash_points:app`` serves exactly the app of
``function_app.py``; the only difference is the service's adapters, wrapped in proxies that
SIGKILL this process (a real crash: no ``finally``, no shutdown hook, sockets torn down by the
kernel) at the point named by ``INSTANT_CRASH_AT``. Production code is not touched; this module
lives under tests/ because only tests serve it.

``INSTANT_CRASH_AT`` (unset or empty: never crash):
    after_claim              the claim (conditional insert) is stored, nothing sent yet
    during_provider_call     ``INSTANT_CRASH_DELAY`` s (0.3) into the provider call (use a slow recipient)
    after_provider_accepted  the provider answered 202, the final state is not written yet
    after_state_update       the final state and its audit entry are stored, the answer not sent yet
``INSTANT_CRASH_MATCH``: only orders whose recipient contains this text crash (default: all), so
a test can warm the worker up with other recipients first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from enum import StrEnum
from typing import Any, NoReturn, cast

from function_app import app, on_local_host_shutdown
from instant import bootstrap
from instant.config import Settings
from instant.domain.deadline import Deadline
from instant.domain.ports import (
    EmailGateway,
    EmailMessage,
    EmailReceipt,
    OrderStore,
    SmsGateway,
    SmsMessage,
    SmsReceipt,
)
from instant.domain.records import AuditEntry, OrderRecord, OrderState
from instant.service.instant_service import InstantService

__all__ = ["CrashPoint", "app", "on_local_host_shutdown"]


class CrashPoint(StrEnum):
    """Where in a request the worker is killed."""

    AFTER_CLAIM = "after_claim"
    DURING_PROVIDER_CALL = "during_provider_call"
    AFTER_PROVIDER_ACCEPTED = "after_provider_accepted"
    AFTER_STATE_UPDATE = "after_state_update"


def _crash() -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(137)  # not reached: SIGKILL cannot be caught


class _Armed:
    def __init__(self, point: CrashPoint | None, match: str, delay: float) -> None:
        self.point = point
        self.match = match
        self.delay = delay

    def at(self, point: CrashPoint, recipient: str) -> bool:
        return self.point is point and self.match in recipient


class CrashingStore:
    """The order store, killing the worker after the claim or the final write."""

    def __init__(self, inner: OrderStore, armed: _Armed) -> None:
        self._inner = inner
        self._armed = armed

    async def claim(self, record: OrderRecord) -> OrderRecord:
        claimed = await self._inner.claim(record)
        if self._armed.at(CrashPoint.AFTER_CLAIM, record.recipient):
            _crash()
        return claimed

    async def update(self, record: OrderRecord, audit: AuditEntry | None) -> OrderRecord:
        updated = await self._inner.update(record, audit)
        if record.state is OrderState.COMPLETED and self._armed.at(CrashPoint.AFTER_STATE_UPDATE, record.recipient):
            _crash()
        return updated

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # everything else, whatever the port grows


async def _crash_during(call: asyncio.Task[object], delay: float) -> NoReturn:
    with contextlib.suppress(asyncio.TimeoutError, Exception):
        await asyncio.wait_for(asyncio.shield(call), delay)
    _crash()


class CrashingSms:
    """The SMS gateway, killing the worker during or after the provider call."""

    def __init__(self, inner: SmsGateway, armed: _Armed) -> None:
        self._inner = inner
        self._armed = armed

    async def send(self, message: SmsMessage, *, deadline: Deadline) -> SmsReceipt:
        if self._armed.at(CrashPoint.DURING_PROVIDER_CALL, message.recipient):
            await _crash_during(asyncio.ensure_future(self._inner.send(message, deadline=deadline)), self._armed.delay)
        receipt = await self._inner.send(message, deadline=deadline)
        if self._armed.at(CrashPoint.AFTER_PROVIDER_ACCEPTED, message.recipient):
            _crash()
        return receipt

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class CrashingEmail:
    """The email gateway, killing the worker during or after the provider call."""

    def __init__(self, inner: EmailGateway, armed: _Armed) -> None:
        self._inner = inner
        self._armed = armed

    async def send(self, message: EmailMessage, *, deadline: Deadline, wait: float) -> EmailReceipt:
        if self._armed.at(CrashPoint.DURING_PROVIDER_CALL, message.recipient):
            call = asyncio.ensure_future(self._inner.send(message, deadline=deadline, wait=wait))
            await _crash_during(call, self._armed.delay)
        receipt = await self._inner.send(message, deadline=deadline, wait=wait)
        if self._armed.at(CrashPoint.AFTER_PROVIDER_ACCEPTED, message.recipient):
            _crash()
        return receipt

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def armed_from_environment() -> _Armed:
    """The crash point, recipient filter and delay from INSTANT_CRASH_*."""
    point = os.environ.get("INSTANT_CRASH_AT", "").strip()
    return _Armed(
        CrashPoint(point) if point else None,
        os.environ.get("INSTANT_CRASH_MATCH", ""),
        float(os.environ.get("INSTANT_CRASH_DELAY", "0.3")),
    )


async def build_crashing_service(config: Settings) -> InstantService:
    """The production service, built by bootstrap's own ``build_service`` (so whatever the
    composition root adds, telemetry and options, is kept), with its adapters wrapped."""
    armed = armed_from_environment()

    def crashing(ports: bootstrap.Ports) -> bootstrap.Ports:
        return bootstrap.Ports(
            cast(OrderStore, CrashingStore(ports.store, armed)),
            cast(SmsGateway, CrashingSms(ports.sms, armed)),
            cast(EmailGateway, CrashingEmail(ports.email, armed)),
        )

    return await bootstrap.build_service(config, decorate=crashing)


bootstrap.use_factory(build_crashing_service)
