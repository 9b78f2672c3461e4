"""The start-up figures of a run: importing function_app against its dependencies alone (targets and
the Markdown section)."""

from __future__ import annotations

from bench.check import Check
from bench.startup import StartupResult
from bench.stats import ms, ratio


def startup_checks(startup: StartupResult | None) -> list[Check]:
    """The import of function_app against its dependencies, with bytecode and without ours."""
    if startup is None:
        return []
    r = ratio(startup.app_median, startup.deps_median)
    cold = ratio(startup.cold_app_median, startup.cold_deps_median)
    return [
        Check(
            "import function_app",
            f"{ms(startup.app_median)} ms",
            f"deps alone {ms(startup.deps_median)} ms",
            f"{r:.2f}x",
            "<= 1.15x",
            r <= 1.15,
            f"medians of {len(startup.app_seconds)} alternating runs, bytecode cached for both",
        ),
        Check(
            "import function_app, no bytecode for our own modules",
            f"{ms(startup.cold_app_median)} ms",
            f"deps alone {ms(startup.cold_deps_median)} ms",
            f"{cold:.2f}x",
            "",
            None,
            "what a cold start pays if the deployed package has no __pycache__ (.funcignore drops it) "
            "and cannot write one",
        ),
    ]


def startup_markdown(startup: StartupResult | None) -> list[str]:
    """The section "Start-up" of the results file (nothing when start-up was not measured)."""
    if startup is None:
        return []
    out = [
        "",
        "## Start-up",
        "",
        f"Time to import `function_app` in a fresh interpreter (with the app's environment) against the "
        f"time to import the {startup.third_party_modules} third-party modules it pulls in, alone; "
        f"{len(startup.app_seconds)} alternating runs each, timed inside the child around the import. "
        "Both read bytecode from one cache (PYTHONPYCACHEPREFIX) filled by discarded first runs; then "
        "the same without bytecode for our own modules.",
        "",
        f"- function_app: median {ms(startup.app_median)} ms; runs: " + ", ".join(ms(s) for s in startup.app_seconds),
        f"- dependencies alone: median {ms(startup.deps_median)} ms; runs: "
        + ", ".join(ms(s) for s in startup.deps_seconds),
        f"- function_app without bytecode for instant/ and function_app.py (compiled on import): median "
        f"{ms(startup.cold_app_median)} ms; runs: " + ", ".join(ms(s) for s in startup.cold_app_seconds),
        f"- dependencies alone, paired with those: median {ms(startup.cold_deps_median)} ms; runs: "
        + ", ".join(ms(s) for s in startup.cold_deps_seconds),
        f"- packages: {', '.join(startup.top_level)}",
    ]
    if startup.failed:
        out.append(f"- not importable alone (skipped): {', '.join(startup.failed)}")
    return out
