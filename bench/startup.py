"""Start-up: importing ``function_app`` in a fresh interpreter, against importing only the
third-party modules it pulls in, alternating, each timed inside the child around the import
(interpreter start-up itself is not counted, it is the same for both)."""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
    cold_app_seconds: list[float]  # without bytecode for our own modules
    cold_deps_seconds: list[float]  # the dependencies, paired with those
    third_party_modules: int
    top_level: list[str]
    failed: list[str]

    @property
    def app_median(self) -> float:
        return statistics.median(self.app_seconds)

    @property
    def deps_median(self) -> float:
        return statistics.median(self.deps_seconds)

    @property
    def cold_app_median(self) -> float:
        return statistics.median(self.cold_app_seconds)

    @property
    def cold_deps_median(self) -> float:
        return statistics.median(self.cold_deps_seconds)


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


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _remove_own_bytecode(mirror: Path) -> None:
    """Our modules' bytecode only (``instant/``, ``function_app``): the venv may live in the repo too."""
    _remove(mirror / "instant")
    for compiled in mirror.glob("function_app.*.pyc"):
        compiled.unlink()


def _mirror(cache: Path, source: Path) -> Path:
    """Where PYTHONPYCACHEPREFIX keeps the bytecode of the modules under ``source``."""
    resolved = source.resolve()
    return cache / resolved.relative_to(resolved.anchor)


async def _alternating(
    runs: int, app: Callable[[], Awaitable[float]], deps: Callable[[], Awaitable[float]]
) -> tuple[list[float], list[float]]:
    """``runs`` pairs, alternating which goes first, so a drift in machine load hits both alike."""
    app_seconds: list[float] = []
    deps_seconds: list[float] = []
    for index in range(runs):
        if index % 2 == 0:
            app_seconds.append(await app())
            deps_seconds.append(await deps())
        else:
            deps_seconds.append(await deps())
            app_seconds.append(await app())
    return app_seconds, deps_seconds


async def measure_startup(env: Mapping[str, str], cwd: Path, runs: int, cache: Path) -> StartupResult:
    """Both sides read bytecode from the same cache (``PYTHONPYCACHEPREFIX=cache``, written by the
    discovery runs), whatever the caller's PYTHONDONTWRITEBYTECODE: pip compiled the dependencies
    at install, so without this only our own modules would be compiled on every import. Then the
    same again with our own modules' bytecode removed from the cache and not written back: what a
    cold start pays when the deployed package carries no bytecode for them (.funcignore drops
    ``__pycache__``) and cannot write any."""
    python = sys.executable
    _remove(cache)
    warm = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    warm["PYTHONPYCACHEPREFIX"] = str(cache)
    # The first runs list the modules and fill the bytecode and page caches; not counted.
    first = await _child([python, "-c", _APP], warm, cwd)
    names = [str(n) for n in first["third_party"]]
    names_json = json.dumps(names)
    await _child([python, "-c", _DEPS, names_json], warm, cwd)
    await _child([python, "-c", _APP], warm, cwd)
    failed: list[str] = []

    async def deps() -> float:
        nonlocal failed
        outcome = await _child([python, "-c", _DEPS, names_json], warm, cwd)
        failed = [str(n) for n in outcome["failed"]]
        return float(outcome["seconds"])

    async def app_with(environment: Mapping[str, str]) -> float:
        return float((await _child([python, "-c", _APP], environment, cwd))["seconds"])

    app_seconds, deps_seconds = await _alternating(runs, lambda: app_with(warm), deps)
    # Our own modules without bytecode: drop theirs from the cache and write none back.
    _remove_own_bytecode(_mirror(cache, cwd))
    cold = {**warm, "PYTHONDONTWRITEBYTECODE": "1"}
    cold_seconds, cold_deps_seconds = await _alternating(runs, lambda: app_with(cold), deps)
    packages = sorted({_package(n) for n in names})
    return StartupResult(app_seconds, deps_seconds, cold_seconds, cold_deps_seconds, len(names), packages, failed)
