"""Request bodies to wire models, with bounded refusals.

A refusal names the broken fields as the contract's ``errors`` map (JSON path -> messages), at
most ``MAX_ERROR_FIELDS`` of them plus a count of the rest, and costs about one pass over the
body's keys whatever the body holds: unknown fields never reach pydantic.
"""

from __future__ import annotations

from itertools import compress
from typing import Any, TypeVar

from pydantic import ValidationError

from instant.schemas import RequestModel

MAX_ERROR_FIELDS = 20  # the contract: ``errors`` names the first 20 fields, ``errorsOmitted`` counts the rest
_MAX_KEY_IN_PATH = 64  # a 1 MiB property name must not make a 1 MiB error body

Request = TypeVar("Request", bound=RequestModel)


class RequestInvalid(Exception):
    """Field errors of a request: the first ``MAX_ERROR_FIELDS`` fields, and how many more."""

    def __init__(self, errors: dict[str, list[str]], omitted: int) -> None:
        super().__init__(f"{len(errors) + omitted} fields are not valid")
        self.errors = errors
        self.omitted = omitted


class _UnknownFields:
    def __init__(self) -> None:
        self.paths: list[str] = []
        self.count = 0

    def room(self) -> bool:
        return len(self.paths) < MAX_ERROR_FIELDS  # only the ones that can be shown are named

    def name(self, prefix: str, key: str) -> None:
        if len(key) > _MAX_KEY_IN_PATH:
            key = f"{key[:_MAX_KEY_IN_PATH]}…({len(key)} characters)"
        self.paths.append(prefix + key or "$")


def _known_only(model: type[RequestModel], data: Any, prefix: str, unknown: _UnknownFields) -> Any:
    # Unknown keys are counted and dropped, known objects are walked. The look-ups run in C
    # (map): a body can hold 90,000 keys, and only the first unknown ones are ever named.
    if not isinstance(data, dict):
        return data
    aliases, nested = model.alias_map(), model.nested_models()
    names = list(map(aliases.get, map(str.lower, data)))
    missing = names.count(None)
    if missing:
        unknown.count += missing
        for key, name in zip(data, names, strict=True):
            if not unknown.room():
                break
            if name is None:
                unknown.name(prefix, key)
    kept: dict[str, Any] = {}
    for (key, value), name in zip(compress(data.items(), names), filter(None, names), strict=True):
        child = nested.get(name)
        kept[key] = _known_only(child, value, f"{prefix}{name}.", unknown) if child else value
    return kept


def parse_request(model: type[Request], payload: Any) -> Request:
    """The validated request, or RequestInvalid naming the broken fields (capped).

    Unknown fields are counted and dropped before pydantic sees the payload, so refusing a body
    of 90,000 unknown fields costs one pass over its keys, not 90,000 error objects.
    """
    unknown = _UnknownFields()
    known = _known_only(model, payload, "", unknown)
    errors: dict[str, list[str]] = {}
    try:
        wire = model.model_validate(known)
    except ValidationError as exc:
        errors = validation_errors(exc)
    else:
        if not unknown.count:
            return wire
    total = len(errors) + unknown.count
    shown = dict(list(errors.items())[:MAX_ERROR_FIELDS])
    for path in unknown.paths[: MAX_ERROR_FIELDS - len(shown)]:
        shown.setdefault(path, []).append("is not a known field")
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
