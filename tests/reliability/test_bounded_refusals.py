"""Issue 10.1: one caller's bad body must not slow every caller.

A 1 MiB body of ~90,000 unknown fields used to get a 3-4 MiB error body and hold the worker's
event loop for 0.4-0.75 s. Now the refusal names the first 20 fields, counts the rest in
``errorsOmitted``, and costs about one JSON parse of the body. Timing is recorded as a figure
(the machine is shared), never asserted; the benchmark line is in bench/ (``refusal``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.support.reliability import figure, new_key, new_phone, sms_payload
from tests.support.reliability_clients import Client

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
MAX_ERROR_BODY = 4 * 1024


def unknown_fields_body(order: dict[str, Any] | None = None) -> tuple[bytes, int]:
    """A body of just under 1 MiB: ``order``'s fields (if any), then unknown ones filling it."""
    head = json.dumps(order or {})[:-1]
    fields: list[str] = []
    size = len(head) + 1
    while size + 12 < MIB:
        fields.append(f'"u{len(fields):06d}":1')
        size += len(fields[-1]) + 1
    separator = "," if order else ""
    raw = (head + separator + ",".join(fields) + "}").encode()
    assert len(raw) <= MIB
    return raw, len(fields)


@pytest.mark.parametrize("with_order", [False, True], ids=["only unknown fields", "a valid order plus them"])
async def test_a_body_of_90000_unknown_fields_gets_a_small_answer(client: Client, with_order: bool) -> None:
    order = sms_payload(new_key("wide"), new_phone()) if with_order else None
    raw, count = unknown_fields_body(order)
    assert count > 85_000
    reply = await client.post("sms", None, raw=raw)
    assert reply.status == 400, reply.body[:300]
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert len(reply.body) <= MAX_ERROR_BODY, len(reply.body)
    problem = reply.json()
    assert problem["code"] == "validation_failed"
    assert len(problem["errors"]) == 20
    missing = 0 if with_order else 2  # idempotencyId and recipientSms
    assert problem["errorsOmitted"] == count + missing - 20
    figure(f"refusal of {count} unknown fields ({len(raw)} bytes), {'with' if with_order else 'no'} order",
           f"{reply.elapsed * 1000:.0f} ms, answer {len(reply.body)} bytes")  # fmt: skip


async def test_a_huge_property_name_is_not_echoed(client: Client) -> None:
    payload = sms_payload(new_key("longname"), new_phone())
    payload["n" * (MIB - 1000)] = 1
    reply = await client.post("sms", payload)
    assert reply.status == 400
    assert len(reply.body) <= MAX_ERROR_BODY, len(reply.body)


async def test_an_ordinary_sms_beside_four_wide_refusals(client: Client) -> None:
    """What the issue measured (11 ms became 5.9 s): recorded, not asserted."""
    raw, _ = unknown_fields_body()
    started = time.monotonic()
    wide = [asyncio.ensure_future(client.post("sms", None, raw=raw)) for _ in range(4)]
    await asyncio.sleep(0.01)
    ordinary = await client.post("sms", sms_payload(new_key("beside"), new_phone()))
    refusals = await asyncio.gather(*wide)
    assert ordinary.status == 201, ordinary.body
    assert all(r.status == 400 for r in refusals)
    figure("ordinary SMS beside 4 parallel 1 MiB refusals",
           f"{ordinary.elapsed * 1000:.0f} ms (all five done in {time.monotonic() - started:.2f} s)")  # fmt: skip
