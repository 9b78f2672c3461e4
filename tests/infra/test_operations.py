"""The operators' workbook and alert rules: every query is a .kql file that parses as KQL, the
Bicep loads exactly those files, and the queries read the names the app's telemetry uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import INFRA_DIR, REPO_ROOT, body, function_calls, module, parse, single_resource

antlr4 = pytest.importorskip("antlr4", reason="the KQL parser is installed in .venv-infra only")
from antlr4.error.ErrorListener import ErrorListener  # noqa: E402
from kusto_query_language_parser.parse_tools.KqlLexer import KqlLexer  # noqa: E402
from kusto_query_language_parser.parse_tools.KqlParser import KqlParser  # noqa: E402

KQL_DIR = INFRA_DIR / "kql"
WORKBOOK_TILES = {
    "sends-per-minute",
    "post-latency",
    "provider-failures",
    "client-error-rates",
    "gateway-throttling",
    "delivery-reports",
    "retention-purge",
}
ALERTS = {"server-error-rate", "provider-unavailable-rate", "post-latency-p95", "purge-failures"}


class _Collect(ErrorListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.errors: list[str] = []

    def syntaxError(self, recognizer: Any, offending: Any, line: int, column: int, msg: str, e: Any) -> None:
        self.errors.append(f"{line}:{column} {msg}")


def kql_errors(text: str) -> list[str]:
    """Syntax errors of a KQL query (the ANTLR grammar of KQL); empty when it parses."""
    errors = _Collect()
    lexer = KqlLexer(antlr4.InputStream(text))
    lexer.removeErrorListeners()
    lexer.addErrorListener(errors)
    parser = KqlParser(antlr4.CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    parser.top()
    return errors.errors


def _kql_files() -> list[Path]:
    return sorted(KQL_DIR.rglob("*.kql"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return module("operations")


def test_the_parser_finds_errors() -> None:
    assert kql_errors("AppTraces | where Message == 'x' | take 10") == []
    assert kql_errors("AppTraces | where (Message == 'x'")
    assert kql_errors("AppTraces | summarize count( by Name")
    assert kql_errors("AppTraces | wher Message == 'x'")


@pytest.mark.parametrize("path", _kql_files(), ids=lambda p: p.relative_to(KQL_DIR).as_posix())
def test_query_parses(path: Path) -> None:
    assert kql_errors(path.read_text()) == []


def test_every_tile_and_alert_has_its_file_and_bicep_loads_exactly_those(template: dict[str, Any]) -> None:
    on_disk = {p.relative_to(KQL_DIR).as_posix() for p in _kql_files()}
    expected = {f"workbook/{n}.kql" for n in WORKBOOK_TILES} | {f"alerts/{n}.kql" for n in ALERTS}
    assert on_disk == expected
    loaded = {
        (INFRA_DIR / "modules" / c["function"]["parameters"]["file_path"]).resolve().relative_to(KQL_DIR).as_posix()
        for c in function_calls(template, "load_text_content")
    }
    assert loaded == expected


def test_queries_use_the_apps_span_and_attribute_names() -> None:
    # The names must match the app's spans; read them as text (.venv-infra has no app packages).
    sources = [REPO_ROOT / "instant" / "observability" / "spans.py", REPO_ROOT / "instant" / "adapters" / "traced.py"]
    telemetry = "".join(path.read_text() for path in sources)
    for name in ('"instant.request"', '"instant.operation"', '"instant.channel"', '"instant.outcome.code"',
                 '"http.response.status_code"', '"instant.result"', '"instant.purge.orders"'):  # fmt: skip
        assert name in telemetry, f"the app's spans no longer use {name}"
    text = {p.stem: p.read_text() for p in _kql_files()}
    assert '"instant.channel"' in text["sends-per-minute"] and '"instant.outcome.code"' in text["sends-per-minute"]
    assert "percentile(DurationMs, 99)" in text["post-latency"]
    assert '"retention purge"' in text["retention-purge"]
    assert '"retention purge"' in (REPO_ROOT / "instant" / "service" / "retention.py").read_text()
    assert '"instant.delivery_report"' in text["delivery-reports"]


def test_workbook_is_built_from_the_tiles(template: dict[str, Any]) -> None:
    workbook = body(single_resource(template, "Microsoft.Insights/workbooks"))
    assert workbook["kind"] == "shared"
    assert workbook["properties"]["sourceId"] == "workspaceId"
    assert workbook["properties"]["serializedData"]["function"]["type"] == "string"
    items = template["variables"]["workbookContent"]["value"]["items"]
    assert items["loop_type"]["detail"]["array_name"] == "tiles"
    tiles = template["variables"]["tiles"]["value"]
    assert {t["name"] for t in tiles} == WORKBOOK_TILES


def test_alert_rules_cover_the_four_signals_and_notify_the_action_group(template: dict[str, Any]) -> None:
    rules = single_resource(template, "Microsoft.Insights/scheduledQueryRules")
    assert rules["config"]["loop_type"]["detail"]["array_name"] == "alerts"
    assert {a["name"] for a in template["variables"]["alerts"]["value"]} == ALERTS
    props = body(rules)["properties"]
    assert props["actions"] == {"actionGroups": "alertActions"}
    assert props["scopes"] == ["workspaceId"]
    main = parse(INFRA_DIR / "main.bicep")
    assert main["modules"]["operations"]["config"]["params"]["actionGroupId"] == "alertActionGroupId"
    assert main["parameters"]["alertActionGroupId"]["default"] == ""
