"""Idempotency stays exact across a storage period boundary: every interleaving of the storage
steps of two requests with one key, on workers whose clocks stand on either side of a boundary,
hands the message to the provider at most once and leaves the key naming that order
(tests/support/period_scenarios.py). Three requests: tests/reliability/
test_period_interleavings_three.py (slower: 32,000-36,000 interleavings each).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from instant.domain.records import OrderState
from instant.storage.entities import link_entity, order_entity
from tests.support.period_scenarios import (
    BASE,
    BOUNDARY,
    MS,
    RETENTION,
    SHIPMENT,
    SINCE,
    WINDOW_END,
    crashed_near_holder,
    draft_of,
    scenario,
)


@pytest.mark.parametrize(
    ("case", "at"),
    [
        ("just before and just after the boundary", [BOUNDARY - MS, BOUNDARY + MS]),
        ("just before and just after the window's end", [WINDOW_END - MS, WINDOW_END + MS]),
        ("both just after the boundary", [BOUNDARY + MS, BOUNDARY + 2 * MS]),
        ("before the first period and after its start", [SINCE - MS, SINCE + MS]),
    ],
)
async def test_two_requests_at_a_boundary_send_once(case: str, at: list[datetime]) -> None:
    runs = await scenario(at)
    assert runs > 10, case  # it did branch: the steps really interleaved


async def test_a_takeover_near_the_window_end_and_a_request_after_it_send_once() -> None:
    # The near request takes the dead holder's order over; the one after the window must find
    # it (through the link the takeover writes first), not start a second order.
    runs = await scenario([WINDOW_END - MS, WINDOW_END + MS], seed=crashed_near_holder())
    assert runs > 10


async def test_a_link_to_an_order_past_retention_is_replaced_once() -> None:
    # A key used long ago near a boundary: November's link points at an October order now past
    # retention. Two new requests race to replace it.
    old = BOUNDARY + timedelta(hours=1)
    record = replace(draft_of(old), state=OrderState.COMPLETED, lease_until=None)
    seed = {f"{BASE}202610": [order_entity(record)], f"{BASE}202611": [link_entity(SHIPMENT, f"{BASE}202610", old)]}
    later = old + RETENTION + timedelta(hours=1)
    runs = await scenario([later, later + MS], seed=seed)
    assert runs > 10


async def test_a_link_whose_order_is_gone_is_rewritten_before_a_new_order_holds() -> None:
    # Not reachable by the protocol alone (an order a link names is never deleted while it is
    # live), but a row deleted by hand or a partial restore leaves this: the near request's new
    # order must rewrite the link, so the request after the window cannot replace it unseen.
    gone = WINDOW_END - timedelta(hours=1)
    seed = {f"{BASE}202611": [link_entity(SHIPMENT, f"{BASE}202610", gone)]}
    runs = await scenario([WINDOW_END - MS, WINDOW_END + MS], seed=seed)
    assert runs > 10
