"""Magic email recipients (local parts on faults.example.com) and the operation outcomes they script."""

from __future__ import annotations

from typing import Any

from .state import JSONDict

FAULT_EMAIL_DOMAIN = "faults.example.com"
# Send-time faults (see sandbox/README.md).
SEND_FAULTS = frozenset(
    {"reject", "503twice", "429once", "429always", "slow", "hang", "always503", "accepthang", "reset"}
)
# Operation outcomes: (terminal status, error object). EmailDropped's code and text are the spec's
# GetOperationStatusReturnsFailedTerminalStatus example; the suppression code is the one ACS reports
# when every recipient is on its suppression list.
OUTCOMES: dict[str, tuple[str, JSONDict | None]] = {
    "opfailed": ("Failed", {"code": "EmailDropped", "message": "Email was dropped after several attempts to deliver."}),
    "suppressed": (
        "Failed",
        {
            "code": "EmailDroppedAllRecipientsSuppressed",
            "message": "Message dropped because all recipients were suppressed.",
        },
    ),
    "canceled": ("Canceled", None),
}
# Reports NotStarted for the first half of its running time, then Running, then Succeeded.
NOT_STARTED = "notstarted"
# Delivery-report kinds (only with a webhook URL): Bounced / Suppressed / Failed reports.
REPORT_FAULTS = frozenset({"bounced", "reportsuppressed", "reportfailed", "filteredspam", "quarantined"})
EMAIL_FAULTS = SEND_FAULTS | OUTCOMES.keys() | {NOT_STARTED} | REPORT_FAULTS


def email_faults(addresses: list[str]) -> set[str]:
    """The magic local parts among these addresses."""
    faults: set[str] = set()
    for address in addresses:
        local, _, domain = address.lower().rpartition("@")
        if domain == FAULT_EMAIL_DOMAIN and local in EMAIL_FAULTS:
            faults.add(local)
    return faults


def _addresses(recipients: JSONDict, kind: str) -> list[str] | None:
    entries = recipients.get(kind)
    if entries is None:
        return []
    if not isinstance(entries, list):
        return None
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            return None
        out.append(entry["address"])
    return out


def parse_email(payload: Any) -> tuple[str, list[str], list[str], list[str], JSONDict] | str:
    """(sender, to, cc, bcc, content) or what is wrong with the body."""
    if not isinstance(payload, dict):
        return "Body must be a JSON object."
    sender = payload.get("senderAddress")
    if not isinstance(sender, str) or "@" not in sender:
        return "'senderAddress' is required."
    recipients = payload.get("recipients")
    if not isinstance(recipients, dict):
        return "'recipients' is required."
    to, cc, bcc = (_addresses(recipients, kind) for kind in ("to", "cc", "bcc"))
    if to is None or cc is None or bcc is None:
        return "Every recipient needs an 'address'."
    if not to and not cc and not bcc:
        return "At least one recipient is required."
    content = payload.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("subject"), str):
        return "'content.subject' is required."
    for name in ("plainText", "html"):
        if content.get(name) is not None and not isinstance(content[name], str):
            return f"'content.{name}' must be a string."
    if not content.get("plainText") and not content.get("html"):
        return "'content.plainText' or 'content.html' is required."
    return sender, to, cc, bcc, content
