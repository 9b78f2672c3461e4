"""How Table Storage calls are retried: the Table client's retry policy is the one owner.

Storage calls are bounded, so a request fails fast (503 storage_unavailable) rather than wait
through azure-core's default of 10 retries with long backoff. The service makes one call per step
(instant/idempotency/guard.py, final_write.py) and never retries a call itself.
"""

from __future__ import annotations

from typing import Any

# Every Table client is built with these.
TABLE_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 2,
    "retry_backoff_factor": 0.1,
    "retry_backoff_max": 1,
    "connection_timeout": 2,
    "read_timeout": 5,
}

# Given to each POST (an insert, a transaction, a table create). azure-core sends a GET, PUT or
# DELETE again when its connection broke with no answer (a pooled keep-alive connection the server
# closed as it was reused), but never a POST: it cannot know whether storage carried it out. Every
# write here is conditional, so sending one again either does it or meets it (the row exists, the
# ETag moved), which the callers already take as "look again". A timeout is still not repeated
# (retry_read=0): it would outlast the request's budget.
RETRIED_POST: dict[str, Any] = {
    "retry_on_methods": frozenset({"HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST"}),
    "retry_read": 0,
}
