"""The price of the abuse and cost controls (issue 12): new sends with the controls on (the app
as deployed: per-recipient counters in Table Storage) against a second app process on the same
Azurite and emulator with them off, paired request by request and alternating which goes first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import aiohttp

from bench.load import ServiceClient
from sandbox.services import LocalHostProcess, start_local_host_process

# The counting controls off, the request-level rules as permissive as they go: what the service
# did before issue 12.
CONTROLS_OFF: Final = {
    "SMS_RECIPIENT_LIMITS": "off",
    "EMAIL_RECIPIENT_LIMITS": "off",
    "SMS_DAILY_SEGMENT_BUDGET": "off",
    "SMS_ALLOWED_COUNTRIES": "*",
}

Paired = Callable[[int, Callable[[int], Awaitable[None]], Callable[[int], Awaitable[None]]], Awaitable[None]]


@dataclass
class ControlsResult:
    """New-send latencies per channel, controls on and off."""

    on: dict[str, list[float]] = field(default_factory=dict)
    off: dict[str, list[float]] = field(default_factory=dict)


async def start_controls_off_app(app_env: dict[str, str], workdir: Path) -> LocalHostProcess:
    """A second app process like the stack's, with the controls off."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    return await start_local_host_process({**app_env, **CONTROLS_OFF}, 0, workdir=workdir)


async def measure_controls(
    on: ServiceClient,
    session: aiohttp.ClientSession,
    off_url: str,
    *,
    channels: tuple[str, ...],
    warmup: int,
    samples: int,
    paired: Paired,
) -> ControlsResult:
    """``samples`` pairs per channel (after ``warmup`` discarded sends to the new process)."""
    off = ServiceClient(session, off_url)
    result = ControlsResult()
    for channel in channels:
        for _ in range(warmup):
            await off.send_new(channel)
        result.on[channel], result.off[channel] = [], []

        async def with_controls(_: int, channel: str = channel) -> None:
            result.on[channel].append((await on.send_new(channel)).seconds)

        async def without(_: int, channel: str = channel) -> None:
            result.off[channel].append((await off.send_new(channel)).seconds)

        await paired(samples, with_controls, without)
    return result
