"""Request bodies to wire models, with bounded refusals.

A refusal names the broken fields as the contract's ``errors`` map (JSON path -> messages), at
most ``MAX_ERROR_FIELDS`` of them plus a count of the rest, and costs about one pass over the
body's keys whatever the body holds: unknown fields never reach pydantic.
"""

from __future__ import annotations

from itertools import compress
from typing import Any, TypeVar

from pydantic import ValidationError

from instant.entrypoints.schemas import RequestModel

MAX_ERROR_FIELDS = 20  # the contract: ``errors`` names the first 20 fields, ``errorsOmitted`` counts the rest
_MAX_KEY_IN_PATH = 64  # a 1 MiB property name must not make a 1 MiB error body

Request = TypeVar("Request", bound=RequestModel)


class RequestInvalid(Exception):
    """Field errors of a request: the first ``MAX_ERROR_FIELDS`` fields, and how many more."""

    def __init__(self, errors: dict[str, list[str]], omitted: int) -> None:
        super().__init__(f"{len(errors) + omitted} fields are not valid")
        self.errors = errors
        self.omitted = omitted


_UNKNOWN = "is not a known field"
_TWICE = "is given more than once (names are case-insensitive)"


class _Dropped:
    """Fields refused before pydantic: all counted, named only while there is room to show them."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.count = 0

    def room(self) -> bool:
        return len(self.errors) < MAX_ERROR_FIELDS

    def name(self, prefix: str, key: str, message: str) -> None:
        if len(key) > _MAX_KEY_IN_PATH:
            key = f"{key[:_MAX_KEY_IN_PATH]}…({len(key)} characters)"
        self.errors.setdefault(prefix + key or "$", []).append(message)


def _known_only(model: type[RequestModel], data: Any, prefix: str, dropped: _Dropped) -> Any:
    # Unknown keys and second spellings of a known one are counted and dropped; known objects
    # are walked. The look-ups run in C (map, compress): a body can hold 90,000 keys, and only
    # the first of the dropped ones are ever named.
    if not isinstance(data, dict):
        return data
    aliases, nested = model.alias_map(), model.nested_models()
    names = list(map(aliases.get, map(str.lower, data)))
    missing = names.count(None)
    if missing:
        dropped.count += missing
        for key, name in zip(data, names, strict=True):
            if not dropped.room():
                break
            if name is None:
                dropped.name(prefix, key, _UNKNOWN)
    kept: dict[str, Any] = {}
    seen: dict[str, bool] = {}  # wire name -> given more than once
    for (key, value), name in zip(compress(data.items(), names), filter(None, names), strict=True):
        if name in seen:
            if not seen[name]:
                seen[name] = True
                dropped.count += 1
                if dropped.room():
                    dropped.name(prefix, name, _TWICE)
            continue
        seen[name] = False
        child = nested.get(name)
        kept[key] = _known_only(child, value, f"{prefix}{name}.", dropped) if child else value
    return kept


def parse_request(model: type[Request], payload: Any) -> Request:
    """The validated request, or RequestInvalid naming the broken fields (capped).

    Unknown fields are counted and dropped before pydantic sees the payload, so refusing a body
    of 90,000 unknown fields costs one pass over its keys, not 90,000 error objects.
    """
    dropped = _Dropped()
    known = _known_only(model, payload, "", dropped)
    errors: dict[str, list[str]] = {}
    try:
        wire = model.model_validate(known)
    except ValidationError as exc:
        errors = validation_errors(exc)
    else:
        if not dropped.count:
            return wire
    total = len(errors) + dropped.count
    shown = dict(list(errors.items())[:MAX_ERROR_FIELDS])
    for path, messages in dropped.errors.items():
        if len(shown) >= MAX_ERROR_FIELDS:
            break
        shown.setdefault(path, []).extend(messages)
    raise RequestInvalid(shown, max(total - len(shown), 0))


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    """pydantic errors as the contract's map: JSON path of the field -> messages."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        location = [str(part) for part in error["loc"]]
        if error["type"] == "extra_forbidden":
            message = "is not a known field"
        elif error["type"] == "missing":
            message = "is required"
        else:
            message = error["msg"].removeprefix("Value error, ")
        path = ".".join(location) or "$"
        errors.setdefault(path, []).append(message)
    return errors
