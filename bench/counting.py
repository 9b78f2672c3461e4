"""Round trips, counted on the server side.

Table Storage: Azurite writes one access-log line per HTTP request to its console, which the
stack pipes into ``azurite.log`` (an entity-group transaction is one ``POST .../$batch``).
Provider: the emulator's own request log, ``GET <emulator>/_emulator/requests``.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def classify(method: str, path: str) -> str:
    """A short name for a Table Storage request, for the breakdown in the results."""
    path = path.split("?", 1)[0]
    if "$batch" in path:
        return "batch"
    if path.rstrip("/").endswith("/Tables") or "/Tables(" in path:
        return "table admin"
    keyed = "(PartitionKey=" in path
    if method == "GET":
        return "point read" if keyed else "query"
    if method == "POST":
        return "insert"
    if method in ("PUT", "MERGE", "PATCH"):
        return "update"
    if method == "DELETE":
        return "delete"
    return method.lower()


@dataclass(frozen=True)
class LogWindow:
    lines: int
    kinds: Counter[str]


class AzuriteLog:
    def __init__(self, path: Path) -> None:
        self.path = path

    def size(self) -> int:
        return self.path.stat().st_size

    async def settled_size(self, quiet: float = 0.5, limit: float = 5.0) -> int:
        """The file's size once it stopped growing for ``quiet`` s (Azurite logs asynchronously)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        last, since = self.size(), loop.time()
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            now_size = self.size()
            if now_size != last:
                last, since = now_size, loop.time()
            elif loop.time() - since >= quiet:
                break
        return last

    def window(self, start: int, end: int) -> LogWindow:
        with self.path.open("rb") as handle:
            handle.seek(start)
            text = handle.read(end - start).decode(errors="replace")
        kinds: Counter[str] = Counter()
        for line in text.splitlines():
            match = _ACCESS.search(line)
            if match is not None:
                kinds[classify(match["method"], match["path"])] += 1
        return LogWindow(sum(kinds.values()), kinds)


def describe(kinds: Counter[str], per: int) -> str:
    return ", ".join(f"{kind} {count / per:g}" for kind, count in sorted(kinds.items()))
