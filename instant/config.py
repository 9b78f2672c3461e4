"""Settings, read once from the environment and validated (docs/api.md, "Settings").

A missing or malformed required setting stops start-up with a message that names it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from instant.domain.addresses import normalise_email_address, validate_sms_sender
from instant.limits.policy import LimitSettings
from instant.limits.rates import parse_rate_limits

# Re-exported: the entrypoints check the caller header against it, and may import config only.
from instant.limits_config import CALLER_ID_PATTERN as CALLER_ID_PATTERN
from instant.limits_config import (
    limit_settings,
    normalise_countries,
    normalise_segment_budget,
    senders_table,
)

# The base table name; "YYYYMM" is appended for each period (a table name has at most 63 chars).
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,56}$")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


class Settings(BaseSettings):
    """Every setting the app reads, validated once at start-up."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    acs_endpoint: str
    acs_access_key: SecretStr | None = None
    tables_connection_string: SecretStr | None = None
    tables_endpoint: str | None = None
    instant_table_name: str = "instantorders"
    # Optional: until an SMS number is bought the app runs email only, and SMS answers 503
    # channel_not_configured (docs/api.md). bootstrap.settings() warns once at start-up.
    sms_default_sender: str | None = None
    email_default_sender: str
    # Deprecated alias of CALLER_SENDERS {"*": {"email": [...]}}: still honoured, merged into it.
    email_allowed_senders: str = ""
    # The abuse and cost controls (docs/api.md, "Abuse and cost controls"): on by default.
    sms_recipient_limits: str = "5/600,20/86400"
    email_recipient_limits: str = "10/600,50/86400"
    sms_allowed_countries: str = "NO"
    caller_senders: str = ""
    sms_max_segments: int = Field(default=10, ge=1, le=64)
    sms_daily_segment_budget: str = "off"
    instant_request_budget_seconds: float = Field(default=8.0, gt=0, le=120)
    # How long an email send waits for ACS to report a terminal status before answering
    # Email_Sending. 0 (the default): answer as soon as ACS took the operation; recorded ACS keeps
    # an operation Running 3-10 s, so a short wait holds the caller and still says "sending".
    instant_email_wait_seconds: float = Field(default=0.0, ge=0, le=60)
    # At least the longest time-to-live (172800 s): a key purged before its deadline could be
    # reused with a fresh window, which the contract forbids.
    # At most 336 h (14 days): storage periods are at least twice that long
    # (instant/storage/periods.py), so a live order is in one of two tables.
    idempotency_retention_hours: int = Field(default=168, ge=48, le=336)
    audit_retention_days: int = Field(default=365, ge=1)
    # An SMS still SMS_Accepted this long after its deadline, with no delivery report, reads
    # SMS_Failed_TTL (derived when read; a later report still wins).
    delivery_report_grace_seconds: int = Field(default=300, ge=0, le=86_400)
    instant_default_caller: str | None = None
    # Base64 key for HMAC-SHA256 digests of bodies and fingerprints (instant/digests.py). A secret:
    # in Azure a Key Vault reference; unset locally (plain SHA-256).
    instant_digest_key: SecretStr | None = None
    # Said explicitly by every local runner (sandbox/stack.py, the tests): only then may the digest
    # key be missing. Anywhere else a missing key stops start-up, since a plain SHA-256 of a
    # passcode body is reversed by trying the million codes.
    instant_local_development: bool = False
    applicationinsights_connection_string: SecretStr | None = None

    @field_validator("acs_endpoint", "tables_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        # A trailing slash breaks the SMS SDK's HMAC signature (docs/architecture.md, "ACS facts").
        return value.rstrip("/")

    @field_validator("acs_access_key")
    @classmethod
    def _access_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("must be base64") from exc
        return value

    @field_validator("tables_connection_string", "applicationinsights_connection_string")
    @classmethod
    def _empty_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    @field_validator("instant_digest_key")
    @classmethod
    def _digest_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        try:
            key = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError) as exc:
            # An unresolved Key Vault reference lands here too: the message must not echo it.
            raise ValueError("must be base64 (is the Key Vault reference resolved?)") from exc
        if len(key) < 32:
            raise ValueError("must decode to at least 32 bytes")
        return value

    @field_validator("instant_table_name")
    @classmethod
    def _table_name(cls, value: str) -> str:
        if not _TABLE_NAME.fullmatch(value):
            raise ValueError("must be 3-57 letters and digits, starting with a letter")
        return value

    @field_validator("sms_default_sender")
    @classmethod
    def _sms_sender(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return validate_sms_sender(value)

    @field_validator("email_default_sender")
    @classmethod
    def _email_sender(cls, value: str) -> str:
        return normalise_email_address(value)

    @field_validator("email_allowed_senders")
    @classmethod
    def _allowed_senders(cls, value: str) -> str:
        return ",".join(normalise_email_address(a.strip()) for a in value.split(",") if a.strip())

    @field_validator("sms_recipient_limits", "email_recipient_limits")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        parse_rate_limits(value)
        return value

    @field_validator("sms_allowed_countries")
    @classmethod
    def _countries(cls, value: str) -> str:
        return normalise_countries(value)

    @field_validator("caller_senders")
    @classmethod
    def _caller_senders(cls, value: str) -> str:
        if value.strip():
            senders_table(value)
        return value

    @field_validator("sms_daily_segment_budget")
    @classmethod
    def _budget(cls, value: str) -> str:
        return normalise_segment_budget(value)

    @field_validator("instant_default_caller")
    @classmethod
    def _caller(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not CALLER_ID_PATTERN.fullmatch(value):
            raise ValueError("must be 1-64 characters of A-Z a-z 0-9 . _ -")
        return value

    @model_validator(mode="after")
    def _tables_configured(self) -> Self:
        if self.tables_connection_string is None and not self.tables_endpoint:
            raise ValueError("TABLES_CONNECTION_STRING or TABLES_ENDPOINT must be set")
        return self

    @model_validator(mode="after")
    def _digest_key_outside_local_development(self) -> Self:
        if self.instant_digest_key is None and not self.instant_local_development:
            raise ValueError(
                "INSTANT_DIGEST_KEY must be set (base64, at least 32 bytes) outside local development "
                "(INSTANT_LOCAL_DEVELOPMENT=true)"
            )
        return self

    @property
    def digest_key(self) -> bytes | None:
        """INSTANT_DIGEST_KEY decoded, or None."""
        key = self.instant_digest_key
        return base64.b64decode(key.get_secret_value()) if key is not None else None

    @property
    def limits(self) -> LimitSettings:
        """The controls' settings, parsed."""
        return limit_settings(
            sms_recipient_limits=self.sms_recipient_limits,
            email_recipient_limits=self.email_recipient_limits,
            sms_allowed_countries=self.sms_allowed_countries,
            caller_senders=self.caller_senders,
            email_allowed_senders=self.email_allowed_senders,
            sms_max_segments=self.sms_max_segments,
            sms_daily_segment_budget=self.sms_daily_segment_budget,
        )


# Every environment variable the app reads: stacks started for tests and benchmarks drop these
# from the caller's environment so a developer's own settings cannot leak into them.
SETTING_NAMES: frozenset[str] = frozenset(name.upper() for name in Settings.model_fields)


def load_settings() -> Settings:
    """Read and validate the settings; a problem raises SettingsError naming the setting."""
    try:
        return Settings()  # type: ignore[call-arg]  # values come from the environment
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
