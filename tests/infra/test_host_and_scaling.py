"""host.json and Flex Consumption scaling: the settings that govern Azure, each in one place.

* Flex scales HTTP apps on functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency
  (Bicep), not on host.json's maxConcurrentRequests: the number lives in the template only.
* The app's own log records reach Application Insights on one path: the OpenTelemetry handler the
  app installs on its "instant" logger (it carries the records' extra fields, correlated with the
  spans). The host's copy of worker logs (category Function.<name>.User) is cut to warnings and
  up, and the host stays in its default telemetry mode (telemetryMode OpenTelemetry would add a
  second exporter of the same records).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.infra.bicep import INFRA_DIR, REPO_ROOT, body, module, parse, single_resource

HOST_JSON = REPO_ROOT / "host.json"
BENCH = REPO_ROOT / "bench" / "results" / "2026-11-26.md"


def _host() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HOST_JSON.read_text())
    return data


def test_host_json_does_not_pretend_to_govern_flex_scaling() -> None:
    http = _host()["extensions"]["http"]
    assert "maxConcurrentRequests" not in http
    assert http["routePrefix"] == "notifications/api/v1"


def test_one_telemetry_path_for_the_apps_logs() -> None:
    host = _host()
    assert host.get("telemetryMode", "ApplicationInsights") == "ApplicationInsights"
    levels = host["logging"]["logLevel"]
    assert levels["Function"] == "Warning", "worker logs at Information would be exported twice"
    # Failed invocations still become request records (the purge-failure alert reads them).
    assert levels["Host.Results"] in ("Error", "Information")
    # The app's path exists: instant/observability hands the "instant" logger to the Azure Monitor
    # distro, and stops its records from also reaching the worker's handlers (the host's path).
    telemetry = (REPO_ROOT / "instant" / "observability" / "__init__.py").read_text()
    assert "configure_azure_monitor(" in telemetry and "logger_name=LOGGER_NAME" in telemetry
    assert ".propagate = False" in telemetry


def test_flex_per_instance_concurrency_is_set_from_the_bench() -> None:
    template = module("functionapp")
    site = body(single_resource(template, "Microsoft.Web/sites"))
    scale = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    assert scale["triggers"] == {"http": {"perInstanceConcurrency": "httpPerInstanceConcurrency"}}
    default = template["parameters"]["httpPerInstanceConcurrency"]["default"]
    main = parse(INFRA_DIR / "main.bicep")
    assert main["parameters"]["functionHttpPerInstanceConcurrency"]["default"] == default
    assert main["modules"]["functionApp"]["config"]["params"]["httpPerInstanceConcurrency"] == (
        "functionHttpPerInstanceConcurrency"
    )
    # The figure: the bench's concurrency run (callers in parallel on one worker) held >= 85% of
    # ideal throughput at p99 <= 2x the provider latency; that many requests per instance is the
    # measured load one instance carries well.
    text = BENCH.read_text()
    callers = re.search(r"(\d+) callers doing claim \+ send \+ final write", text)
    assert callers, "the bench result no longer states its concurrency"
    assert int(callers.group(1)) == default
    assert re.search(r"\| concurrency throughput \|.*\| pass \|", text)
    assert re.search(r"\| concurrency p99 \|.*\| pass \|", text)


def test_no_ftps_state_on_flex() -> None:
    # Flex Consumption rejects siteConfig.ftpsState; FTP is off through the publishing policy.
    site = body(single_resource(module("functionapp"), "Microsoft.Web/sites"))
    assert "ftpsState" not in site["properties"]["siteConfig"]
    text = (INFRA_DIR / "modules" / "functionapp.bicep").read_text()
    assert "// checkov:skip=CKV_AZURE_78:" in text


def test_sms_sender_is_never_set_empty() -> None:
    # Parameter files keep smsDefaultSender '' until a number exists; the setting is then absent,
    # never an empty string (the app starts and answers SMS with 503 channel_not_configured).
    template = module("functionapp")
    sms = template["variables"]["smsSettings"]["value"]["operator"]
    assert sms["type"] == "conditional"
    condition = sms["operands"]["condition"]["function"]
    assert condition["type"] == "empty" and "smsDefaultSender" in str(condition)
    assert sms["operands"]["true_value"] == []
