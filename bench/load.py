"""The load generator: one aiohttp session (connections reused), bodies serialised before the
clock starts, responses read in full. Cheap on purpose: it shares 2 cores with the stack."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.payloads import CALLER, EMAIL_BODY, EMAIL_SUBJECT, SMS_BODY, new_email, new_phone

PREFIX = "/notifications/api/v1"
_HEADERS = {"Content-Type": "application/json", "X-Caller-Id": CALLER}


class UnexpectedAnswer(RuntimeError):
    """The service answered something a healthy run never answers: the harness or the stack is broken."""


def sms_body(key: str | None = None) -> bytes:
    payload = {
        "idempotencyId": key or f"bench-{uuid.uuid4().hex}",
        "sendersReference": "ref-bench",
        "recipientSms": {"phoneNumber": new_phone(), "timeToLiveInSeconds": 300, "smsSettings": {"body": SMS_BODY}},
    }
    return json.dumps(payload).encode()


def email_body(key: str | None = None) -> bytes:
    payload = {
        "idempotencyId": key or f"bench-{uuid.uuid4().hex}",
        "sendersReference": "ref-bench",
        "recipientEmail": {
            "emailAddress": new_email(),
            "emailSettings": {"subject": EMAIL_SUBJECT, "body": EMAIL_BODY, "contentType": "Plain"},
        },
    }
    return json.dumps(payload).encode()


BODIES: dict[str, Callable[[], bytes]] = {"sms": sms_body, "email": email_body}


@dataclass(frozen=True)
class Sent:
    channel: str
    body: bytes  # the exact request, for replays
    shipment_id: str
    seconds: float


class ServiceClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/") + PREFIX

    async def post(self, channel: str, body: bytes) -> tuple[int, bytes, float]:
        url = f"{self.base_url}/future/orders/instant/{channel}"
        started = time.perf_counter()
        async with self.session.post(url, data=body, headers=_HEADERS) as response:
            content = await response.read()
        return response.status, content, time.perf_counter() - started

    async def send_new(self, channel: str) -> Sent:
        body = BODIES[channel]()
        status, content, seconds = await self.post(channel, body)
        if status != 201:
            raise UnexpectedAnswer(f"new {channel} send answered {status}: {content[:300]!r}")
        shipment_id = json.loads(content)["notification"]["shipmentId"]
        return Sent(channel, body, str(shipment_id), seconds)

    async def replay(self, sent: Sent) -> float:
        status, content, seconds = await self.post(sent.channel, sent.body)
        if status != 200:
            raise UnexpectedAnswer(f"replayed {sent.channel} send answered {status}: {content[:300]!r}")
        return seconds

    async def shipment(self, shipment_id: str) -> float:
        """GET the shipment of an order this caller sent."""
        started = time.perf_counter()
        async with self.session.get(f"{self.base_url}/future/shipment/{shipment_id}", headers=_HEADERS) as response:
            content = await response.read()
        if response.status != 200:
            raise UnexpectedAnswer(f"GET shipment answered {response.status}: {content[:300]!r}")
        return time.perf_counter() - started

    async def health(self) -> float:
        started = time.perf_counter()
        async with self.session.get(f"{self.base_url}/health") as response:
            await response.read()
        seconds = time.perf_counter() - started
        if response.status != 200:
            raise UnexpectedAnswer(f"health answered {response.status}")
        return seconds


@dataclass
class ClosedLoopResult:
    clients: int
    duration: float  # the window in which clients start requests
    elapsed: float = 0.0  # from the start to the last answer
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    # Per client: (answers, seconds from the common start to its last answer).
    per_client: list[tuple[int, float]] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Sum of the clients' own rates: each client's answers over the time it took to get them.

        Dividing the total by the time to the very last answer instead would charge the run with
        the tail after the window (up to one request per client), ~L/(2D) too low for latency L."""
        return sum(count / seconds for count, seconds in self.per_client if count and seconds > 0)


async def closed_loop(client: ServiceClient, channel: str, clients: int, duration: float) -> ClosedLoopResult:
    """``clients`` callers, each sending new keys back to back for ``duration`` seconds."""
    result = ClosedLoopResult(clients, duration)
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = started + duration
    make_body = BODIES[channel]

    async def one_client() -> None:
        answered, last = 0, 0.0
        while loop.time() < end:
            body = make_body()
            try:
                status, _, seconds = await client.post(channel, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                key = type(exc).__name__
                result.failures[key] = result.failures.get(key, 0) + 1
                await asyncio.sleep(0.05)  # a refused connection must not turn into a busy loop
                continue
            if status == 201:
                result.latencies.append(seconds)
                answered, last = answered + 1, loop.time() - started
            else:
                key = f"HTTP {status}"
                result.failures[key] = result.failures.get(key, 0) + 1
        result.per_client.append((answered, last))

    await asyncio.gather(*(one_client() for _ in range(clients)))
    result.elapsed = loop.time() - started
    return result


async def emulator_json(session: aiohttp.ClientSession, method: str, url: str, payload: Any = None) -> Any:
    async with session.request(method, url, json=payload) as response:
        if response.status >= 400:
            raise UnexpectedAnswer(f"{method} {url} answered {response.status}")
        return await response.json() if response.content_type == "application/json" else None
