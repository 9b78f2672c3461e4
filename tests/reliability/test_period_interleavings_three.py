"""Idempotency stays exact across a storage period boundary with three requests: every
interleaving of their storage steps (32,184 and 36,142, some 30-40 s each) hands the message to the
provider at most once (tests/support/period_scenarios.py; two requests: tests/unit/
test_period_interleavings.py).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.period_scenarios import BOUNDARY, MS, WINDOW_END, scenario


@pytest.mark.parametrize(
    ("case", "at"),
    [
        ("before, after, after", [BOUNDARY - MS, BOUNDARY + MS, BOUNDARY + 2 * MS]),
        ("near, near, away at the window's end", [WINDOW_END - 2 * MS, WINDOW_END - MS, WINDOW_END + MS]),
    ],
)
async def test_three_requests_at_a_boundary_send_once(case: str, at: list[datetime]) -> None:
    runs = await scenario(at)
    assert runs > 100, case
