"""1. Concurrency storm: many concurrent copies of each key, mixed with replays of finished keys.

Promise: at most one message per key; every answer 201, 200 or 409; a replay is the first
answer's bytes; one order record and an audit entry per answered request.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.reliability import (
    DIGEST_KEY,
    body_of,
    chunks,
    figure,
    new_email,
    new_key,
    new_phone,
    payload_for,
    shipment,
    token,
)
from tests.support.reliability_clients import Client, Reply, Tables

pytestmark = pytest.mark.integration

KEYS = 50
COPIES = (4, 8)  # concurrent copies of each new key
KEYS_PER_WAVE = 10
REPLAYS_PER_WAVE = 12  # replays of keys finished in earlier waves, mixed into each wave


@dataclass
class Storm:
    payloads: dict[str, dict[str, Any]]
    replies: dict[str, list[Reply]]

    @property
    def statuses(self) -> Counter[int]:
        return Counter(r.status for replies in self.replies.values() for r in replies)


async def storm(client: Client, channel: str, caller: str, keys: int, seed: int) -> Storm:
    rng = random.Random(seed)
    all_keys = [new_key("storm") for _ in range(keys)]
    payloads = {k: payload_for(channel, k, new_phone() if channel == "sms" else new_email()) for k in all_keys}
    replies: dict[str, list[Reply]] = defaultdict(list)
    finished: list[str] = []

    async def send(key: str) -> None:
        replies[key].append(await client.post(channel, payloads[key], caller=caller))

    for wave in chunks(all_keys, KEYS_PER_WAVE):
        calls = [key for key in wave for _ in range(rng.randint(*COPIES))]
        calls += rng.sample(finished, min(len(finished), REPLAYS_PER_WAVE))
        rng.shuffle(calls)
        await asyncio.gather(*(send(key) for key in calls))
        finished += wave
    return Storm(payloads, {k: replies[k] for k in all_keys})


async def check_storm(client: Client, tables: Tables, channel: str, caller: str, result: Storm) -> None:
    assert set(result.statuses) <= {200, 201, 409}, result.statuses
    inbox = await client.inbox()
    records = {e["PartitionKey"]: e for e in await tables.orders_of(caller)}
    assert len(records) == len(result.replies)  # one order record per key, nothing else
    for key, replies in result.replies.items():
        created = [r for r in replies if r.status == 201]
        assert len(created) == 1, (key, [r.status for r in replies])
        for r in replies:
            if r.status == 200:
                assert r.body == created[0].body and r.headers["Idempotent-Replayed"] == "true"
            if r.status == 409:
                assert r.code == "request_in_progress" and r.headers["Retry-After"] == "1"
        # exactly one message reached the emulator for this key (its token includes the order's
        # first receipt, as stored)
        provider_token = token(caller, channel, key, records[shipment(caller, channel, key)]["ReceivedAt"])
        if channel == "sms":
            sent = [m for m in inbox["sms"] if m["repeatabilityRequestId"] == provider_token]
        else:
            sent = [m for m in inbox["email"] if m["operationId"] == provider_token]
        assert len(sent) == 1, (key, len(sent))
        # the record: completed, its stored answer is the 201's bytes
        shipment_id = shipment(caller, channel, key)
        record = records[shipment_id]
        assert record["State"] == "completed"
        assert record["AnswerBody"].encode() == created[0].body
        # the audit: one entry per answer, naming this caller, key and body digest
        audit = await tables.audit(shipment_id)
        assert Counter(a.http_status for a in audit) == Counter(r.status for r in replies), key
        assert all(a.replay == (a.http_status == 200) for a in audit)
        # outcomes: one "created", replays repeat it (flagged), the rest were told to wait
        expected = Counter({201: "created", 200: "created", 409: "request_in_progress"}[r.status] for r in replies)
        assert Counter(a.outcome for a in audit) == expected
        assert {a.caller for a in audit} == {caller}
        assert {a.idempotency_id for a in audit} == {key}
        # the body's digest is keyed (INSTANT_DIGEST_KEY): the same for every entry of the key
        digest = hmac.new(base64.b64decode(DIGEST_KEY), body_of(result.payloads[key]).encode(), "sha256")
        assert {(a.body_sha256, a.digest_kind) for a in audit} == {(digest.hexdigest(), "hmac-sha256")}
        (created_entry,) = [a for a in audit if a.http_status == 201]
        assert created_entry.provider_id == record["ProviderId"]


@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_storm_sends_one_message_per_key(client: Client, tables: Tables, channel: str) -> None:
    caller = f"storm-{channel}-{new_key('c')[-8:]}"
    started = time.monotonic()
    result = await storm(client, channel, caller, KEYS, seed=hash(caller))
    elapsed = time.monotonic() - started
    figure(
        f"storm {channel}",
        f"{result.statuses.total()} requests over {KEYS} keys in {elapsed:.1f} s; "
        f"answers {dict(sorted(result.statuses.items()))}",
    )
    await check_storm(client, tables, channel, caller, result)


@pytest.mark.slow
@pytest.mark.parametrize("channel", ["sms", "email"])
async def test_long_storm(client: Client, tables: Tables, channel: str) -> None:
    caller = f"storm-long-{channel}-{new_key('c')[-8:]}"
    started = time.monotonic()
    result = await storm(client, channel, caller, 250, seed=hash(caller))
    figure(
        f"long storm {channel}",
        f"{result.statuses.total()} requests over 250 keys in {time.monotonic() - started:.1f} s; "
        f"answers {dict(sorted(result.statuses.items()))}",
    )
    await check_storm(client, tables, channel, caller, result)
