"""How a hand-off to the provider ended, as the idempotency layer records it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from instant.domain.errors import ProblemError
from instant.domain.records import RecipientStatus


class OutcomeKind(StrEnum):
    """Whether the outcome is final, and how."""

    ACCEPTED = "accepted"  # stored and replayed: 201
    FAILED = "failed"  # a stored, replayed problem (410, 422 recipient_rejected, 502)
    UNAVAILABLE = "unavailable"  # not stored; the next request with the key takes over


@dataclass(frozen=True)
class Outcome:
    """The end of one request's hand-off: the recipient status, and the problem if any."""

    kind: OutcomeKind
    status: RecipientStatus
    provider_id: str | None = None
    problem: ProblemError | None = None
    may_have_reached: bool = False

    def required_problem(self) -> ProblemError:
        """The problem of a FAILED or UNAVAILABLE outcome."""
        assert self.problem is not None, f"a {self.kind} outcome carries its problem"
        return self.problem
