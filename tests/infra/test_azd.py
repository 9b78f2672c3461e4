"""`azd up`: azure.yaml, the parameters azd fills from its environment, the hooks and the package.

Nothing here runs azd (no subscription): these check the configuration azd reads, offline.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.bicep import ENV_DIR, INFRA_DIR, MAIN_BICEP, REPO_ROOT, body, module, parse, single_resource

AZURE_YAML = REPO_ROOT / "azure.yaml"
AZD_PARAMETERS = INFRA_DIR / "main.parameters.json"
SCRIPTS = REPO_ROOT / "scripts"
GENERATED_BY_AZD = {"apimFunctionKey"}


def _azure_yaml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(AZURE_YAML.read_text())
    return data


def _azd_env() -> Any:
    spec = importlib.util.spec_from_file_location("azd_env", SCRIPTS / "azd_env.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def test_azure_yaml_provisions_main_and_publishes_the_function_app() -> None:
    config = _azure_yaml()
    assert config["infra"] == {"provider": "bicep", "path": "infra", "module": "main"}
    assert (REPO_ROOT / config["infra"]["path"] / f"{config['infra']['module']}.bicep") == MAIN_BICEP
    (name, service), *others = config["services"].items()
    assert not others
    assert service["host"] == "function" and service["language"] == "python" and service["project"] == "."
    assert (REPO_ROOT / service["project"] / "function_app.py").is_file()
    # azd finds the app by its tag: the template must carry the service's name.
    site = body(single_resource(module("functionapp"), "Microsoft.Web/sites"))
    tag = site["tags"]["function"]["parameters"]
    assert {"'azd-service-name'": name} in tag.values() or {"azd-service-name": name} in tag.values(), tag


@pytest.mark.parametrize("hook", ["prepackage", "postprovision"])
def test_hooks_exist_and_are_executable(hook: str) -> None:
    entry = _azure_yaml()["hooks"][hook]
    script = REPO_ROOT / entry["run"]
    assert script.is_file() and os.access(script, os.X_OK), script
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0


def test_postprovision_reads_outputs_main_declares() -> None:
    text = (SCRIPTS / "postprovision.sh").read_text()
    used = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert used == {"KEY_VAULT_NAME", "FUNCTION_APP_NAME", "RESOURCE_GROUP_NAME"}
    assert used <= set(parse(MAIN_BICEP)["outputs"])
    # Never prints the key, never replaces an existing one.
    assert "secret show" in text and "-o none" in text and "openssl rand -base64 32" in text


def test_azd_parameters_cover_main() -> None:
    params = parse(MAIN_BICEP)["parameters"]
    values = json.loads(AZD_PARAMETERS.read_text())["parameters"]
    assert set(values) <= set(params), set(values) - set(params)
    required = {n for n, p in params.items() if p.get("default") is None}
    assert required - set(values) == GENERATED_BY_AZD
    (metadata,) = [d["argument"] for d in params["apimFunctionKey"]["decorators"] if d["type"] == "metadata"]
    assert metadata["azd"]["type"] == "generate"


def _typed(value: str, bicep_type: str) -> Any:
    # azd converts a substituted string to the parameter's type.
    if bicep_type == "int":
        return int(value)
    if bicep_type == "bool":
        return value == "true"
    return value


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_an_azd_environment_gets_the_parameter_files_values(env: str) -> None:
    azd_env = _azd_env()
    params = parse(MAIN_BICEP)["parameters"]
    azd_values = json.loads(AZD_PARAMETERS.read_text())
    mapping = azd_env.variables(azd_values)
    environment = azd_env.settings(env)
    expected = json.loads((ENV_DIR / f"{env}.parameters.json").read_text())["parameters"]
    for name, entry in expected.items():
        if name not in mapping:
            continue  # objects/arrays (tags, scmAllowedIpRanges): the dev value, see infra/README.md
        variable, default = mapping[name]
        substituted = environment.get(variable, default)
        assert _typed(substituted, params[name]["type"]) == entry["value"], (env, name)
    if env == "dev":  # the defaults are dev's: a new azd environment is a dev deployment
        for name, (_, default) in mapping.items():
            if name in expected:
                assert _typed(default, params[name]["type"]) == expected[name]["value"], name


def test_funcignore_ships_bytecode_and_nothing_of_azd() -> None:
    patterns = [line.strip() for line in (REPO_ROOT / ".funcignore").read_text().splitlines()]
    active = {p for p in patterns if p and not p.startswith("#")}
    assert "__pycache__" not in active and "*.pyc" not in active
    assert {".azure", "azure.yaml", "scripts", "infra", "tests"} <= active


def test_prepackage_compiles_hash_checked_bytecode(tmp_path: Path) -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("the hook compiles for Python 3.11, the Flex runtime")
    shutil.copytree(REPO_ROOT / "instant", tmp_path / "instant", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "function_app.py", tmp_path)
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPTS / "prepackage.sh", tmp_path / "scripts")
    stale = tmp_path / "instant" / "__pycache__" / "gone.cpython-311.pyc"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["sh", str(tmp_path / "scripts" / "prepackage.sh")], env=env, check=True, timeout=120)
    assert not stale.exists(), "stale caches are removed first"
    compiled = sorted((tmp_path / "instant").rglob("*.cpython-311.pyc"))
    sources = sorted((tmp_path / "instant").rglob("*.py"))
    assert len(compiled) == len(sources) > 10
    for pyc in compiled:
        flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
        assert flags == 0b01, f"{pyc.name}: not an unchecked-hash .pyc (flags {flags})"
