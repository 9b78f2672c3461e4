"""Retention: a timer-triggered run (docs/api.md, "Retention" and "Audit").

Orders count for IDEMPOTENCY_RETENTION_HOURS after their first receipt, audit entries are kept
AUDIT_RETENTION_DAYS; Table Storage has no TTL, so this function drops each month's table of
orders and audit entries once its audit is past retention, creates the coming month's table, and
deletes an earlier version's rows from the base table in bounded runs (instant/service/
retention.py). A thin trigger like the HTTP routes: the rule lives in the service, the deletes
in the store.

Two runs at once (a slow run overlapping the next, or two instances) are harmless: dropping or
creating a table twice is a no-op, a delete that finds its row gone counts as done, and an order
row is deleted only with an ETag match, so one a request changed meanwhile is left for the next
run.
"""

from __future__ import annotations

import logging

import azure.functions as func

from instant import bootstrap

log = logging.getLogger("instant.entrypoints.retention_timer")

# NCRONTAB with seconds: hourly at minute 17 (off the top of the hour, when scheduled jobs
# crowd). A record therefore lives at most retention + 1 h; never less than retention.
PURGE_SCHEDULE = "0 17 * * * *"

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]


@blueprint.timer_trigger(schedule=PURGE_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
async def purge_expired(timer: func.TimerRequest) -> None:
    """The hourly retention run."""
    if timer.past_due:
        log.info("retention purge is past due; running now")
    service = await bootstrap.service()
    await service.purge_expired()
