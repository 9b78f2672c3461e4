"""docs/api.md agrees with the code: its settings, problem codes and routes tables list exactly
what the app reads, answers and registers.

Each table is the first markdown table under its heading (the *_HEADING constants below); a
change to the code that the doc does not follow, or the other way round, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The code's names, in one place: when a module moves, only these lines change.
from instant.config import SETTING_NAMES
from instant.domain.errors import PROBLEMS, ProblemCode
from tests.support.app_routes import registered_routes

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
SETTINGS_HEADING = "## Settings"
PROBLEMS_HEADING = "### Problem codes"
ROUTES_HEADING = "## Routes"
STORED = {"yes": True, "no": False}


def _cells(line: str) -> list[str]:
    """The cells of one table row, without surrounding spaces and code backticks."""
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def table_under(heading: str, text: str | None = None) -> list[dict[str, str]]:
    """The rows of the first markdown table between ``heading`` and the next heading."""
    lines = (API_DOC.read_text(encoding="utf-8") if text is None else text).splitlines()
    assert heading in lines, f"docs/api.md has no heading {heading!r}"
    table: list[str] = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    assert len(table) >= 2, f"no table under {heading!r} in docs/api.md"
    header = _cells(table[0])
    assert set("".join(_cells(table[1]))) <= set("-:"), f"the table under {heading!r} has no separator row"
    rows = [dict(zip(header, _cells(line), strict=True)) for line in table[2:]]
    assert rows, f"the table under {heading!r} is empty"
    return rows


def _unique(values: list[str], what: str) -> set[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    assert not duplicates, f"{what} listed twice in docs/api.md: {duplicates}"
    return set(values)


def test_the_table_reader_finds_rows_and_refuses_a_missing_table() -> None:
    doc = "# T\n\n## A\n\ntext\n\n| a | b |\n|---|---|\n| `x` | 1 |\n\n## B\n\nno table\n"
    assert table_under("## A", doc) == [{"a": "x", "b": "1"}]
    with pytest.raises(AssertionError, match="no table"):
        table_under("## B", doc)


def test_settings_table_lists_exactly_the_settings_the_app_reads() -> None:
    rows = table_under(SETTINGS_HEADING)
    documented = _unique([row["setting"] for row in rows], "settings")
    assert documented == SETTING_NAMES, (
        f"missing from docs/api.md: {sorted(SETTING_NAMES - documented)}; "
        f"not read by the app: {sorted(documented - SETTING_NAMES)}"
    )
    assert all(row["default"] and row["meaning"] for row in rows), "every setting needs a default and a meaning"


def test_problem_codes_table_lists_every_code_with_its_status_and_stored_flag() -> None:
    rows = table_under(PROBLEMS_HEADING)
    _unique([row["code"] for row in rows], "problem codes")
    assert {row["stored"] for row in rows} <= set(STORED), "the stored column holds yes or no"
    documented = {row["code"]: (int(row["status"]), STORED[row["stored"]]) for row in rows}
    in_code = {code.value: (PROBLEMS[code].status, PROBLEMS[code].stored) for code in ProblemCode}
    assert documented == in_code


def test_routes_table_lists_exactly_the_routes_the_app_registers() -> None:
    rows = table_under(ROUTES_HEADING)
    documented = [(row["method"], row["path"], row["auth"]) for row in rows]
    _unique([" ".join(route) for route in documented], "routes")
    assert set(documented) == {tuple(route) for route in registered_routes()}
