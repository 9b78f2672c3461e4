"""What the machine is and what it did meanwhile, from /proc (Linux).

The machine is shared: other people's test suites may run during a bench run. CPU accounting
per phase tells how much CPU went to our processes (harness, local host, Azurite, emulator) and
how much to everything else, so a noisy phase shows up as noisy in the results file.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """utime + stime of a live process (plus its reaped children's with ``with_children``)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may contain spaces; the fields after it are positional.
    fields = raw.rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    ticks = utime + stime + ((cutime + cstime) if with_children else 0)
    return ticks / _TICKS


def machine_busy_seconds() -> float:
    """CPU-seconds all cores spent not idle since boot (user, nice, system, irq, softirq, steal)."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICKS


@dataclass(frozen=True)
class CpuUse:
    """CPU-seconds per process of ours and for the rest of the machine, over ``wall`` seconds."""

    wall: float
    ours: Mapping[str, float]
    machine: float

    @property
    def others(self) -> float:
        return max(0.0, self.machine - sum(self.ours.values()))

    def cores(self, seconds: float) -> float:
        """Average number of cores busy with ``seconds`` of CPU over this window."""
        return seconds / self.wall if self.wall > 0 else 0.0


class CpuMeter:
    """Snapshot the CPU counters of named processes and the machine; ``stop()`` gives the deltas.

    The harness itself is counted with its reaped children (the start-up interpreters)."""

    def __init__(self, pids: Mapping[str, int], clock: float) -> None:
        self._pids = dict(pids)
        self._start_clock = clock
        self._start = self._read()

    def _read(self) -> tuple[dict[str, float], float]:
        ours = {name: process_cpu_seconds(pid, with_children=pid == os.getpid()) for name, pid in self._pids.items()}
        return ours, machine_busy_seconds()

    def stop(self, clock: float) -> CpuUse:
        ours, machine = self._read()
        start_ours, start_machine = self._start
        return CpuUse(
            wall=clock - self._start_clock,
            ours={name: ours[name] - start_ours[name] for name in ours},
            machine=machine - start_machine,
        )


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a live process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


def foreign_test_processes(ours: set[int]) -> list[str]:
    """Command lines of other pytest / bench runs on this machine (someone else's noise)."""
    found: list[str] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in ours:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if any(w.endswith("pytest") or w == "pytest" for w in words) or (
            "-m" in words and any(w in ("pytest", "bench") for w in words)
        ):
            found.append(" ".join(words)[:120])
    return sorted(found)


def _command_output(argv: list[str], cwd: Path) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
        if done.returncode == 0:
            return done.stdout.strip()
    return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _mem_total_mib() -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _dirty_files(porcelain: str) -> str:
    # "XY path" per line (the output was stripped, so the first line may have lost a leading space).
    return ", ".join(line.split(maxsplit=1)[1] for line in porcelain.splitlines() if len(line.split()) > 1)


def machine_info(repo: Path) -> dict[str, str]:
    azurite = "?"
    with contextlib.suppress(OSError, ValueError, KeyError):
        azurite = json.loads((repo / "node_modules" / "azurite" / "package.json").read_text())["version"]
    commit = _command_output(["git", "rev-parse", "--short", "HEAD"], repo)
    dirty = _command_output(["git", "status", "--porcelain", "--untracked-files=no"], repo)
    sdks = ", ".join(
        f"{name} {_version(name)}"
        for name in (
            "azure-core",
            "azure-data-tables",
            "azure-communication-sms",
            "azure-communication-email",
            "aiohttp",
            "azure-functions",
            "pydantic",
        )
    )
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores (os.sched_getaffinity: {len(os.sched_getaffinity(0))})",
        "Memory": f"{_mem_total_mib()} MiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "Node.js / Azurite": f"{_command_output(['node', '--version'], repo)} / {azurite}",
        "Packages": sdks,
        "Commit": commit + (f" (uncommitted changes in: {_dirty_files(dirty)})" if dirty not in ("", "?") else ""),
    }
