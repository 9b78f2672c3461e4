"""Helpers shared by the infra tests: locate and parse the Bicep templates with pycep-parser.

pycep turns a template into JSON-like dicts. Two quirks matter here:
* identifiers and string literals are both plain strings (`value: foo` and `value: 'foo'` look the
  same), so `resolve()` treats a string that names a variable of the file as a reference to it;
* a looped or conditional resource wraps its body: {"loop_type"|"condition": ..., "config": body}.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

pycep = pytest.importorskip("pycep", reason="pycep-parser is installed in .venv-infra only (requirements-infra.txt)")

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"
MODULES_DIR = INFRA_DIR / "modules"
APIM_POLICY_DIR = INFRA_DIR / "apim"
ENV_DIR = INFRA_DIR / "env"
MAIN_BICEP = INFRA_DIR / "main.bicep"
ENVIRONMENTS = ("dev", "test", "prod")


def bicep_files() -> list[Path]:
    return sorted(INFRA_DIR.rglob("*.bicep"))


def parameter_files() -> list[Path]:
    return [ENV_DIR / f"{env}.parameters.json" for env in ENVIRONMENTS]


@functools.cache
def _parser() -> Any:
    return pycep.BicepParser()


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = _parser().parse(file_path=path)
    return template


def module(name: str) -> dict[str, Any]:
    return parse(MODULES_DIR / f"{name}.bicep")


def body(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource's own properties, unwrapped from a loop and/or a condition."""
    config = resource["config"]
    while isinstance(config, dict) and ("loop_type" in config or "condition" in config) and "config" in config:
        config = config["config"]
    return cast("dict[str, Any]", config)  # pycep is untyped: its output is Any


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in template.get("resources", {}).items()
        if res["type"].lower() == resource_type.lower() and not res.get("existing")
    }


def single_resource(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    found = resources_of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.values()))


def resolve(value: Any, template: dict[str, Any], _seen: frozenset[str] = frozenset()) -> Iterator[Any]:
    """Yield the concrete values an expression can take (variables followed, concat/conditional expanded).

    Lists are yielded element by element, so resolving an app-settings expression yields the
    {"name": ..., "value": ...} entries of every branch.
    """
    variables = template.get("variables", {})
    if isinstance(value, str) and value in variables and value not in _seen:
        yield from resolve(variables[value]["value"], template, _seen | {value})
    elif isinstance(value, list):
        for item in value:
            yield from resolve(item, template, _seen)
    elif (
        isinstance(value, dict)
        and isinstance(value.get("function"), dict)
        and value["function"]["type"] in ("concat", "union")
    ):
        for arg in value["function"]["parameters"].values():
            yield from resolve(arg, template, _seen)
    elif (
        isinstance(value, dict)
        and isinstance(value.get("operator"), dict)
        and value["operator"]["type"] == "conditional"
    ):
        operands = value["operator"]["operands"]
        yield from resolve(operands["true_value"], template, _seen)
        yield from resolve(operands["false_value"], template, _seen)
    else:
        yield value


def walk(node: Any) -> Iterator[Any]:
    """Every node of a parsed structure, depth first."""
    yield node
    if isinstance(node, dict):
        for child in node.values():
            yield from walk(child)
    elif isinstance(node, list):
        for child in node:
            yield from walk(child)


def function_calls(node: Any, name: str) -> list[dict[str, Any]]:
    """All calls of a built-in function (pycep snake_cases names: loadTextContent -> load_text_content)."""
    return [
        n
        for n in walk(node)
        if isinstance(n, dict) and isinstance(n.get("function"), dict) and n["function"].get("type") == name
    ]


def accessor_calls(node: Any) -> list[str]:
    """Names of resource functions called as `res.name()` (e.g. listKeys)."""
    return [
        n["operator"]["operands"]["func_name"]
        for n in walk(node)
        if isinstance(n, dict)
        and isinstance(n.get("operator"), dict)
        and n["operator"].get("type") == "function_accessor"
    ]


def load_parameter_file(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {name: entry.get("value") for name, entry in data["parameters"].items()}


_TRAILING_COMMENT = re.compile(r"(?<!:)//.*$")


def code_without_comments(path: Path) -> str:
    """The template's text without // and /* */ comments (URLs' "://" are kept)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("//"):
            continue
        lines.append(_TRAILING_COMMENT.sub("", line))
    return "\n".join(lines)


SKIP_COMMENT = re.compile(r"checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def checkov_skip_comments() -> list[tuple[Path, int, str, str]]:
    """(file, line number, check id, reason) of every checkov skip comment in the templates."""
    found = []
    for path in bicep_files():
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                found.append((path, number, match.group(1), (match.group(2) or "").strip()))
    return found
