"""The Function App template matches the app's HTTP contract and the platform choices.

App settings are read from the parsed Function App resource (siteConfig.appSettings, following
variables and concat/conditional branches), not grepped from text.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

from tests.infra.bicep import (
    INFRA_DIR,
    REPO_ROOT,
    bicep_files,
    body,
    code_without_comments,
    module,
    parse,
    resolve,
    single_resource,
)
from tests.support.key_vault import KEY_VAULT_SETTINGS

# Every app setting of the HTTP contract that Azure needs. The template must set each one,
# unless it is listed in OPTIONAL_SETTINGS with the reason it may be absent.
CONTRACT_SETTINGS = (
    "ACS_ENDPOINT",
    "TABLES_ENDPOINT",
    "INSTANT_TABLE_NAME",
    "SMS_DEFAULT_SENDER",
    "EMAIL_DEFAULT_SENDER",
    "EMAIL_ALLOWED_SENDERS",
    "INSTANT_REQUEST_BUDGET_SECONDS",
    "IDEMPOTENCY_RETENTION_HOURS",
    "AUDIT_RETENTION_DAYS",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
)

# Settings the app reads that the template may leave out, and why. Every contract setting above
# is set (SMS_DEFAULT_SENDER only when the smsDefaultSender parameter is non-empty: the resolver
# sees both branches; infra/README.md explains the order: buy a number, then publish the code).
OPTIONAL_SETTINGS: dict[str, str] = {
    "INSTANT_EMAIL_WAIT_SECONDS": "the default 0 (answer once ACS took it) is meant for Azure too",
    "DELIVERY_REPORT_GRACE_SECONDS": "the default 300 s after an SMS deadline is meant for Azure too",
}

# Settings that must never be set in Azure, anywhere in the templates.
FORBIDDEN_SETTINGS = {
    "ACS_ACCESS_KEY": "absent => the app uses its managed identity (DefaultAzureCredential) for ACS",
    "TABLES_CONNECTION_STRING": "local runs only; Azure uses TABLES_ENDPOINT + managed identity",
    "INSTANT_DEFAULT_CALLER": "local runs only; in Azure the caller comes from APIM's X-Caller-Id",
    "INSTANT_LOCAL_DEVELOPMENT": "local runs only; in Azure a missing digest key must stop start-up",
    "AzureWebJobsStorage": "a connection string with the account key; host storage is identity based",
    "FUNCTIONS_WORKER_RUNTIME": "rejected on Flex Consumption: the runtime is functionAppConfig.runtime",
    "FUNCTIONS_EXTENSION_VERSION": "rejected on Flex Consumption",
    "WEBSITE_RUN_FROM_PACKAGE": "not used on Flex Consumption (deployment storage instead)",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return module("functionapp")


@pytest.fixture(scope="module")
def site(template: dict[str, Any]) -> dict[str, Any]:
    return body(single_resource(template, "Microsoft.Web/sites"))


@pytest.fixture(scope="module")
def app_settings(template: dict[str, Any], site: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for entry in resolve(site["properties"]["siteConfig"]["appSettings"], template):
        assert isinstance(entry, dict) and set(entry) == {"name", "value"}, f"unexpected app setting entry {entry!r}"
        assert entry["name"] not in settings, f"{entry['name']} set twice"
        settings[entry["name"]] = entry["value"]
    return settings


def test_contract_settings_are_set_or_documented(app_settings: dict[str, Any]) -> None:
    missing = [name for name in CONTRACT_SETTINGS if name not in app_settings and name not in OPTIONAL_SETTINGS]
    assert not missing, f"app settings neither set by functionapp.bicep nor documented as optional: {missing}"
    for name, reason in OPTIONAL_SETTINGS.items():
        assert len(reason) > 20, name


def _settings_the_app_reads() -> set[str]:
    """Field names of instant.config.Settings (read with ast: .venv-infra has no pydantic)."""
    config = REPO_ROOT / "instant" / "config.py"
    if not config.is_file():
        pytest.skip("instant/config.py not found")
    tree = ast.parse(config.read_text())
    (settings,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    return {
        n.target.id.upper()
        for n in settings.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.target.id != "model_config"
    }


def test_every_setting_the_app_reads_is_accounted_for(app_settings: dict[str, Any]) -> None:
    # Catches drift: a setting added to the app must be set here, or be documented as optional/forbidden.
    read = _settings_the_app_reads()
    assert set(CONTRACT_SETTINGS) <= read, f"contract settings the app no longer reads: {set(CONTRACT_SETTINGS) - read}"
    unaccounted = read - set(app_settings) - set(OPTIONAL_SETTINGS) - set(FORBIDDEN_SETTINGS)
    assert not unaccounted, f"the app reads settings the template neither sets nor documents: {sorted(unaccounted)}"


@pytest.mark.parametrize("name", sorted(KEY_VAULT_SETTINGS))
def test_key_vault_setting_is_set_and_accounted_for(name: str, app_settings: dict[str, Any]) -> None:
    # Set by the template whether or not instant/config.py reads it yet; once the app reads it,
    # test_every_setting_the_app_reads_is_accounted_for finds it among the template's settings.
    assert name in app_settings, f"{name} must be set in Azure (as a Key Vault reference)"
    # Not optional in Azure (the app would fall back to plain SHA-256), not forbidden, and not a
    # contract setting: CONTRACT_SETTINGS must all be read by the app already.
    assert name not in OPTIONAL_SETTINGS and name not in FORBIDDEN_SETTINGS and name not in CONTRACT_SETTINGS


def test_optional_settings_are_not_secretly_set(app_settings: dict[str, Any]) -> None:
    # Keep OPTIONAL_SETTINGS honest: an entry there must really be absent from the template.
    assert not set(OPTIONAL_SETTINGS) & set(app_settings)


@pytest.mark.parametrize("name", sorted(FORBIDDEN_SETTINGS))
def test_forbidden_setting_is_not_set(name: str, app_settings: dict[str, Any]) -> None:
    assert name not in app_settings, FORBIDDEN_SETTINGS[name]


@pytest.mark.parametrize(
    "name", ["ACS_ACCESS_KEY", "TABLES_CONNECTION_STRING", "INSTANT_DEFAULT_CALLER", "INSTANT_LOCAL_DEVELOPMENT"]
)
def test_local_only_setting_appears_in_no_template(name: str) -> None:
    for path in bicep_files():
        assert name not in code_without_comments(path), f"{name} appears in {path.relative_to(INFRA_DIR)}"


def test_identity_based_host_storage(app_settings: dict[str, Any]) -> None:
    assert app_settings["AzureWebJobsStorage__accountName"] == "storageAccountName"
    assert not [n for n in app_settings if n.startswith("AzureWebJobsStorage") and "__" not in n]


def test_app_insights_uses_entra_id(app_settings: dict[str, Any]) -> None:
    assert app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
    components = single_resource(module("monitoring"), "Microsoft.Insights/components")
    assert body(components)["properties"]["DisableLocalAuth"] == "disableLocalAuth"
    assert module("monitoring")["parameters"]["disableLocalAuth"]["default"] is True
    assert "WorkspaceResourceId" in body(components)["properties"], "App Insights must be workspace-based"


def test_flex_consumption_plan(template: dict[str, Any], site: dict[str, Any]) -> None:
    plan = body(single_resource(template, "Microsoft.Web/serverfarms"))
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux
    assert site["kind"] == "functionapp,linux"
    assert site["properties"]["serverFarmId"]


def test_flex_runtime_and_identity_deployment_storage(site: dict[str, Any]) -> None:
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "SystemAssignedIdentity"}
    assert site["identity"] == {"type": "SystemAssigned"}
    assert site["properties"]["httpsOnly"] is True


def test_only_api_management_gets_in(template: dict[str, Any], site: dict[str, Any]) -> None:
    site_config = site["properties"]["siteConfig"]
    assert site_config["ipSecurityRestrictionsDefaultAction"] == "Deny"
    rules = list(resolve(site_config["ipSecurityRestrictions"], template))
    assert len(rules) == 1, rules
    loop = rules[0]
    # One Allow rule per APIM gateway IP, /32, nothing else.
    assert loop["loop_type"]["detail"]["array_name"] == "allowedCallerIpAddresses"
    assert loop["config"]["action"] == "Allow"
    assert loop["config"]["ipAddress"].endswith("/32")
    assert "ApiManagement" not in str(site_config), (
        "the ApiManagement service tag is APIM's control plane, not its gateway"
    )
    main_params = parse(INFRA_DIR / "main.bicep")["modules"]["functionApp"]["config"]["params"]
    assert "apimService" in str(main_params["allowedCallerIpAddresses"])


def test_basic_auth_publishing_disabled(template: dict[str, Any]) -> None:
    policies = [
        body(r)
        for r in template["resources"].values()
        if r["type"] == "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    ]
    assert sorted(p["name"] for p in policies) == ["ftp", "scm"]
    assert all(p["properties"]["allow"] is False for p in policies)


def test_storage_account_hardening() -> None:
    storage = module("storage")
    account = body(single_resource(storage, "Microsoft.Storage/storageAccounts"))["properties"]
    assert account["allowSharedKeyAccess"] is False
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["supportsHttpsTrafficOnly"] is True
    assert storage["parameters"]["tableNames"]["default"][0] == "instantorders"
    assert single_resource(storage, "Microsoft.Storage/storageAccounts/blobServices/containers")


ROLE_IDS = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}


def test_role_assignments_are_least_privilege() -> None:
    roles = module("roles")
    assignments = [
        body(r) for r in roles["resources"].values() if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    assert len(assignments) == 5
    text = str(roles)
    for role_id in ROLE_IDS:
        assert role_id in text
    # Scoped to single resources, never the resource group or subscription.
    assert sorted(a["scope"] for a in assignments) == [
        "appInsights",
        "communicationService",
        "keyVault",
        "storage",
        "storage",
    ]
    # ACS: the dedicated built-in role by default; Contributor (b24988ac-...) only as a documented fallback.
    acs_default = roles["parameters"]["acsRoleDefinitionId"]["default"]
    assert acs_default == "09976791-48a7-449e-bb21-39d1a415f350"  # Communication and Email Service Owner
    for owner in ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"):  # Owner, UAA
        assert owner not in text
