"""The aiohttp application, the unauthenticated /_emulator/ admin API and the in-process runner."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .email_api import handle_email_send, handle_email_status
from .errors import error_response
from .senders import Senders
from .sms import handle_sms
from .state import REPEATABILITY_WINDOW_SECONDS, STATE_KEY, EmulatorOptions, EmulatorState, RepeatRefusal
from .timing import Timing, resolve_timing

# --------------------------------------------------------------------------- admin (no auth)


async def admin_health(request: web.Request) -> web.Response:
    """GET /_emulator/health."""
    return web.json_response({"status": "ok", "pending": request.app[STATE_KEY].pending})


def _config(state: EmulatorState) -> web.Response:
    return web.json_response({"latency_ms": state.latency_ms, "outage": state.outage})


async def admin_get_config(request: web.Request) -> web.Response:
    """GET /_emulator/config."""
    return _config(request.app[STATE_KEY])


async def admin_set_config(request: web.Request) -> web.Response:
    """POST /_emulator/config: set the answer latency and/or an outage (every send answers 503,
    unprocessed, until it is switched off)."""
    state = request.app[STATE_KEY]
    try:
        payload = await request.json()
    except ValueError:
        return error_response(400, "BadRequest", "Body is not valid JSON.")
    if not isinstance(payload, dict) or not ({"latency_ms", "outage"} & set(payload)):
        return error_response(400, "BadRequest", "Give 'latency_ms' and/or 'outage'.")
    latency = payload.get("latency_ms", state.latency_ms)
    if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
        return error_response(400, "BadRequest", "'latency_ms' must be a number >= 0.")
    outage = payload.get("outage", state.outage)
    if not isinstance(outage, bool):
        return error_response(400, "BadRequest", "'outage' must be true or false.")
    state.latency_ms, state.outage = float(latency), outage
    return _config(state)


async def admin_get_inbox(request: web.Request) -> web.Response:
    """GET /_emulator/inbox[?to=...]."""
    state = request.app[STATE_KEY]
    to = request.query.get("to")
    sms = [m.to_json() for m in state.sms_inbox if to is None or m.to == to]
    emails = [m.to_json() for m in state.email_inbox if to is None or to.lower() in (a.lower() for a in m.addresses())]
    return web.json_response({"sms": sms, "email": emails})


async def admin_clear(request: web.Request) -> web.Response:
    """DELETE /_emulator/inbox: forget everything a test could observe."""
    request.app[STATE_KEY].clear()
    return web.json_response({"cleared": True})


async def admin_requests(request: web.Request) -> web.Response:
    """GET /_emulator/requests: the authenticated request log."""
    return web.json_response([r.to_json() for r in request.app[STATE_KEY].requests])


# --------------------------------------------------------------------------- app and runner


def create_app(
    access_key: str,
    *,
    timing: Timing | str | None = None,
    sms_senders: Iterable[str] | None = None,
    email_senders: Iterable[str] | None = None,
    repeatability_window_seconds: float = REPEATABILITY_WINDOW_SECONDS,
    sms_repeat_refusal: RepeatRefusal = "item",
    slow_seconds: float | None = None,
    email_running_seconds: float | None = None,
    email_retry_after: str | None = None,
    webhook_url: str | None = None,
    webhook_delay_seconds: float = 1.0,
) -> web.Application:
    """Build the emulator; access_key is the base64 ACS access key the clients sign with.

    timing: "realistic" (default, as recorded), "fast" (unit-speed tests) or a Timing; None reads
    $ACS_EMULATOR_TIMING. slow_seconds / email_running_seconds / email_retry_after override single
    values of it. sms_senders / email_senders: what the resource owns (None: the defaults in senders.py).
    """
    try:
        key = base64.b64decode(access_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("access_key must be base64") from exc
    if sms_repeat_refusal not in ("item", "request"):
        raise ValueError("sms_repeat_refusal must be 'item' or 'request'")
    options = EmulatorOptions(
        timing=resolve_timing(timing).with_overrides(
            slow_seconds=slow_seconds, email_running_seconds=email_running_seconds, email_retry_after=email_retry_after
        ),
        senders=Senders.of(sms_senders, email_senders),
        repeatability_window_seconds=repeatability_window_seconds,
        sms_repeat_refusal=sms_repeat_refusal,
        webhook_url=webhook_url,
        webhook_delay_seconds=webhook_delay_seconds,
    )
    app = web.Application()
    app[STATE_KEY] = EmulatorState(access_key=key, options=options)

    async def release_held_requests(app: web.Application) -> None:
        # Held-open handlers watch this, so shutdown does not wait for aiohttp's shutdown_timeout.
        app[STATE_KEY].stopping.set()
        for task in list(app[STATE_KEY].event_tasks):
            task.cancel()

    app.on_shutdown.append(release_held_requests)
    app.router.add_post("/sms", handle_sms)
    app.router.add_post("/emails:send", handle_email_send)
    app.router.add_get("/emails/operations/{operation_id}", handle_email_status)
    app.router.add_get("/_emulator/health", admin_health)
    app.router.add_get("/_emulator/config", admin_get_config)
    app.router.add_post("/_emulator/config", admin_set_config)
    app.router.add_get("/_emulator/inbox", admin_get_inbox)
    app.router.add_delete("/_emulator/inbox", admin_clear)
    app.router.add_get("/_emulator/requests", admin_requests)
    return app


@dataclass
class RunningEmulator:
    """An emulator serving on base_url in the current event loop."""

    app: web.Application
    runner: web.AppRunner
    base_url: str

    @property
    def state(self) -> EmulatorState:
        """The emulator's typed state (inboxes, request log, options)."""
        return self.app[STATE_KEY]

    async def stop(self) -> None:
        """Stop serving; requests held open are released."""
        self.state.stopping.set()
        await self.runner.cleanup()


async def start_emulator(access_key: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> RunningEmulator:
    """Start the emulator in the running event loop; options are create_app's keyword arguments."""
    app = create_app(access_key, **options)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = runner.addresses[0][1]
    url_host = f"[{host}]" if ":" in host else host
    return RunningEmulator(app=app, runner=runner, base_url=f"http://{url_host}:{bound_port}")
