"""The round trips of a run: Table Storage and provider requests per new send, replay and delivery
report (targets and the Markdown section)."""

from __future__ import annotations

import math

from bench.check import Check, md_table
from bench.counting import describe
from bench.run_results import Results, RoundTrips

EMAIL_POLL_NOTE = (
    "; with the recorded timing (Retry-After: 3, Running 3-10 s) the send answers once ACS took the operation "
    "(INSTANT_EMAIL_WAIT_SECONDS 0): no GET of the operation on the POST path"
)


def _trips_note(trips: RoundTrips, provider: bool) -> str:
    kinds = trips.provider_kinds if provider else trips.table_kinds
    return describe(kinds, trips.per) if kinds else "none"


def round_trip_checks(results: Results) -> list[Check]:
    """Table requests per new send, replay and report; provider requests per new send and replay."""
    out: list[Check] = []
    for channel, trips in results.new_send_trips.items():
        out.append(
            Check(
                f"Table requests / new {channel} send, away from a period boundary",
                f"{trips.table:g} (orders {trips.orders:g} + controls {trips.tallies:g})",
                "",
                "",
                # The claim and the final write in the current period's table, plus the controls'
                # recipient tally in the base table: at most 2 (issue 12); the gate makes one
                # conditional write, and a read only after a lost write (instant/limits/gate.py).
                "<= 2 + 2 controls",
                trips.orders <= 2 and trips.tallies <= 2 and trips.table == trips.orders + trips.tallies,
                _trips_note(trips, provider=False),
            )
        )
    for channel, trips in results.replay_trips.items():
        out.append(
            Check(
                f"Table requests / {channel} replay",
                f"{trips.table:g}",
                "",
                "",
                "<= 1",
                trips.table <= 1,
                _trips_note(trips, provider=False),
            )
        )
    for channel, (first, again) in results.report_trips.items():
        out.append(
            Check(
                f"Table requests / {channel} delivery report",
                f"{first.table:g}",
                "",
                "",
                "<= 2",
                first.table <= 2,
                _trips_note(first, provider=False) + " (1 read + 1 transaction)",
            )
        )
        out.append(
            Check(
                f"Table requests / {channel} report redelivered",
                f"{again.table:g}",
                "",
                "",
                "<= 1",
                again.table <= 1,
                _trips_note(again, provider=False) + " (the read alone)",
            )
        )
    for channel, trips in results.new_send_trips.items():
        note = _trips_note(trips, provider=True)
        if channel == "email":
            note += EMAIL_POLL_NOTE
        out.append(
            Check(
                f"provider requests / new {channel} send",
                f"{trips.provider:g}",
                "",
                "",
                "= 1",
                math.isclose(trips.provider, 1.0),
                note,
            )
        )
    for channel, trips in results.replay_trips.items():
        out.append(
            Check(
                f"provider requests / {channel} replay",
                f"{trips.provider:g}",
                "",
                "",
                "= 0",
                trips.provider == 0,
                _trips_note(trips, provider=True),
            )
        )
    return out


def round_trips_markdown(results: Results) -> list[str]:
    """The section "Round trips (counted by the servers)" of the results file."""
    out = ["", "## Round trips (counted by the servers)", ""]
    trips_rows: list[list[str]] = []
    for label, trips_by_channel in (("new send", results.new_send_trips), ("replay", results.replay_trips)):
        for channel, trips in trips_by_channel.items():
            trips_rows.append(
                [
                    f"{channel} {label}",
                    str(trips.per),
                    f"{trips.table:g}",
                    _trips_note(trips, provider=False),
                    f"{trips.provider:g}",
                    _trips_note(trips, provider=True),
                ]
            )
    for channel, pair in results.report_trips.items():
        for label, trips in zip(("delivery report", "delivery report redelivered"), pair, strict=True):
            row = [f"{channel} {label}", str(trips.per), f"{trips.table:g}", _trips_note(trips, provider=False)]
            trips_rows.append([*row, "0", "none"])
    out += md_table(
        (
            "what",
            "requests counted",
            "Table requests each",
            "by kind (Azurite access log)",
            "provider requests each",
            "by kind (emulator request log)",
        ),
        trips_rows,
    )
    return out
