"""Defaults are the recorded behaviour; the fast mode and the owned senders are chosen by callers."""

from __future__ import annotations

import pytest

from sandbox.acs_emulator import FAST, REALISTIC, create_app
from sandbox.acs_emulator.__main__ import build_parser
from sandbox.acs_emulator.state import STATE_KEY
from sandbox.acs_emulator.timing import TIMING_ENV, resolve_timing
from tests.emulator import recorded
from tests.emulator.helpers import ACCESS_KEY


def test_defaults_are_realistic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMING_ENV, raising=False)
    options = create_app(ACCESS_KEY)[STATE_KEY].options
    assert options.timing == REALISTIC
    assert options.timing.email_retry_after == recorded.EMAIL_SEND_202["headers"]["Retry-After"]
    assert options.repeatability_window_seconds == recorded.REPEATABILITY_WINDOW_SECONDS
    assert options.sms_repeat_refusal == "item"
    assert options.senders.sms == {"Instant"} and options.senders.owns_email("noreply@instant.example.com")
    assert options.webhook_url is None


def test_fast_mode_by_name_object_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert create_app(ACCESS_KEY, timing="fast")[STATE_KEY].options.timing == FAST
    assert create_app(ACCESS_KEY, timing=FAST)[STATE_KEY].options.timing == FAST
    monkeypatch.setenv(TIMING_ENV, "fast")
    assert create_app(ACCESS_KEY)[STATE_KEY].options.timing == FAST
    assert create_app(ACCESS_KEY, timing="realistic")[STATE_KEY].options.timing == REALISTIC
    with pytest.raises(ValueError, match="unknown timing"):
        resolve_timing("warp")


def test_single_values_override_the_preset() -> None:
    timing = create_app(ACCESS_KEY, slow_seconds=0.1, email_running_seconds=1.5)[STATE_KEY].options.timing
    assert (timing.slow_seconds, timing.running_seconds("any"), timing.email_retry_after) == (0.1, 1.5, "3")


def test_cli_options() -> None:
    parser = build_parser()
    defaults = parser.parse_args(["--access-key", ACCESS_KEY])
    assert (defaults.timing, defaults.fast, defaults.sms_sender, defaults.email_sender) == (None, False, None, None)
    assert defaults.repeatability_window_seconds == recorded.REPEATABILITY_WINDOW_SECONDS
    senders = ["--sms-sender", "Instant", "--sms-sender", "+4712345678", "--email-sender", "instant.example.com"]
    args = parser.parse_args(["--access-key", ACCESS_KEY, "--fast", *senders, "--sms-repeat-refusal", "request"])
    assert args.fast and args.sms_sender == ["Instant", "+4712345678"] and args.email_sender == ["instant.example.com"]
    assert args.sms_repeat_refusal == "request"


def test_email_sender_matching() -> None:
    senders = create_app(ACCESS_KEY, email_senders=["Example.com", "one@other.org"])[STATE_KEY].options.senders
    assert senders.owns_email("Anyone@EXAMPLE.com") and senders.owns_email("one@other.org")
    assert not senders.owns_email("two@other.org") and not senders.owns_email("x@sub.example.com")
