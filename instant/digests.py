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
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    @property
    def kind(self) -> str:
        return HMAC_SHA256 if self._key else SHA256

    def text(self, value: str) -> str:
        data = value.encode("utf-8")
        if self._key:
            return hmac.new(self._key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()


PLAIN = Digester()
