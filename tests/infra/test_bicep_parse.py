"""Every Bicep file parses (pycep-parser), and everything main.bicep points to exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep import INFRA_DIR, MAIN_BICEP, MODULES_DIR, bicep_files, function_calls, parse


def test_templates_exist() -> None:
    names = {p.relative_to(INFRA_DIR).as_posix() for p in bicep_files()}
    assert "main.bicep" in names
    assert {
        "modules/apim-api.bicep",
        "modules/apim-service.bicep",
        "modules/communication.bicep",
        "modules/functionapp.bicep",
        "modules/keyvault.bicep",
        "modules/monitoring.bicep",
        "modules/roles.bicep",
        "modules/storage.bicep",
    } <= names


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_parses(path: Path) -> None:
    template = parse(path)
    assert template.get("resources") or template.get("modules"), f"{path} declares nothing"


def test_every_module_of_main_exists_and_every_module_is_used() -> None:
    modules = parse(MAIN_BICEP)["modules"]
    referenced = {(MAIN_BICEP.parent / m["detail"]["path"]).resolve() for m in modules.values()}
    for path in referenced:
        assert path.is_file(), f"main.bicep references missing module {path}"
    on_disk = {p.resolve() for p in MODULES_DIR.glob("*.bicep")}
    assert on_disk == referenced, f"modules not deployed by main.bicep: {sorted(on_disk - referenced)}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_loaded_files_exist(path: Path) -> None:
    for call in function_calls(parse(path), "load_text_content"):
        loaded = (path.parent / call["function"]["parameters"]["file_path"]).resolve()
        assert loaded.is_file(), f"{path.name} loads missing file {loaded}"


def test_module_parameters_match_the_modules() -> None:
    # What a Bicep compiler would refuse: an argument the module does not declare (a typo), or a
    # required parameter left out.
    for name, mod in parse(MAIN_BICEP)["modules"].items():
        declared = parse((MAIN_BICEP.parent / mod["detail"]["path"]).resolve())["parameters"]
        given = set(mod["config"]["params"])
        assert given <= set(declared), f"module {name}: unknown parameters {sorted(given - set(declared))}"
        required = {p for p, spec in declared.items() if spec.get("default") is None}
        assert required <= given, f"module {name}: missing parameters {sorted(required - given)}"
