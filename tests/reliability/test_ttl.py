"""5. Time-to-live: a provider that stays unavailable past the deadline.

Promise: the deadline is fixed at the first receipt (first receipt + timeToLiveInSeconds; a
retry never gets a fresh window), nothing is handed to the provider after it (the emulator's
request log says when each request arrived), and a retry after it gets 410 ttl_expired, or 502
outcome_unknown when an earlier attempt may have reached the provider.

The minimum time-to-live is 60 s, so these scenarios mostly wait: they start with the session
(tests/reliability/conftest.py, ``background``) and run alongside the other tests; the tests
here only collect and judge their results.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.support.reliability import figure
from tests.support.ttl_scenarios import FINAL_CODE, TtlRun, judge

pytestmark = pytest.mark.integration


async def test_provider_down_past_the_deadline(background: dict[str, asyncio.Task[list[TtlRun]]]) -> None:
    runs = await background["test_provider_down_past_the_deadline"]
    for run in runs:
        judge(run, FINAL_CODE[run.recipient])
    figure("time-to-live (ttl 60 s)", "; ".join(describe(run) for run in runs))


def describe(run: TtlRun) -> str:
    assert run.deadline is not None
    last = max(datetime.fromisoformat(str(r["receivedAt"]).replace("Z", "+00:00")) for r in run.provider_requests)
    return (
        f"{run.recipient}: {len(run.provider_requests)} provider requests, the last "
        f"{(run.deadline - last).total_seconds():.2f} s before the deadline; after it {run.replies[-1].status}"
    )


@pytest.mark.slow
async def test_provider_down_past_a_two_minute_deadline(background: dict[str, asyncio.Task[list[TtlRun]]]) -> None:
    runs = await background["test_provider_down_past_a_two_minute_deadline"]
    for run in runs:
        judge(run, FINAL_CODE[run.recipient])
    figure("time-to-live (ttl 120 s, retries every 2 s)", "; ".join(describe(run) for run in runs))
