"""Abuse and cost controls: per-recipient limits, the country allow-list, who may send as whom,
SMS segments and the caller's daily segment budget (docs/api.md, "Abuse and cost controls")."""
