"""checkov's Bicep policy scan passes, offline, and every skipped check says why in the template."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import INFRA_DIR, checkov_skip_comments

# The scan must not reach the network: no platform API key is given, --skip-download skips
# external modules/policies, BC_SKIP_MAPPING skips fetching the guideline mapping.
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "LOG_LEVEL": "WARNING",
}
TIMEOUT_SECONDS = 300


def _checkov() -> list[str]:
    # Prefer the checkov of the interpreter running the tests (.venv-infra/bin/checkov).
    beside = Path(sys.executable).with_name("checkov")
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("checkov")
    if not found:
        pytest.fail("checkov is not installed: pip install -r requirements-infra.txt (in .venv-infra)")
    return [found]


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    cmd = [
        *_checkov(),
        "--framework", "bicep",
        "-d", str(INFRA_DIR),
        "--quiet",
        "--compact",
        "--skip-download",
        "--output", "json",
    ]  # fmt: skip
    env = {**os.environ, **OFFLINE_ENV}
    env.pop("BC_API_KEY", None)
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT_SECONDS, check=False)
    elapsed = time.monotonic() - started
    print(f"checkov --framework bicep took {elapsed:.1f}s (exit {proc.returncode})")
    try:
        report: dict[str, Any] | list[dict[str, Any]] = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov gave no JSON report (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    if isinstance(report, list):  # one entry per framework
        (report,) = [r for r in report if r.get("check_type") == "bicep"]
    report["_returncode"] = proc.returncode
    report["_stderr"] = proc.stderr
    return report


def test_scan_found_the_templates(scan: dict[str, Any]) -> None:
    summary = scan["summary"]
    assert summary["parsing_errors"] == 0, "checkov could not parse a template (it then silently scans nothing)"
    # All modules are scanned: dozens of resources, many checks actually evaluated.
    assert summary["resource_count"] >= 40, summary
    assert summary["passed"] >= 15, summary


def test_no_failed_check(scan: dict[str, Any]) -> None:
    failed = [
        f"{c['check_id']} {c['check_name']} -- {c['resource']} ({c['file_path']}:{c['file_line_range']})"
        for c in scan["results"].get("failed_checks", [])
    ]
    assert scan["summary"]["failed"] == 0 and not failed, "\n".join(failed)
    assert scan["_returncode"] == 0, scan["_stderr"][-2000:]


def test_every_skip_has_a_reason() -> None:
    skips = checkov_skip_comments()
    assert skips, "expected the documented skips (storage network, APIM public access, ...)"
    for path, line, check_id, reason in skips:
        where = f"{path.relative_to(INFRA_DIR)}:{line} {check_id}"
        assert check_id.startswith(("CKV_", "CKV2_")), where
        assert len(reason) >= 30, f"{where}: skip without a real reason: {reason!r}"
        # Bicep comments are //; a '#checkov:skip' line would not even compile.
        text = path.read_text().splitlines()[line - 1].strip()
        assert text.startswith("// checkov:skip="), f"{where}: write skips as '// checkov:skip=ID:reason'"


def test_no_stale_skip(scan: dict[str, Any]) -> None:
    # Each skip comment sits in exactly one resource; if checkov skipped fewer checks than there
    # are comments, a comment no longer suppresses anything and should go (or is misplaced).
    assert scan["summary"]["skipped"] == len(checkov_skip_comments())
