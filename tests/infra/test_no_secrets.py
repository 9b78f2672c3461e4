"""No secret in a parameter file, an app setting or an output.

The only secret the deployment handles is the function key: read with listKeys at deployment
time straight into a secret APIM named value. The app's one secret, the digest key
(INSTANT_DIGEST_KEY), never passes through the deployment at all: the operator puts it in Key
Vault, the app setting is a Key Vault reference. Everything else authenticates with Entra ID.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.bicep import (
    INFRA_DIR,
    MAIN_BICEP,
    accessor_calls,
    bicep_files,
    body,
    function_calls,
    load_parameter_file,
    module,
    parameter_files,
    parse,
    resolve,
    single_resource,
    walk,
)

KEY_LOOKING = [
    re.compile(r"AccountKey=", re.I),
    re.compile(r"SharedAccessKey", re.I),
    re.compile(r"SharedAccessSignature|[?&]sig=", re.I),
    re.compile(r"accesskey=", re.I),  # ACS connection string
    re.compile(r"InstrumentationKey=", re.I),  # App Insights connection string (set from the resource, not a file)
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),  # a JWT
    re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/])"),  # long base64 blob
]
SECRET_NAME = re.compile(r"secret|password|pwd|connectionstring|accesskey|apikey|sastoken|(?:key|keys|token)$", re.I)


def _looks_like_a_key(text: str) -> bool:
    return any(p.search(text) for p in KEY_LOOKING)


def _strings(value: Any) -> list[str]:
    return [n for n in walk(value) if isinstance(n, str)]


def _is_list_call(name: str) -> bool:
    return name.lower().startswith("list")


def test_detector_detects() -> None:
    # The scanner must be able to fail.
    assert _looks_like_a_key("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=abc")
    assert _looks_like_a_key("endpoint=https://x.communication.azure.com/;accesskey=abc")
    assert _looks_like_a_key("Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFy==")
    assert not _looks_like_a_key("api://instant-notifications-dev")
    assert not _looks_like_a_key("notifications-platform@example.com")


@pytest.mark.parametrize("path", parameter_files(), ids=lambda p: p.name)
def test_parameter_file_holds_no_key(path: Path) -> None:
    values = load_parameter_file(path)
    for name, value in values.items():
        for text in _strings(value):
            assert not _looks_like_a_key(text), f"{path.name}: {name} looks like a secret"
    assert not _looks_like_a_key(path.read_text()), path.name
    assert "reference" not in str(values), "no Key Vault references either: nothing secret is a parameter"


@pytest.mark.parametrize("path", parameter_files(), ids=lambda p: p.name)
def test_parameter_file_matches_main(path: Path) -> None:
    params = parse(MAIN_BICEP)["parameters"]
    values = load_parameter_file(path)
    unknown = set(values) - set(params)
    assert not unknown, f"{path.name} sets parameters main.bicep does not have: {sorted(unknown)}"
    required = {name for name, p in params.items() if p.get("default") is None}
    assert required <= set(values), f"{path.name} misses required parameters {sorted(required - set(values))}"
    secure = {name for name, p in params.items() if any(d["type"] == "secure" for d in p["decorators"])}
    assert not secure & set(values), f"{path.name} sets @secure() parameters"
    assert values["environmentName"] == path.name.split(".")[0]
    for name, value in values.items():
        decorators = {d["type"]: d.get("argument") for d in params[name]["decorators"]}
        if "allowed" in decorators:
            assert value in decorators["allowed"], f"{path.name}: {name}={value!r} not in {decorators['allowed']}"
        if "min_value" in decorators:
            assert value >= decorators["min_value"], f"{path.name}: {name}={value!r} below minimum"
        if "max_value" in decorators:
            assert value <= decorators["max_value"], f"{path.name}: {name}={value!r} above maximum"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_secure_parameters_have_no_default(path: Path) -> None:
    for name, param in parse(path).get("parameters", {}).items():
        secure = any(d["type"] == "secure" for d in param["decorators"])
        if secure:
            assert param.get("default") is None, f"{path.name}: @secure() {name} has a default"
        elif SECRET_NAME.search(name):
            pytest.fail(f"{path.name}: parameter {name} sounds secret but is not @secure()")


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(INFRA_DIR).as_posix())
def test_outputs_expose_no_secret(path: Path) -> None:
    template = parse(path)
    secure = {
        n for n, p in template.get("parameters", {}).items() if any(d["type"] == "secure" for d in p["decorators"])
    }
    for name, output in template.get("outputs", {}).items():
        where = f"{path.relative_to(INFRA_DIR)}: output {name}"
        assert not SECRET_NAME.search(name), f"{where} sounds secret"
        assert not [c for c in accessor_calls(output) if _is_list_call(c)], f"{where} calls list*()"
        functions = [
            n["function"]["type"] for n in walk(output) if isinstance(n, dict) and isinstance(n.get("function"), dict)
        ]
        assert not [f for f in functions if _is_list_call(f)], f"{where} calls list*()"
        assert not secure & set(_strings(output["value"])), f"{where} returns a @secure() parameter"
        text = str(output["value"])
        assert "ConnectionString" not in text and "primaryKey" not in text, f"{where} returns a connection string/key"


def test_list_keys_only_feeds_the_secret_named_value() -> None:
    uses = []
    for path in bicep_files():
        for res_name, resource in parse(path).get("resources", {}).items():
            calls = [c for c in accessor_calls(resource) if _is_list_call(c)]
            calls += [
                n["function"]["type"]
                for n in walk(resource)
                if isinstance(n, dict) and isinstance(n.get("function"), dict) and _is_list_call(n["function"]["type"])
            ]
            uses += [(path.name, res_name, resource["type"], c) for c in calls]
        for section in ("variables", "outputs", "modules"):
            for name, node in parse(path).get(section, {}).items():
                assert not [c for c in accessor_calls(node) if _is_list_call(c)], (
                    f"{path.name}: {section} {name} calls list*()"
                )
    assert uses == [("apim-api.bicep", "functionKey", "Microsoft.ApiManagement/service/namedValues", "listKeys")]


def test_secret_sounding_app_settings_are_key_vault_references() -> None:
    # An app setting named like a secret (INSTANT_DIGEST_KEY, ..._PASSWORD, ..._TOKEN) may only
    # hold a Key Vault reference: the site config (readable by anyone with Website Contributor or
    # the ARM API) never holds the value.
    template = module("functionapp")
    site = body(single_resource(template, "Microsoft.Web/sites"))
    settings = {e["name"]: e["value"] for e in resolve(site["properties"]["siteConfig"]["appSettings"], template)}
    secret_named = {name: value for name, value in settings.items() if SECRET_NAME.search(name)}
    assert "INSTANT_DIGEST_KEY" in secret_named, "the detector must see the digest key"
    for name, value in secret_named.items():
        assert isinstance(value, str) and value.startswith("@Microsoft.KeyVault("), f"{name} holds a literal value"
        assert not _looks_like_a_key(value), name


def test_no_generated_secret_value() -> None:
    # newGuid()/utcNow() change on every deployment: a key derived from them would be rotated by
    # every deployment (every stored fingerprint would stop matching). The digest key is made once
    # by the operator; no template generates secret material.
    for path in bicep_files():
        template = parse(path)
        for fn in ("new_guid", "utc_now"):
            assert not function_calls(template, fn), f"{path.name} calls {fn}()"
