"""The function app's environment and its own Settings, as the bench's local stack gives them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from instant.config import SETTING_NAMES, Settings, load_settings


def app_environment() -> dict[str, str]:
    """The harness's environment without the app's settings, so the stack sets them all."""
    return {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}


def app_settings(env: Mapping[str, str]) -> Settings:
    """The app's own Settings, read from the environment the stack gives the app."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
