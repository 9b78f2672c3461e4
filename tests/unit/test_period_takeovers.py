"""Takeovers of an order in the older table, linked from the current one, by requests on both
sides of the window's end (every interleaving, tests/support/period_scenarios.py): its holder
crashed (lease gone) or parked it (a transient failure). The message is handed over at most once
and the key then names that order. The review of issue 14 probed these; none failed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from instant.domain.records import OrderState, RecipientStatus
from instant.storage.entities import link_entity, order_entity
from tests.support.period_scenarios import BASE, MS, SHIPMENT, WINDOW_END, draft_of, scenario


def linked_holder(*, parked: bool) -> dict[str, list[dict[str, Any]]]:
    """An order received 2 minutes before the window's end, in October's table with its link in
    November's: crashed in progress (its lease gone), or parked after an attempt that may have
    reached the provider."""
    at = WINDOW_END - timedelta(minutes=2)
    record = draft_of(at)
    if parked:
        record = replace(
            record,
            state=OrderState.RETRYABLE,
            status=RecipientStatus.SMS_SENDING,
            lease_until=None,
            may_have_reached_provider=True,
        )
    return {f"{BASE}202610": [order_entity(record)], f"{BASE}202611": [link_entity(SHIPMENT, f"{BASE}202610", at)]}


@pytest.mark.parametrize("parked", [False, True])
@pytest.mark.parametrize(
    "at",
    [
        [WINDOW_END - MS, WINDOW_END + MS],
        [WINDOW_END + MS, WINDOW_END + 2 * MS],
        [WINDOW_END - 2 * MS, WINDOW_END - MS],
    ],
    ids=["near-away", "away-away", "near-near"],
)
async def test_a_linked_order_in_the_older_table_is_taken_over_once(parked: bool, at: list[datetime]) -> None:
    runs = await scenario(at, seed=linked_holder(parked=parked))
    assert runs > 10
