"""SMS segments against a table of known messages: encoding and the parts carriers bill."""

from __future__ import annotations

import pytest

from instant.limits.segments import SmsEncoding, count_segments

GSM7, UCS2 = SmsEncoding.GSM7, SmsEncoding.UCS2

KNOWN = [
    # (message, encoding, segments, units, why)
    ("Your code is 123456.", GSM7, 1, 20, "plain ASCII"),
    ("a" * 160, GSM7, 1, 160, "one full GSM-7 segment"),
    ("a" * 161, GSM7, 2, 161, "one over: two parts of 153"),
    ("a" * 306, GSM7, 2, 306, "two full parts"),
    ("a" * 307, GSM7, 3, 307, "one over two parts"),
    ("Hei Åse, koden din er 123456. Hilsen Nærøy kommune", GSM7, 1, 50, "Æ Ø Å are GSM-7"),
    ("æøåÆØÅ" * 26 + "ab", GSM7, 1, 158, "Norwegian letters count one septet each"),
    ("ø" * 161, GSM7, 2, 161, "Norwegian letters are not UCS-2"),
    ("€" * 80, GSM7, 1, 160, "extension characters count two"),
    ("€" * 81, GSM7, 2, 162, "162 septets: 76 euros in part one, 5 in part two"),
    ("a" * 159 + "{", GSM7, 2, 161, "an escape pair that pushes a single message over 160"),
    ("a" * 152 + "[" + "a" * 152, GSM7, 3, 306, "306 septets, but '[' may not straddle parts 1 and 2"),
    ("a" * 151 + "[" + "a" * 153, GSM7, 2, 306, "the same septets with the pair inside part 1"),
    ("a" * 152 + "€" + "a" * 10, GSM7, 2, 164, "'€' at the boundary opens part 2"),
    ("Koden er 123456 — hilsen NAV", UCS2, 1, 28, "an em dash is not GSM-7: the whole message is UCS-2"),
    ("ç" * 70, UCS2, 1, 70, "one full UCS-2 segment (only Ç is GSM-7, not ç)"),
    ("ç" * 71, UCS2, 2, 71, "one over: parts of 67"),
    ("ç" * 134, UCS2, 2, 134, "two full UCS-2 parts"),
    ("ç" * 135, UCS2, 3, 135, "one over two UCS-2 parts"),
    ("😀" * 35, UCS2, 1, 70, "an emoji is a surrogate pair: two units"),
    ("😀" * 36, UCS2, 2, 72, "33 emoji in part one, 3 in part two"),
    ("a" * 66 + "😀" + "a" * 66, UCS2, 3, 134, "a surrogate pair is never split across parts"),
    ("Koden din er 123456 🔐", UCS2, 1, 22, "one emoji makes a short code message UCS-2"),
]


@pytest.mark.parametrize(("message", "encoding", "segments", "units", "why"), KNOWN, ids=[k[4] for k in KNOWN])
def test_known_messages(message: str, encoding: SmsEncoding, segments: int, units: int, why: str) -> None:
    counted = count_segments(message)
    assert (counted.encoding, counted.count, counted.units) == (encoding, segments, units), why


def test_every_extension_character_counts_two_and_escape_itself_is_not_gsm7() -> None:
    for ch in "\f^{}\\[~]|€":
        assert count_segments(ch).units == 2, repr(ch)
    assert count_segments("\x1b").encoding is UCS2
