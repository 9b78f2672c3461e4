"""Wire-compatible Azure Communication Services (SMS + Email) emulator.

Local runs and tests point the real Azure SDKs at this server (endpoint + AzureKeyCredential, plain
http) so every success and failure path can be driven over HTTP: the HMAC signature check, SMS
repeatability, the email long-running operation and scripted faults ("magic recipients").
See sandbox/README.md, section "ACS emulator".
"""

from __future__ import annotations

from .app import RunningEmulator, create_app, start_emulator
from .email_api import EMAIL_API_VERSIONS
from .email_faults import EMAIL_FAULTS, FAULT_EMAIL_DOMAIN
from .senders import DEFAULT_EMAIL_SENDERS, DEFAULT_SMS_SENDERS, Senders
from .sms import SMS_API_VERSIONS
from .state import (
    STATE_KEY,
    EmailMessage,
    EmailOperation,
    EmulatorOptions,
    EmulatorState,
    RequestRecord,
    SmsMessage,
)
from .timing import FAST, REALISTIC, Timing

__all__ = [
    "DEFAULT_EMAIL_SENDERS",
    "DEFAULT_SMS_SENDERS",
    "EMAIL_API_VERSIONS",
    "EMAIL_FAULTS",
    "FAST",
    "FAULT_EMAIL_DOMAIN",
    "REALISTIC",
    "SMS_API_VERSIONS",
    "STATE_KEY",
    "EmailMessage",
    "EmailOperation",
    "EmulatorOptions",
    "EmulatorState",
    "RequestRecord",
    "RunningEmulator",
    "Senders",
    "SmsMessage",
    "Timing",
    "create_app",
    "start_emulator",
]
