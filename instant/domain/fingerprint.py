"""The fingerprint of a request: what makes two requests with one key "the same payload"."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from instant.domain.digests import PLAIN, Digester


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Fingerprint:
    """A hash of the normalised request, and a hash per field so a mismatch can name fields."""

    value: str
    fields: Mapping[str, str]

    @classmethod
    def of(cls, normalised_fields: Mapping[str, object], digester: Digester = PLAIN) -> Fingerprint:
        """Digest every present field (by its JSON path), then the set of field digests."""
        per_field = {path: digester.text(_canonical(v)) for path, v in normalised_fields.items() if v is not None}
        return cls(value=digester.text(_canonical(per_field)), fields=per_field)

    def differing_fields(self, other: Fingerprint) -> list[str]:
        """The JSON paths whose values differ between the two requests (a 422 names them)."""
        paths = set(self.fields) | set(other.fields)
        return sorted(p for p in paths if self.fields.get(p) != other.fields.get(p))
