"""Check the resources of a parsed Bicep template against Azure's published resource schemas.

The schemas are the generated models of the Azure management SDKs (azure-mgmt-*, pinned in
requirements-infra.txt), one module per API version: each model has an ``_attribute_map`` (wire
name and type of every property, flattened ``properties.x`` keys included) and ``_validation``
(read-only flags). A property the template sets must exist there with exactly that spelling and
must not be read-only; nested objects and arrays of objects are followed.

What cannot be followed (a value that is an expression, a variable that is not a literal, a map
whose keys are free such as tags) is accepted as it is: this checks names, not values.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from tests.infra.bicep import resolve

# Keys of a Bicep resource body that are not part of the ARM model (or always allowed).
BICEP_KEYS = frozenset({"name", "parent", "scope", "dependsOn"})


@dataclass(frozen=True)
class Schema:
    """Where the model of one resource type lives, and for which API version."""

    module: str  # e.g. azure.mgmt.web.v2024_04_01.models
    model: str  # the PUT body's model
    api_version: str  # the API version of that module
    envelope: str | None = None  # the model describes only this key of the body (e.g. "properties")


# Resource type (lower case) -> its PUT body model. Every type a template uses must be listed.
SCHEMAS: dict[str, Schema] = {
    "microsoft.web/sites": Schema("azure.mgmt.web.v2024_04_01.models", "Site", "2024-04-01"),
    "microsoft.web/serverfarms": Schema("azure.mgmt.web.v2024_04_01.models", "AppServicePlan", "2024-04-01"),
    "microsoft.web/sites/basicpublishingcredentialspolicies": Schema(
        "azure.mgmt.web.v2024_04_01.models", "CsmPublishingCredentialsPoliciesEntity", "2024-04-01"
    ),
    "microsoft.web/sites/host": Schema("azure.mgmt.web.v2024_04_01.models", "HostKeys", "2024-04-01"),
    # Not in Bicep's type index (BCP081 warning): the body is {properties: KeyInfo}, as documented
    # for host keys managed as resources.
    "microsoft.web/sites/host/functionkeys": Schema(
        "azure.mgmt.web.v2024_04_01.models", "KeyInfo", "2024-04-01", envelope="properties"
    ),
    "microsoft.storage/storageaccounts": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "StorageAccountCreateParameters", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/blobservices": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "BlobServiceProperties", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/blobservices/containers": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "BlobContainer", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/tableservices": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "TableServiceProperties", "2023-05-01"
    ),
    "microsoft.storage/storageaccounts/tableservices/tables": Schema(
        "azure.mgmt.storage.v2023_05_01.models", "Table", "2023-05-01"
    ),
    "microsoft.apimanagement/service": Schema(
        "azure.mgmt.apimanagement.models", "ApiManagementServiceResource", "2024-05-01"
    ),
    "microsoft.apimanagement/service/namedvalues": Schema(
        "azure.mgmt.apimanagement.models", "NamedValueCreateContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/backends": Schema(
        "azure.mgmt.apimanagement.models", "BackendContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis": Schema(
        "azure.mgmt.apimanagement.models", "ApiCreateOrUpdateParameter", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/policies": Schema(
        "azure.mgmt.apimanagement.models", "PolicyContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/operations": Schema(
        "azure.mgmt.apimanagement.models", "OperationContract", "2024-05-01"
    ),
    "microsoft.apimanagement/service/apis/operations/policies": Schema(
        "azure.mgmt.apimanagement.models", "PolicyContract", "2024-05-01"
    ),
    "microsoft.communication/communicationservices": Schema(
        "azure.mgmt.communication.models", "CommunicationServiceResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices": Schema(
        "azure.mgmt.communication.models", "EmailServiceResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices/domains": Schema(
        "azure.mgmt.communication.models", "DomainResource", "2023-04-01"
    ),
    "microsoft.communication/emailservices/domains/senderusernames": Schema(
        "azure.mgmt.communication.models", "SenderUsernameResource", "2023-04-01"
    ),
    "microsoft.keyvault/vaults": Schema(
        "azure.mgmt.keyvault.v2023_07_01.models", "VaultCreateOrUpdateParameters", "2023-07-01"
    ),
    "microsoft.insights/components": Schema(
        "azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent", "2020-02-02"
    ),
    "microsoft.insights/workbooks": Schema(
        "azure.mgmt.applicationinsights.v2022_04_01.models", "Workbook", "2022-04-01"
    ),
    "microsoft.insights/diagnosticsettings": Schema(
        "azure.mgmt.monitor.v2021_05_01_preview.models", "DiagnosticSettingsResource", "2021-05-01-preview"
    ),
    "microsoft.insights/scheduledqueryrules": Schema(
        "azure.mgmt.monitor.v2022_08_01_preview.models", "ScheduledQueryRuleResource", "2022-08-01-preview"
    ),
    # azure-mgmt-loganalytics has no 2023-09-01 models: the nearest published models are checked
    # (2025-07-01, a superset for the properties set here); infra/README.md states the mismatch.
    "microsoft.operationalinsights/workspaces": Schema("azure.mgmt.loganalytics.models", "Workspace", "2025-07-01"),
    "microsoft.authorization/roleassignments": Schema(
        "azure.mgmt.authorization.v2022_04_01.models", "RoleAssignmentCreateParameters", "2022-04-01"
    ),
}

# (resource type, template API version) checked against models of another version, and why.
KNOWN_VERSION_GAPS: dict[tuple[str, str], str] = {
    ("microsoft.operationalinsights/workspaces", "2023-09-01"): (
        "azure-mgmt-loganalytics ships 2021-06-01 (12.0.0) or 2025-07-01 (13.x); 2025-07-01 is the nearest"
    ),
}

_LIST = re.compile(r"^\[(.*)\]$")
_DICT = re.compile(r"^\{(.*)\}$")
_PRIMITIVES = frozenset(
    {"str", "bool", "int", "long", "float", "object", "duration", "iso-8601", "rfc-1123", "unix-time", "bytearray"}
)


@dataclass(frozen=True)
class Node:
    """One level of a model: wire name -> (type string, read-only), with nested flattened keys."""

    module: Any
    model: str
    fields: dict[str, tuple[str | None, bool]]  # name -> (type, readonly); type None = nested flattened node
    children: dict[str, Node]


_UNESCAPED_DOT = re.compile(r"(?<!\\)\.")


def _node(module: Any, model_name: str) -> Node:
    model = getattr(module, model_name)
    if not hasattr(model, "_attribute_map"):
        raise AssertionError(f"{module.__name__}.{model_name} has no _attribute_map (not an msrest model)")
    validation = getattr(model, "_validation", {})
    entries = [
        (
            [part.replace("\\.", ".") for part in _UNESCAPED_DOT.split(spec["key"])],
            spec["type"],
            bool(validation.get(attr, {}).get("readonly")),
        )
        for attr, spec in model._attribute_map.items()
    ]
    return _tree(module, model_name, entries)


def _tree(module: Any, model: str, entries: list[tuple[list[str], str, bool]]) -> Node:
    """Build one level from (wire path, type, readonly); flattened keys ("properties.x") nest."""
    fields: dict[str, tuple[str | None, bool]] = {}
    nested: dict[str, list[tuple[list[str], str, bool]]] = {}
    for parts, type_, readonly in entries:
        if len(parts) > 1:
            nested.setdefault(parts[0], []).append((parts[1:], type_, readonly))
        else:
            fields[parts[0]] = (type_, readonly)
    children = {head: _tree(module, f"{model}.{head}", sub) for head, sub in nested.items()}
    for head in children:
        fields.setdefault(head, (None, False))
    return Node(module, model, fields, children)


def load(schema: Schema) -> Node:
    """The model tree of a resource type's PUT body."""
    return _node(importlib.import_module(schema.module), schema.model)


