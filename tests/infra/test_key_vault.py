"""The digest key (INSTANT_DIGEST_KEY): a Key Vault reference in the app settings, never a value.

* infra/modules/keyvault.bicep creates the vault (RBAC, soft delete, purge protection) but NOT the
  secret: the operator creates `instant-digest-key` once (a template-generated value would change
  on every deployment and break every stored fingerprint).
* The app setting is `@Microsoft.KeyVault(VaultName=<vault>;SecretName=instant-digest-key)`, the
  platform resolves it with the app's system-assigned identity.
* That identity holds "Key Vault Secrets User" on that one vault, nothing more.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra.bicep import (
    INFRA_DIR,
    MAIN_BICEP,
    bicep_files,
    body,
    module,
    parse,
    resolve,
    single_resource,
)
from tests.support.key_vault import KEY_VAULT_SETTINGS

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
# Roles the app must NOT get on the vault: they can write, delete or manage secrets/keys/access.
KEY_VAULT_WRITE_ROLES = {
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": "Key Vault Crypto Officer",
    "f25e0fa2-a7c8-4377-a976-54943a77a395": "Key Vault Contributor",
}
# The App Service / Functions reference syntax, unversioned (the latest version of the secret).
REFERENCE = re.compile(r"@Microsoft\.KeyVault\(VaultName=(?P<vault>[^;()]+);SecretName=(?P<secret>[^;()]+)\)")
_INTERPOLATION = re.compile(r"\$\{(\w+)\}")


def _interpolate(text: str, template: dict[str, Any]) -> str:
    """Replace ${var} by the value of a string variable of the template; parameters stay ${param}."""
    variables = template.get("variables", {})

    def substitute(match: re.Match[str]) -> str:
        value = variables.get(match.group(1), {}).get("value")
        return value if isinstance(value, str) else match.group(0)

    return _INTERPOLATION.sub(substitute, text)


def _module_param(name: str, param: str) -> Any:
    return parse(MAIN_BICEP)["modules"][name]["config"]["params"][param]


def _accessor_path(node: Any) -> list[str]:
    """`a.b.c` (pycep's nested property_accessor operators) as ["a", "b", "c"]."""
    if isinstance(node, str):
        return [node]
    operands = node["operator"]["operands"]
    assert node["operator"]["type"] == "property_accessor", node
    return [operands["operand_1"], *_accessor_path(operands["operand_2"])]


@pytest.fixture(scope="module")
def functionapp() -> dict[str, Any]:
    return module("functionapp")


@pytest.fixture(scope="module")
def app_settings(functionapp: dict[str, Any]) -> dict[str, Any]:
    site = body(single_resource(functionapp, "Microsoft.Web/sites"))
    return {e["name"]: e["value"] for e in resolve(site["properties"]["siteConfig"]["appSettings"], functionapp)}


@pytest.fixture(scope="module")
def vault() -> dict[str, Any]:
    return body(single_resource(module("keyvault"), "Microsoft.KeyVault/vaults"))


# ---- the app setting ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(KEY_VAULT_SETTINGS))
def test_setting_is_a_key_vault_reference_not_a_literal(
    name: str, app_settings: dict[str, Any], functionapp: dict[str, Any]
) -> None:
    assert name in app_settings, f"{name} must be set in Azure (as a Key Vault reference)"
    value = app_settings[name]
    assert isinstance(value, str), f"{name}: expected the reference string, got {value!r}"
    match = REFERENCE.fullmatch(_interpolate(value, functionapp))
    assert match, f"{name} is not a Key Vault reference: {value!r}"
    # The vault is the module parameter (wired from the keyvault module in main.bicep), and the
    # secret is the documented name; no version pinned, no value anywhere.
    assert match["vault"] == "${keyVaultName}"
    assert "keyVaultName" in functionapp["parameters"]
    assert match["secret"] == KEY_VAULT_SETTINGS[name]
    assert "SecretVersion" not in value


def test_no_other_setting_is_a_key_vault_reference(app_settings: dict[str, Any]) -> None:
    # KEY_VAULT_SETTINGS is the one list: a new reference must be added there (and documented).
    references = {n for n, v in app_settings.items() if isinstance(v, str) and "@Microsoft.KeyVault" in v}
    assert references == set(KEY_VAULT_SETTINGS)


def test_reference_names_the_vault_the_role_is_scoped_to() -> None:
    # main.bicep hands the SAME vault (the keyvault module's output) to the app settings and to
    # the role assignment; a reference to another vault would never resolve.
    for consumer in ("functionApp", "roles"):
        assert _accessor_path(_module_param(consumer, "keyVaultName")) == ["keyVault", "outputs", "keyVaultName"]
    assert parse(MAIN_BICEP)["modules"]["keyVault"]["detail"]["path"] == "modules/keyvault.bicep"


def test_secret_name_is_documented_for_the_operator() -> None:
    readme = (INFRA_DIR / "README.md").read_text()
    for secret in KEY_VAULT_SETTINGS.values():
        assert f"--name {secret}" in readme, "README must show the az keyvault secret set command"


# ---- the vault ------------------------------------------------------------------------------


def test_vault_uses_rbac_without_access_policies(vault: dict[str, Any]) -> None:
    props = vault["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props.get("accessPolicies", []) == []


def test_vault_is_recoverable(vault: dict[str, Any]) -> None:
    props = vault["properties"]
    assert props["enableSoftDelete"] is True
    assert props["enablePurgeProtection"] is True
    retention = module("keyvault")["parameters"]["softDeleteRetentionInDays"]
    assert retention["default"] == 90


def test_vault_grants_no_platform_backdoor(vault: dict[str, Any]) -> None:
    # VMs, disk encryption and ARM template deployments must not read secrets from it.
    props = vault["properties"]
    assert props["enabledForDeployment"] is False
    assert props["enabledForDiskEncryption"] is False
    assert props["enabledForTemplateDeployment"] is False
    assert props["sku"] == {"family": "A", "name": "standard"}


def test_vault_network_access_is_the_documented_choice(vault: dict[str, Any]) -> None:
    # Public endpoint on (no VNet integration: the platform resolves references from addresses
    # that are not the app's outbound IPs); the checkov skips carry the reason.
    props = vault["properties"]
    assert props["publicNetworkAccess"] == "Enabled"
    assert props["networkAcls"]["defaultAction"] == "Allow"
    text = (INFRA_DIR / "modules" / "keyvault.bicep").read_text()
    for check in ("CKV_AZURE_189", "CKV_AZURE_109"):
        assert f"// checkov:skip={check}:" in text


def test_vault_access_is_audited() -> None:
    template = module("keyvault")
    settings = body(single_resource(template, "Microsoft.Insights/diagnosticSettings"))
    assert settings["scope"] == "vault"
    assert {"category": "AuditEvent", "enabled": True} in settings["properties"]["logs"]
    assert settings["properties"]["workspaceId"] == "workspaceId"


def test_vault_name_fits_the_naming_rules() -> None:
    name = parse(MAIN_BICEP)["variables"]["names"]["value"]["keyVault"]["function"]
    assert name["type"] == "take" and name["parameters"]["number_to_take"] == 24
    assert name["parameters"]["original_value"].startswith("kv-")


def test_template_never_creates_the_secret() -> None:
    # The operator creates it once; a secret resource here would need its value in the template.
    for path in bicep_files():
        for res_name, res in parse(path).get("resources", {}).items():
            assert not res["type"].lower().startswith("microsoft.keyvault/vaults/"), (
                f"{path.name}: {res_name} creates {res['type']}; the digest key is set by the operator"
            )


# ---- the role -------------------------------------------------------------------------------


def test_app_gets_key_vault_secrets_user_on_the_vault_only() -> None:
    roles = module("roles")
    role_ids = roles["variables"]["roleIds"]["value"]
    resources = roles["resources"]
    on_vault = []
    for res in resources.values():
        if res["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        assignment = body(res)
        scope = resources[assignment["scope"]]
        if scope["type"] != "Microsoft.KeyVault/vaults":
            continue
        on_vault.append(assignment)
        assert scope["existing"] is True and scope["config"]["name"] == "keyVaultName"
    assert len(on_vault) == 1, "exactly one role assignment on the vault"
    (assignment,) = on_vault
    definition = assignment["properties"]["roleDefinitionId"]["function"]
    assert definition["type"] == "subscription_resource_id"
    assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    variable, key = _accessor_path(definition["parameters"]["resource_name_1"])
    assert variable == "roleIds"
    assert role_ids[key] == KEY_VAULT_SECRETS_USER
    assert assignment["properties"]["principalId"] == "principalId"
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    # The assignment name is deterministic per (vault, principal, role): redeploying is idempotent.
    name = assignment["name"]["function"]
    assert name["type"] == "guid"
    assert _accessor_path(name["parameters"]["base_string"]) == ["keyVault", "id"]


def test_app_gets_no_key_vault_write_role() -> None:
    text = str(module("roles"))
    for role_id, role in KEY_VAULT_WRITE_ROLES.items():
        assert role_id not in text, f"the app must not be {role}"
