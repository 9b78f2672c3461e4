"""A target of the bench and how results are tabulated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.stats import Summary, ms


@dataclass(frozen=True)
class Check:
    """One target: what was measured, against what baseline from the same run, and the verdict."""

    metric: str
    measured: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None  # None: for information, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        """pass, MISS or info."""
        return "info" if self.passed is None else "pass" if self.passed else "MISS"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(r) for r in rows)]


def targets_table(rows: Sequence[Check]) -> list[str]:
    """The Markdown table of targets that every results file opens with."""
    return md_table(
        ("metric", "measured", "baseline (same run)", "ratio", "target", "result", "detail"),
        [(c.metric, c.measured, c.baseline, c.ratio, c.target, c.verdict, c.note) for c in rows],
    )


def console_table(rows: Sequence[Check]) -> str:
    """The targets as the plain-text table the run prints."""
    header = ("metric", "measured", "baseline (same run)", "ratio", "target", "result")
    body = [(c.metric, c.measured, c.baseline, c.ratio, c.target, c.verdict) for c in rows]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def dist_row(name: str, samples: Sequence[float]) -> list[str]:
    """A row of the latency distributions table: n, p50, p99, mean, min, max in ms."""
    s = Summary.of(samples)
    return [name, str(s.n), ms(s.p50), ms(s.p99), ms(s.mean), ms(s.minimum), ms(s.maximum)]
