"""Instant notifications: one SMS or one email to one recipient, now."""
