"""Altinn's instant-order test payloads, replayed over real HTTP against the running service.

Every case of ``altinn_cases.CASES`` is sent as a .NET client would send it; the answer must be
Altinn's, or, for a deliberate difference, the one docs/altinn-compatibility.md documents. The
cases run concurrently once (an email may wait for ACS's operation) and each is judged by its
own test.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from sandbox.stack import LocalStack
from tests.integration.compat.altinn_cases import CASES, FROM_ALTINN_TESTS, KEY, Case
from tests.support.integration import CALLER, PREFIX, Api

pytestmark = pytest.mark.integration

PARALLEL = 12


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fresh(value: Any, key: str) -> Any:
    """The payload with every ``KEY`` placeholder replaced by this run's key."""
    if isinstance(value, dict):
        return {k: fresh(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh(v, key) for v in value]
    return key if value == KEY else value


def body_of(case: Case, key: str) -> bytes:
    text = case.text if case.text is not None else json.dumps(case.payload, ensure_ascii=False)
    return text.replace(KEY, key).encode(case.encoding)


async def send(api: Api, case: Case, body: bytes) -> Answer:
    route = case.route or f"future/orders/instant/{case.channel}"
    headers = {"Content-Type": case.content_type} | ({"X-Caller-Id": CALLER} if case.caller else {})
    assert api.stack.host is not None
    url = f"{api.stack.host.base_url}{PREFIX}/{route}"
    async with api.session.post(url, data=body, headers=headers) as response:
        return Answer(response.status, await response.read())


async def replay(api: Api, case: Case, limit: asyncio.Semaphore) -> list[Answer]:
    body = body_of(case, f"compat-{uuid.uuid4().hex}")
    async with limit:
        first = await send(api, case, body)
        return [first, await send(api, case, body)] if case.replay else [first]


@pytest.fixture(scope="module")
async def answers(stack: LocalStack, http_session: aiohttp.ClientSession) -> dict[str, list[Answer]]:
    if stack.host is None or stack.host.returncode is not None:
        await stack.start_app(port=0)
    api = Api(http_session, stack)
    limit = asyncio.Semaphore(PARALLEL)
    results = await asyncio.gather(*(replay(api, case, limit) for case in CASES))
    return {case.name: result for case, result in zip(CASES, results, strict=True)}


def test_the_replay_covers_every_payload_of_altinns_instant_order_tests() -> None:
    # 30 SMS and 40 email validator payloads, 6 of the deprecated endpoint's validators,
    # 10 + 10 + 12 controller payloads (the count of [Fact]s and [InlineData] rows at 0d0183fb101b)
    assert len(FROM_ALTINN_TESTS) == 108
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_altinn_case(case: Case, answers: dict[str, list[Answer]]) -> None:
    first, *again = answers[case.name]
    told = f"{case.source}: {first.body[:400]!r}"
    if case.replay:
        assert first.status == 201, told
        (second,) = again
        assert (second.status, second.body) == (200, first.body), told
        return
    assert first.status == case.expect, told
    if case.problem_code is not None:
        problem = first.json()
        assert problem["code"] == case.problem_code, told
        assert set(case.fields) <= set(problem.get("errors", {})), told
