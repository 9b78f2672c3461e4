"""Start-up: importing ``function_app`` in a fresh interpreter, against importing only the
third-party modules it pulls in, alternating, each timed inside the child around the import
(interpreter start-up itself is not counted, it is the same for both)."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_APP = """
import json, sys, sysconfig, time
before = set(sys.modules)
started = time.perf_counter()
import function_app
elapsed = time.perf_counter() - started
roots = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
third = [
    name for name, module in list(sys.modules.items())
    if name not in before and any(str(getattr(module, "__file__", "") or "").startswith(r) for r in roots)
]
print(json.dumps({"seconds": elapsed, "third_party": third}))
"""

_DEPS = """
import importlib, json, sys, time
names = json.loads(sys.argv[1])
failed = []
started = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "failed": failed}))
"""


@dataclass(frozen=True)
class StartupResult:
    app_seconds: list[float]
    deps_seconds: list[float]
    third_party_modules: int
    top_level: list[str]
    failed: list[str]

    @property
    def app_median(self) -> float:
        return statistics.median(self.app_seconds)

    @property
    def deps_median(self) -> float:
        return statistics.median(self.deps_seconds)


async def _child(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> Any:
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {process.returncode}: {err.decode(errors='replace')[-2000:]}")
    return json.loads(out.decode().strip().splitlines()[-1])


def _package(module: str) -> str:
    """The importable package a module belongs to (``azure.communication.sms``, ``aiohttp``)."""
    parts = module.split(".")
    if parts[0] != "azure" or len(parts) == 1:
        return parts[0]
    depth = 3 if parts[1] in ("communication", "data") and len(parts) > 2 else 2
    return ".".join(parts[:depth])


async def measure_startup(env: Mapping[str, str], cwd: Path, runs: int) -> StartupResult:
    python = sys.executable
    # The first run lists the modules and warms the bytecode cache and the page cache; not counted.
    first = await _child([python, "-c", _APP], env, cwd)
    names = [str(n) for n in first["third_party"]]
    names_json = json.dumps(names)
    await _child([python, "-c", _DEPS, names_json], env, cwd)
    app_seconds: list[float] = []
    deps_seconds: list[float] = []
    failed: list[str] = []
    for index in range(runs):
        # Alternate which goes first, so a drift in machine load hits both alike.
        order = ("app", "deps") if index % 2 == 0 else ("deps", "app")
        for which in order:
            if which == "app":
                app_seconds.append(float((await _child([python, "-c", _APP], env, cwd))["seconds"]))
            else:
                outcome = await _child([python, "-c", _DEPS, names_json], env, cwd)
                deps_seconds.append(float(outcome["seconds"]))
                failed = [str(n) for n in outcome["failed"]]
    packages = sorted({_package(n) for n in names})
    return StartupResult(app_seconds, deps_seconds, len(names), packages, failed)
