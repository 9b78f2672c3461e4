"""What the service answers: a status, the exact body bytes and the headers the contract names.

The service never renders JSON itself: the bytes come from the ``AnswerRenderer`` it is given
(instant/entrypoints/answers.py), so the wire format stays at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Answer:
    """One answer to the caller, ready to be written to the wire."""

    status: int
    body: str
    code: str  # "created", "shipment" or the problem code: the outcome's stable name
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """problem+json for every error (RFC 9457), JSON otherwise."""
        return PROBLEM_JSON if self.status >= 400 else JSON
