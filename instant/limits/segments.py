"""SMS segments as carriers count them (3GPP TS 23.038 / 23.040).

GSM-7: every character of the basic table is one septet, a character of the extension table is
two (ESC + the character); one message holds 160 septets, each part of a longer one 153 (the
rest is the concatenation header), and an escape pair is never split across two parts.
Anything outside both tables makes the whole message UCS-2: 70 code units, 67 per part; a
character outside the Basic Multilingual Plane is a surrogate pair (two units, never split).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The GSM 03.38 basic table in code order, without ESC (0x1B), which only introduces the
# extension table. Includes the Norwegian Æ æ Ø ø Å å.
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The default extension table: each costs ESC plus itself.
_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


class SmsEncoding(StrEnum):
    """How the message goes over the air (the audit records it)."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Segments:
    """The encoding and the number of parts a carrier bills for one message."""

    encoding: SmsEncoding
    count: int
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)


def _units(body: str) -> tuple[SmsEncoding, list[int]]:
    if all(ch in _BASIC or ch in _EXTENSION for ch in body):
        return SmsEncoding.GSM7, [2 if ch in _EXTENSION else 1 for ch in body]
    return SmsEncoding.UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in body]


def count_segments(body: str) -> Segments:
    """The segments of ``body``: a character's units always stay in one part."""
    encoding, units = _units(body)
    single, part = (GSM7_SINGLE, GSM7_PART) if encoding is SmsEncoding.GSM7 else (UCS2_SINGLE, UCS2_PART)
    total = sum(units)
    if total <= single:
        return Segments(encoding, 1 if total else 0, total)
    parts, filled = 1, 0
    for width in units:
        if filled + width > part:  # the pair would straddle the boundary: it opens the next part
            parts, filled = parts + 1, 0
        filled += width
    return Segments(encoding, parts, total)
