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

from tests.infra.arm_models import KNOWN_VERSION_GAPS, SCHEMAS, Schema
from tests.infra.bicep import resolve

# Keys of a Bicep resource body that are not part of the ARM model (or always allowed).
BICEP_KEYS = frozenset({"name", "parent", "scope", "dependsOn"})


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
        return [f"{resource_type}: no published schema registered (add it to tests/infra/arm_models.py SCHEMAS)"]
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
    # An object literal, or a variable / conditional whose branches are object literals.
    problems = []
    for item in _items(value, template):
        problems += _check_object(_node(module, _subtype(module, type_, item)), item, where, template)
    return problems


def _subtype(module: Any, type_: str, item: dict[str, Any]) -> str:
    """The model a polymorphic object stands for: msrest's ``_subtype_map`` names the subtype by a
    discriminator property (e.g. Event Grid's ``endpointType: 'AzureFunction'``)."""
    model = getattr(module, type_)
    for attr, subtypes in getattr(model, "_subtype_map", {}).items():
        wire = model._attribute_map[attr]["key"]
        chosen = subtypes.get(item.get(wire)) if isinstance(item.get(wire), str) else None
        if chosen is not None and hasattr(module, chosen):
            return str(chosen)
    return type_


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
