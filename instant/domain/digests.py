"""Digests of what the service must remember without keeping: message bodies (audit entries)
and request fields (fingerprints).

A plain SHA-256 of "Your code is 123456." is reversed by hashing the million possible codes, so
with INSTANT_DIGEST_KEY set (from Key Vault in Azure) every digest is an HMAC-SHA256 under that
key; Table Storage alone then reveals nothing. Without a key (local runs) it is plain SHA-256.
Changing the key changes every fingerprint: retries of orders made before a rotation would be
refused as reused keys until their records are purged, so rotate only on compromise.
"""

from __future__ import annotations

import hashlib
import hmac

HMAC_SHA256 = "hmac-sha256"
SHA256 = "sha256"


class Digester:
    """Digests text: HMAC-SHA256 under the key when there is one, else plain SHA-256."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    @property
    def kind(self) -> str:
        """Which digest this is, as audit entries record it."""
        return HMAC_SHA256 if self._key else SHA256

    def text(self, value: str) -> str:
        """The hex digest of ``value`` (UTF-8)."""
        data = value.encode("utf-8")
        if self._key:
            return hmac.new(self._key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()


PLAIN = Digester()


CORRELATION_HEX_DIGITS = 16


def correlation_digest(value: str) -> str:
    """Unkeyed SHA-256 of ``value``, first 16 hex digits (64 bits), for traces: enough to find
    every span of one key or recipient, not to read it. Not for bodies: those use ``Digester``."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:CORRELATION_HEX_DIGITS]
