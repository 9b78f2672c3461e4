"""The sequential latency figures of a run: new sends, replays, the worst-case refusal, the controls
(targets and distribution rows)."""

from __future__ import annotations

from bench.check import Check, dist_row
from bench.run_results import Results
from bench.stats import Summary, ms, ratio


def _latency_checks(name: str, service: Summary, floor: Summary, floor_label: str) -> list[Check]:
    r50, r99 = ratio(service.p50, floor.p50), ratio(service.p99, floor.p99)
    return [
        Check(
            f"{name} p50",
            f"{ms(service.p50)} ms",
            f"{floor_label} p50 {ms(floor.p50)} ms",
            f"{r50:.2f}x",
            "<= 1.3x",
            r50 <= 1.3,
        ),
        Check(
            f"{name} p99",
            f"{ms(service.p99)} ms",
            f"{floor_label} p99 {ms(floor.p99)} ms",
            f"{r99:.2f}x",
            "<= 2x",
            r99 <= 2.0,
        ),
    ]


def _refusal_checks(results: Results) -> list[Check]:
    found = results.refusal
    if found is None or not found.refusal:
        return []
    refusal, transfer, parse = (Summary.of(s).p50 for s in (found.refusal, found.transfer, found.parse))
    added = ratio(refusal - transfer, parse)
    return [
        Check(
            "worst-case refusal p50, beyond moving the body",
            f"{ms(refusal - transfer)} ms",
            f"json.loads of the body {ms(parse)} ms",
            f"{added:.2f}x",
            "<= 2x",
            added <= 2.0,
            f"{found.fields} unknown fields in {found.body_bytes} bytes: 400 in {ms(refusal)} ms "
            f"({found.answer_bytes}-byte answer), the same body as text/plain 415 in {ms(transfer)} ms",
        )
    ]


def _controls_checks(results: Results) -> list[Check]:
    controls = results.controls
    if controls is None:
        return []
    out = []
    for channel, samples in controls.on.items():
        on, off = Summary.of(samples), Summary.of(controls.off[channel])
        r50 = ratio(on.p50, off.p50)
        out.append(
            Check(
                f"new {channel} send, controls on vs off p50",
                f"{ms(on.p50)} ms",
                f"controls off p50 {ms(off.p50)} ms",
                f"{r50:.2f}x",
                "<= 1.1x",
                r50 <= 1.1,
                f"p99 {ms(on.p99)} ms vs {ms(off.p99)} ms; {len(samples)} pairs, two app processes on one Azurite",
            )
        )
    return out


def latency_checks(results: Results) -> list[Check]:
    """New sends against the floor, replays against their baseline, the refusal, the controls."""
    out: list[Check] = []
    for channel in ("sms", "email"):
        if channel not in results.service:
            continue
        service = Summary.of(results.service[channel])
        floor = Summary.of([s.total for s in results.floor[channel]])
        out += _latency_checks(f"new {channel} send", service, floor, "floor")
    baseline = Summary.of(results.replay_baseline) if results.replay_baseline else None
    for channel, samples in results.replay.items():
        if baseline is None:
            break
        replay = Summary.of(samples)
        r50 = ratio(replay.p50, baseline.p50)
        out.append(
            Check(
                f"replay {channel} p50",
                f"{ms(replay.p50)} ms",
                f"read + HTTP p50 {ms(baseline.p50)} ms",
                f"{r50:.2f}x",
                "<= 1.5x",
                r50 <= 1.5,
                f"p99 {ms(replay.p99)} ms vs {ms(baseline.p99)} ms",
            )
        )
    out += _refusal_checks(results)
    out += _controls_checks(results)
    return out


def latency_rows(results: Results) -> list[list[str]]:
    """The distribution rows of the sequential series: sends and their floor, controls, replays, refusals."""
    dist: list[list[str]] = []
    for channel in ("sms", "email"):
        if channel in results.service:
            floor = results.floor[channel]
            dist += [
                dist_row(f"new {channel} send (service, HTTP)", results.service[channel]),
                dist_row(f"{channel} floor: total", [s.total for s in floor]),
                dist_row(f"{channel} floor: claim (create_entity)", [s.claim for s in floor]),
                dist_row(f"{channel} floor: provider (gateway.send)", [s.provider for s in floor]),
                dist_row(f"{channel} floor: final write (submit_transaction)", [s.update for s in floor]),
            ]
    if results.controls is not None:
        for channel, samples in results.controls.on.items():
            dist += [
                dist_row(f"new {channel} send, controls on", samples),
                dist_row(f"new {channel} send, controls off (second app)", results.controls.off[channel]),
            ]
    for channel, samples in results.replay.items():
        dist.append(dist_row(f"replay {channel} (service, HTTP)", samples))
    if results.replay_baseline:
        dist += [
            dist_row("replay baseline: point read + HTTP round trip", results.replay_baseline),
            dist_row("point read (get_entity)", results.point_read),
            dist_row("HTTP round trip (GET /health)", results.http_round_trip),
        ]
    if results.refusal is not None and results.refusal.refusal:
        dist += [
            dist_row("worst-case refusal: 400 (service, HTTP)", results.refusal.refusal),
            dist_row("worst-case refusal baseline: the same body, 415 (HTTP)", results.refusal.transfer),
            dist_row("worst-case refusal baseline: json.loads (harness)", results.refusal.parse),
        ]
    return dist