def check_resource(resource_type: str, api_version: str, body: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """Every problem found in one resource body (empty: it matches the published schema)."""
    key = resource_type.lower()
    schema = SCHEMAS.get(key)
    if schema is None:
        return [f"{resource_type}: no published schema registered (add it to tests/infra/arm_schema.py SCHEMAS)"]
    problems = []
    if api_version != schema.api_version and (key, api_version) not in KNOWN_VERSION_GAPS:
        problems.append(
            f"{resource_type}@{api_version}: the pinned models are for {schema.api_version}"
            " (pin a matching azure-mgmt package, or change the template's API version)"
        )
    node = load(schema)
    for name, value in body.items():
        if name in BICEP_KEYS:
            continue
        if schema.envelope is not None:
            if name != schema.envelope:
                problems.append(f"{resource_type}: '{name}' is not a property (the body is {{{schema.envelope}: ...}})")
            elif isinstance(value, dict):
                problems += _check_object(node, value, f"{resource_type}.{name}", template)
            continue
        problems += _check_field(node, name, value, resource_type, template)
    return problems


def _check_object(node: Node, value: dict[str, Any], path: str, template: dict[str, Any]) -> list[str]:
    problems = []
    for name, child in value.items():
        problems += _check_field(node, name, child, path, template)
    return problems


def _check_field(node: Node, name: str, value: Any, path: str, template: dict[str, Any]) -> list[str]:
    where = f"{path}.{name}"
    if name not in node.fields:
        near = [f for f in node.fields if f.lower() == name.lower()]
        hint = f" (did you mean '{near[0]}'? names are case-sensitive here)" if near else ""
        return [f"{where}: no such property in {node.model}{hint}"]
    type_, readonly = node.fields[name]
    if readonly:
        return [f"{where}: read-only in {node.model}; Azure ignores or rejects it"]
    if type_ is None:  # a flattened level (e.g. "properties")
        return _check_object(node.children[name], value, where, template) if isinstance(value, dict) else []
    return _check_value(node.module, type_, value, where, template)


def _check_value(module: Any, type_: str, value: Any, where: str, template: dict[str, Any]) -> list[str]:
    if (match := _LIST.match(type_)) is not None:
        problems = []
        for item in _items(value, template):
            problems += _check_value(module, match.group(1), item, f"{where}[]", template)
        return problems
    if _DICT.match(type_) or type_ in _PRIMITIVES or not hasattr(module, type_):
        return []  # free-form map, primitive or enum: names cannot be checked
    item = _unwrap(value)
    if isinstance(item, dict) and not _is_expression(item):
        return _check_object(_node(module, type_), item, where, template)
    return []


def _items(value: Any, template: dict[str, Any]) -> list[Any]:
    """Array elements that are literal objects, following variables, concat() and loops."""
    found = []
    for item in resolve(value, template):
        item = _unwrap(item)
        if isinstance(item, dict) and not _is_expression(item):
            found.append(item)
    return found


def _unwrap(value: Any) -> Any:
    while isinstance(value, dict) and "loop_type" in value and "config" in value:
        value = value["config"]
    return value


def _is_expression(value: dict[str, Any]) -> bool:
    return len(value) == 1 and isinstance(value.get("function", value.get("operator")), dict)
