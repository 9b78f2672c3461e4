"""What the bench sends: the service's default budget and senders, realistic bodies, fresh recipients."""

from __future__ import annotations

import random
import uuid

# The service's defaults: request budget 8 s, email wait 0 s (instant/config.py).
BUDGET_SECONDS = 8.0
EMAIL_WAIT_SECONDS = 0.0
CALLER = "bench"
SMS_SENDER = "Instant"
EMAIL_SENDER = "noreply@instant.example.com"
SMS_BODY = "Your code is 123456. It expires in 5 minutes."
EMAIL_SUBJECT = "Your code"
EMAIL_BODY = "Your code is 123456."


def new_phone() -> str:
    # Valid Norwegian mobile numbers, away from the emulator's magic +479000000x range.
    return f"+4798{random.randrange(10**6):06d}"


def new_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"
