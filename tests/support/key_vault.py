"""The app settings that are Key Vault references in Azure (shared by two infra test modules)."""

from __future__ import annotations

# Secrets the app reads. In Azure each is set, but only ever as a Key Vault reference to the named
# secret (created by the operator, infra/README.md "Digest key"); tests/infra/test_key_vault.py
# checks the reference, tests/infra/test_no_secrets.py that no other secret-sounding setting has a
# literal value. The app may or may not read a setting yet (instant/config.py is edited
# separately): the cross-check below accepts both, because the template sets it either way.
KEY_VAULT_SETTINGS: dict[str, str] = {
    "INSTANT_DIGEST_KEY": "instant-digest-key",  # HMAC-SHA256 key of the stored body digests
}
