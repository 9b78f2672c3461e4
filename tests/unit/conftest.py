"""Fixtures of the unit tests (helpers: tests/support/unit.py)."""

from __future__ import annotations

import pytest

from tests.support.unit import World, build_world


@pytest.fixture
def world() -> World:
    return build_world()
