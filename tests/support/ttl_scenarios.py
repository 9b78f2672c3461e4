"""The time-to-live scenarios of tests/reliability/test_ttl.py: a provider that stays down past
the deadline. They mostly wait (the minimum time-to-live is 60 s), so the reliability conftest
starts them with the session (``background``) and the tests there judge their results.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.support.reliability import (
    BUDGET_SECONDS,
    CALLER,
    MARGIN_SECONDS,
    new_key,
    shipment,
    sms_payload,
    token,
)
from tests.support.reliability_clients import Client, Reply, Tables

ALWAYS_503 = "+4790000006"
NO_ANSWER = "+4790000005"
ALWAYS_429 = "+4790000009"
RESET = "+4790000010"


@dataclass
class TtlRun:
    recipient: str
    ttl: int
    key: str = ""
    deadline: datetime | None = None
    received_at: datetime | None = None
    deadlines_seen: list[datetime | None] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    provider_requests: list[dict[str, object]] = field(default_factory=list)
    delivered: int = 0


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


async def run_past_the_deadline(
    client: Client, tables: Tables, recipient: str, ttl: int, offsets: list[float]
) -> TtlRun:
    """First request now, then retries at ``deadline + offset`` for each offset."""
    run = TtlRun(recipient, ttl, key=new_key("ttl"))
    payload = sms_payload(run.key, recipient, ttl=ttl)
    shipment_id = shipment(CALLER, "sms", run.key)
    run.replies.append(await client.post("sms", payload))
    record = await tables.order(shipment_id)
    assert record is not None and record.deadline is not None
    run.deadline, run.received_at = record.deadline, record.received_at
    for offset in offsets:
        await _sleep_until(run.deadline + timedelta(seconds=offset))
        run.replies.append(await client.post("sms", payload))
        current = await tables.order(shipment_id)
        run.deadlines_seen.append(current.deadline if current else None)
    run.provider_requests = await client.requests_for("sms", token(CALLER, "sms", run.key, run.received_at))
    run.delivered = len(await client.delivered("sms", token(CALLER, "sms", run.key, run.received_at)))
    return run


def describe_replies(run: TtlRun) -> str:
    """Each reply of a run against the deadline, for a failure message."""
    assert run.deadline is not None
    return "; ".join(
        f"{r.status} {r.code} sent {(r.sent_at - run.deadline).total_seconds():+.2f} s, took {r.elapsed:.2f} s"
        for r in run.replies
    )


def judge(run: TtlRun, after_deadline_code: str) -> None:
    assert run.deadline is not None and run.received_at is not None
    # the window is fixed at the first receipt, and no retry moved it
    assert run.deadline == run.received_at + timedelta(seconds=run.ttl)
    assert set(run.deadlines_seen) == {run.deadline}
    # before the deadline: the provider is unavailable, retry; after it: final, stored, replayed.
    # (The service starts no attempt in the last 50 ms, so the final answer may come that early.)
    early = run.deadline - timedelta(seconds=0.1)
    before = [r for r in run.replies if r.received_at < early]
    assert before and run.replies[-1].sent_at >= run.deadline, describe_replies(run)
    assert {(r.status, r.code) for r in before} == {(503, "provider_unavailable")}, describe_replies(run)
    status = {"ttl_expired": 410, "outcome_unknown": 502}[after_deadline_code]
    first_final = next(i for i, r in enumerate(run.replies) if r.status != 503)
    assert run.replies[first_final].received_at >= early, describe_replies(run)
    after = run.replies[first_final:]
    assert [(r.status, r.code) for r in after] == [(status, after_deadline_code)] * len(after), describe_replies(run)
    assert [r.headers.get("Idempotent-Replayed") for r in after[1:]] == ["true"] * (len(after) - 1)
    assert all(r.body == after[0].body for r in after)
    # a request that straddles the deadline ends by the deadline, not a full budget later
    for reply in run.replies:
        assert reply.elapsed < BUDGET_SECONDS + MARGIN_SECONDS
        if reply.sent_at < run.deadline:
            assert reply.received_at < run.deadline + timedelta(seconds=MARGIN_SECONDS)
    # nothing reached the provider after the deadline
    arrivals = [datetime.fromisoformat(str(r["receivedAt"]).replace("Z", "+00:00")) for r in run.provider_requests]
    assert arrivals, "the provider was never tried"
    assert max(arrivals) < run.deadline, f"hand-off {max(arrivals) - run.deadline} after the deadline"
    assert run.delivered == 0


# Retries 45, 30 and 15 s before the deadline, one that straddles it, two after it.
OFFSETS = [-45.0, -30.0, -15.0, -BUDGET_SECONDS + 0.5, 1.0, 3.0]


async def default_scenarios(client: Client, tables: Tables) -> list[TtlRun]:
    return list(
        await asyncio.gather(
            run_past_the_deadline(client, tables, ALWAYS_503, 60, OFFSETS),
            run_past_the_deadline(client, tables, NO_ANSWER, 60, OFFSETS),
        )
    )


async def slow_scenarios(client: Client, tables: Tables) -> list[TtlRun]:
    # every 2 s for two minutes: many attempts end right at the deadline
    dense = [float(offset) for offset in range(-110, 0, 2)] + [0.5, 2.0]
    return list(
        await asyncio.gather(
            *(run_past_the_deadline(client, tables, r, 120, dense) for r in (ALWAYS_503, ALWAYS_429, RESET, NO_ANSWER))
        )
    )


# Started by the conftest at the beginning of the session, keyed by the test that judges them.
BACKGROUND = {
    "test_provider_down_past_the_deadline": default_scenarios,
    "test_provider_down_past_a_two_minute_deadline": slow_scenarios,
}
FINAL_CODE = {
    ALWAYS_503: "ttl_expired",
    ALWAYS_429: "ttl_expired",
    RESET: "outcome_unknown",
    NO_ANSWER: "outcome_unknown",
}
