"""A target of the bench and how results are tabulated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
