"""The worst-case refusal (issue 10.1): a 1 MiB body of ~87,000 unknown fields.

Three series, each request alternating with the others so a drift in machine load hits all:
the refusal over HTTP (400 ``validation_failed``), the same body sent as ``text/plain`` (415:
the host reads the whole body and the app refuses it before parsing, so this is the cost of
moving 1 MiB through the host), and ``json.loads`` of the same bytes in the harness. What the
app adds for the refusal is the first minus the second; the target compares it with the third.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import aiohttp

from bench.load import PREFIX, ServiceClient, UnexpectedAnswer
from bench.payloads import CALLER

MIB = 1024 * 1024


def wide_body(limit: int = MIB) -> tuple[bytes, int]:
    """A JSON object of just under ``limit`` bytes holding only unknown fields, and their count."""
    fields: list[str] = []
    size = 2
    while size + 12 <= limit:
        fields.append(f'"u{len(fields):06d}":1')
        size += len(fields[-1]) + 1
    return ("{" + ",".join(fields) + "}").encode(), len(fields)


@dataclass
class RefusalResult:
    """The three series of the worst-case refusal phase, and what the body and answer were."""

    fields: int
    body_bytes: int
    answer_bytes: int = 0
    refusal: list[float] = field(default_factory=list)  # seconds, 400 over HTTP
    transfer: list[float] = field(default_factory=list)  # seconds, 415 over HTTP (same body)
    parse: list[float] = field(default_factory=list)  # seconds, json.loads in the harness


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, content_type: str) -> tuple[int, bytes, float]:
    headers = {"Content-Type": content_type, "X-Caller-Id": CALLER}
    started = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        content = await response.read()
    return response.status, content, time.perf_counter() - started


async def measure_refusals(client: ServiceClient, samples: int) -> RefusalResult:
    """``samples`` rounds of refusal, transfer and parse, each round starting with the next one."""
    body, count = wide_body()
    result = RefusalResult(fields=count, body_bytes=len(body))
    url = f"{client.base_url}/future/orders/instant/sms"
    assert client.base_url.endswith(PREFIX)

    async def refusal() -> None:
        status, content, seconds = await _post(client.session, url, body, "application/json")
        problem = json.loads(content) if status == 400 else {}
        if problem.get("errorsOmitted") != count + 2 - len(problem.get("errors", ())):
            raise UnexpectedAnswer(f"the wide body answered {status}: {content[:300]!r}")
        result.refusal.append(seconds)
        result.answer_bytes = len(content)

    async def transfer() -> None:
        status, content, seconds = await _post(client.session, url, body, "text/plain")
        if status != 415:
            raise UnexpectedAnswer(f"the wide body as text/plain answered {status}: {content[:300]!r}")
        result.transfer.append(seconds)

    async def parse() -> None:
        started = time.perf_counter()
        json.loads(body)
        result.parse.append(time.perf_counter() - started)

    series = [refusal, transfer, parse]
    for index in range(samples):
        turn = index % len(series)
        for measure in series[turn:] + series[:turn]:
            await measure()
    return result
