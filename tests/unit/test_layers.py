"""Imports run downward only (docs/architecture.md, "Layers"): a module that reaches up a layer
fails here, with the offending import named."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each layer of instant/ may import from the project (besides itself and the standard
# library and third-party packages).
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "observability": {"domain", "config"},
    "idempotency": {"domain"},
    "limits": {"domain"},
    "storage": {"domain"},
    "adapters": {"domain", "observability", "storage"},
    "service": {"domain", "idempotency", "limits"},
    "entrypoints": {"domain", "service", "observability", "bootstrap", "config"},
}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "instant" or len(parts) < 2:
        return None
    return parts[1]


def project_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "instant":
                found.extend(f"instant.{alias.name}" for alias in node.names)
            elif node.module.startswith("instant."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if alias.name.startswith("instant."))
    return found


def violations(root: Path) -> list[str]:
    problems = []
    for path in sorted((root / "instant").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        own = layer_of(module)
        if own not in ALLOWED:
            continue
        for imported in project_imports(path):
            target = layer_of(imported)
            if target is None or target == own:
                continue
            if target not in ALLOWED[own]:
                problems.append(f"{module} imports {imported} ({own} -> {target})")
    return problems


def test_every_layer_imports_only_downward() -> None:
    assert violations(ROOT) == []


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    # given: a copy of one domain module that reaches up into the service
    domain = tmp_path / "instant" / "domain"
    domain.mkdir(parents=True)
    (domain / "records.py").write_text("from instant.service.instant_service import InstantService\n")
    # then
    assert violations(tmp_path) == [
        "instant.domain.records imports instant.service.instant_service (domain -> service)"
    ]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_every_layer_exists(layer: str) -> None:
    assert (ROOT / "instant" / layer / "__init__.py").is_file()
