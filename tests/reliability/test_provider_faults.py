"""2. Provider faults: every way the emulator can fail, on both channels.

Promise: the answer is the contract's (docs/api.md, "Problem codes"), no key is delivered twice (a
retry with the same key included), and every request ends inside the request budget plus a
small margin. The cases of one channel run at the same time, as they would in production.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from tests.support.reliability import (
    BUDGET_SECONDS,
    CALLER,
    FAULTS,
    MARGIN_SECONDS,
    figure,
    new_key,
    payload_for,
)
from tests.support.reliability_clients import Client, Reply, Tables

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Fault:
    name: str
    recipient: str
    status: int  # the first answer
    code: str | None  # its problem code
    retry_status: int  # a retry with the same key
    delivered: int  # messages the emulator delivered under the key, in the end


SMS_FAULTS = [
    Fault("503 twice, then accepted", "+4790000002", 201, None, 200, 1),
    Fault("503 always", "+4790000006", 503, "provider_unavailable", 503, 0),
    Fault("429 with Retry-After, then accepted", "+4790000003", 201, None, 200, 1),
    Fault("429 without Retry-After, always", "+4790000009", 503, "provider_unavailable", 503, 0),
    Fault("per-recipient 503 inside a 202, then accepted", "+4790000007", 201, None, 200, 1),
    Fault("connection reset", "+4790000010", 503, "provider_unavailable", 503, 0),
    Fault("no answer", "+4790000005", 503, "provider_unavailable", 503, 0),
    Fault("slow (2 s)", "+4790000004", 201, None, 200, 1),
    Fault("definitive refusal", "+4790000001", 422, "recipient_rejected", 422, 0),
]
EMAIL_FAULTS = [
    Fault("503 twice, then accepted", f"503twice@{FAULTS}", 201, None, 200, 1),
    Fault("503 always", f"always503@{FAULTS}", 503, "provider_unavailable", 503, 0),
    Fault("429 with Retry-After, then accepted", f"429once@{FAULTS}", 201, None, 200, 1),
    Fault("429 without Retry-After, always", f"429always@{FAULTS}", 503, "provider_unavailable", 503, 0),
    Fault("connection reset", f"reset@{FAULTS}", 503, "provider_unavailable", 503, 0),
    Fault("no answer", f"hang@{FAULTS}", 503, "provider_unavailable", 503, 0),
    Fault("slow (2 s)", f"slow@{FAULTS}", 201, None, 200, 1),
    Fault("definitive refusal", f"reject@{FAULTS}", 422, "recipient_rejected", 422, 0),
    # ACS takes the operation and fails it seconds later: the POST answers once ACS took it
    Fault("operation ends Failed later", f"opfailed@{FAULTS}", 201, None, 200, 1),
]


async def run_fault(client: Client, tables: Tables, channel: str, fault: Fault) -> tuple[Fault, Reply, Reply, int]:
    key = new_key("fault")
    payload = payload_for(channel, key, fault.recipient)
    first = await client.post(channel, payload)
    again = await client.post(channel, payload)
    delivered = len(await client.delivered(channel, await tables.provider_token(CALLER, channel, key)))
    return fault, first, again, delivered


async def check_faults(client: Client, tables: Tables, channel: str, faults: list[Fault]) -> float:
    results = await asyncio.gather(*(run_fault(client, tables, channel, f) for f in faults))
    problems = []
    worst = 0.0
    for fault, first, again, delivered in results:
        got = (first.status, first.code, again.status, delivered)
        want = (fault.status, fault.code, fault.retry_status, fault.delivered)
        if got != want:
            problems.append(f"{fault.name}: got {got}, want {want}: {first.body[:200]!r}")
        for reply in (first, again):
            worst = max(worst, reply.elapsed)
            if reply.elapsed > BUDGET_SECONDS + MARGIN_SECONDS:
                problems.append(f"{fault.name}: answered after {reply.elapsed:.2f} s")
            if reply.status == 503 and "Retry-After" not in reply.headers:
                problems.append(f"{fault.name}: 503 without Retry-After")
            if reply.status >= 400 and not reply.headers["Content-Type"].startswith("application/problem+json"):
                problems.append(f"{fault.name}: error is not a problem: {reply.headers['Content-Type']}")
        if again.status != 503 and again.status != 200 and again.headers.get("Idempotent-Replayed") != "true":
            problems.append(f"{fault.name}: a stored outcome was not replayed")
        if again.status == 200 and again.body != first.body:
            problems.append(f"{fault.name}: the replay differs from the first answer")
    assert not problems, "\n".join(problems)
    return worst


@pytest.mark.parametrize(("channel", "faults"), [("sms", SMS_FAULTS), ("email", EMAIL_FAULTS)])
async def test_provider_faults_answer_the_contract_in_time(
    client: Client, tables: Tables, channel: str, faults: list[Fault]
) -> None:
    worst = await check_faults(client, tables, channel, faults)
    figure(
        f"provider faults {channel}",
        f"{len(faults)} faults x 2 requests at once; slowest answer {worst:.2f} s (budget {BUDGET_SECONDS:g} s)",
    )


@pytest.mark.slow
@pytest.mark.parametrize(("channel", "faults"), [("sms", SMS_FAULTS), ("email", EMAIL_FAULTS)])
async def test_provider_faults_ten_times_over(
    client: Client, tables: Tables, channel: str, faults: list[Fault]
) -> None:
    worst = 0.0
    for _ in range(10):
        worst = max(worst, await check_faults(client, tables, channel, faults * 3))
    figure(f"provider faults {channel} x30", f"slowest answer {worst:.2f} s (budget {BUDGET_SECONDS:g} s)")
