"""Every resource type and property the templates set exists in Azure's published schemas.

The schemas are the azure-mgmt-* models pinned in requirements-infra.txt (tests/infra/arm_models.py
says which model and API version each resource type is checked against). A typo, a wrong casing,
a read-only property or a property that does not exist fails here, before any deployment.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

from tests.infra import arm_models, arm_schema
from tests.infra.bicep import INFRA_DIR, REPO_ROOT, bicep_files, body, parse

pytest.importorskip("azure.mgmt.web", reason="the azure-mgmt-* models are installed in .venv-infra only")


def _resources() -> list[tuple[Path, str, dict[str, Any]]]:
    return [(path, name, res) for path in bicep_files() for name, res in parse(path).get("resources", {}).items()]


def _problems(path: Path) -> list[str]:
    template = parse(path)
    problems = []
    for name, res in template.get("resources", {}).items():
        where = f"{path.relative_to(INFRA_DIR)} {name}"
        if res.get("existing"):
            # Only the type and version matter for a reference to an existing resource.
            if res["type"].lower() not in arm_models.SCHEMAS:
                problems.append(f"{where}: {res['type']} has no registered schema")
            continue
        found = arm_schema.check_resource(res["type"], res["api_version"], body(res), template)
        problems += [f"{where}: {p}" for p in found]
    return problems


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_template_matches_the_published_schemas(path: Path) -> None:
    problems = _problems(path)
    assert not problems, "\n".join(problems)


def test_every_registered_model_exists() -> None:
    for resource_type, schema in arm_models.SCHEMAS.items():
        node = arm_schema.load(schema)
        assert node.fields, resource_type


def test_every_resource_type_is_checked() -> None:
    # Nothing slips through unchecked: every type used (deployed or referenced) has a schema.
    used = {res["type"].lower() for _, _, res in _resources()}
    assert used <= set(arm_models.SCHEMAS), sorted(used - set(arm_models.SCHEMAS))
    assert len(used) >= 25


def test_pinned_packages_are_the_ones_the_schemas_name() -> None:
    # requirements-infra.txt and the installed venv agree, so the versions stated are the ones checked.
    pins = dict(
        line.split("==")
        for line in (REPO_ROOT / "requirements-infra.txt").read_text().splitlines()
        if line.startswith("azure-mgmt-")
    )
    for package in {s.module.split(".")[2] for s in arm_models.SCHEMAS.values()}:
        name = f"azure-mgmt-{package}"
        assert name in pins, f"{name} is not pinned in requirements-infra.txt"
        assert importlib.metadata.version(name) == pins[name], name


# ---- the check can fail -------------------------------------------------------------------------

SITE = {
    "name": "app",
    "location": "westeurope",
    "kind": "functionapp,linux",
    "identity": {"type": "SystemAssigned"},
    "properties": {
        "httpsOnly": True,
        "functionAppConfig": {"scaleAndConcurrency": {"triggers": {"http": {"perInstanceConcurrency": 16}}}},
        "siteConfig": {"minTlsVersion": "1.2", "appSettings": [{"name": "A", "value": "b"}]},
    },
}


def _check(resource_type: str, api_version: str, resource: dict[str, Any]) -> list[str]:
    return arm_schema.check_resource(resource_type, api_version, resource, {"variables": {}})


def test_a_valid_body_passes() -> None:
    assert _check("Microsoft.Web/sites", "2024-04-01", SITE) == []


@pytest.mark.parametrize(
    ("path", "bad", "expected"),
    [
        (("properties", "httpOnly"), True, "no such property"),  # typo
        (("properties", "HttpsOnly"), True, "did you mean 'httpsOnly'"),  # casing
        (("properties", "defaultHostName"), "x", "read-only"),  # read-only
        (("properties", "siteConfig", "minTLSVersion"), "1.2", "did you mean 'minTlsVersion'"),  # nested
        (("properties", "functionAppConfig", "scaleAndConcurrency", "triggers", "http", "perInstance"), 1, "no such"),
        (("properties", "siteConfig", "appSettings"), [{"name": "A", "vaule": "b"}], "no such property"),  # array item
        (("properties", "notAThing"), {"x": 1}, "no such property"),
    ],
)
def test_a_wrong_property_fails(path: tuple[str, ...], bad: Any, expected: str) -> None:
    resource: dict[str, Any] = {**SITE, "properties": _deep_copy(SITE["properties"])}
    target = resource
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    problems = _check("Microsoft.Web/sites", "2024-04-01", resource)
    assert any(expected in p for p in problems), problems


def test_an_unknown_type_or_version_fails() -> None:
    assert "no published schema" in _check("Microsoft.Web/sitez", "2024-04-01", SITE)[0]
    assert "pinned models are for 2024-04-01" in _check("Microsoft.Web/sites", "2022-03-01", SITE)[0]


def test_a_template_with_a_typo_fails(tmp_path: Path) -> None:
    # End to end through pycep: a module with one misspelt property is reported.
    source = (INFRA_DIR / "modules" / "keyvault.bicep").read_text()
    broken = tmp_path / "keyvault.bicep"
    broken.write_text(source.replace("enablePurgeProtection: true", "enablePurgeProtecion: true"))
    template = parse(broken)
    vault = template["resources"]["vault"]
    problems = arm_schema.check_resource(vault["type"], vault["api_version"], body(vault), template)
    assert problems == [
        "Microsoft.KeyVault/vaults.properties.enablePurgeProtecion: no such property in VaultProperties"
    ]


def test_an_object_held_in_a_variable_is_checked() -> None:
    template = {"variables": {"config": {"value": {"minTlsVersion": "1.2", "ftpState": "x"}}}}
    resource = {"name": "app", "properties": {"siteConfig": "config"}}
    problems = arm_schema.check_resource("Microsoft.Web/sites", "2024-04-01", resource, template)
    assert problems == ["Microsoft.Web/sites.properties.siteConfig.ftpState: no such property in SiteConfig"]


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
