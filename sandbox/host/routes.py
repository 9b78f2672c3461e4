"""Route templates: the part of ASP.NET's template syntax that Python function apps use.

Literal segments, ``{name}``, and as the last segment ``{name?}`` or ``{*name}``. Anything else
(constraints such as ``{id:int}``, defaults, several parameters in one segment, escaped braces)
is refused when the template is compiled, so an app the local host cannot route like Azure fails
at start-up instead of being matched differently.
"""

from __future__ import annotations

import enum
import re
import urllib.parse
from dataclasses import dataclass
from typing import Final

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnsupportedRoute(ValueError):
    """A route template uses syntax the local host does not implement."""


class SegmentKind(enum.IntEnum):
    """One template segment; the value is its routing precedence (lower wins, as in ASP.NET)."""

    LITERAL = 0
    PARAMETER = 1
    OPTIONAL = 2
    CATCH_ALL = 3


@dataclass(frozen=True)
class Segment:
    """A literal path segment, or a parameter's name and kind."""

    kind: SegmentKind
    text: str


def _segment(raw: str, route: str, last: bool) -> Segment:
    if "{" not in raw and "}" not in raw:
        return Segment(SegmentKind.LITERAL, raw)
    inner = raw[1:-1] if raw.startswith("{") and raw.endswith("}") else None
    kind = SegmentKind.PARAMETER
    if inner is not None and inner.startswith("*"):
        kind, inner = SegmentKind.CATCH_ALL, inner[1:]
    elif inner is not None and inner.endswith("?"):
        kind, inner = SegmentKind.OPTIONAL, inner[:-1]
    if inner is None or not _NAME.fullmatch(inner):
        raise UnsupportedRoute(
            f"route {route!r}: segment {raw!r} is not supported by the local host "
            "(only literals, {name}, and as the last segment {name?} or {*name})"
        )
    if kind is not SegmentKind.PARAMETER and not last:
        raise UnsupportedRoute(f"route {route!r}: {raw!r} may only be the last segment")
    return Segment(kind, inner)


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route: the route prefix's segments, then the function's own."""

    template: str
    segments: tuple[Segment, ...]

    @classmethod
    def compile(cls, route_prefix: str, route: str) -> RouteTemplate:
        """Compile ``route`` under ``route_prefix``; UnsupportedRoute for anything not implemented."""
        prefix = [Segment(SegmentKind.LITERAL, s) for s in route_prefix.strip("/").split("/") if s]
        parts = [s for s in route.strip("/").split("/") if s]
        own = [_segment(part, route, index == len(parts) - 1) for index, part in enumerate(parts)]
        names = [s.text.lower() for s in own if s.kind is not SegmentKind.LITERAL]
        if len(names) != len(set(names)):
            raise UnsupportedRoute(f"route {route!r}: a parameter name is used twice")
        template = "/" + "/".join([*(s.text for s in prefix), *parts])
        return cls(template, (*prefix, *own))

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: literal segments before parameters before optional and catch-all ones."""
        return tuple(int(s.kind) for s in self.segments)

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Route values (URL-decoded) if ``raw_path`` matches, else None; case-insensitive."""
        parts = raw_path.split("/")[1:]
        if parts and parts[-1] == "":
            parts.pop()  # one trailing slash is allowed, as in Azure
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind is SegmentKind.CATCH_ALL:
                rest = "/".join(parts[index:])
                if rest:
                    values[segment.text] = urllib.parse.unquote(rest)
                return values
            if index >= len(parts):
                return values if segment.kind is SegmentKind.OPTIONAL else None
            part = parts[index]
            if segment.kind is SegmentKind.LITERAL:
                if part.lower() != segment.text.lower():
                    return None
            elif part == "":
                return None
            else:
                values[segment.text] = urllib.parse.unquote(part)
        return values if len(parts) == len(self.segments) else None
