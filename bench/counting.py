"""Round trips, counted on the server side.

Table Storage: Azurite writes one access-log line per HTTP request to its console, which the
stack pipes into ``azurite.log`` (an entity-group transaction is one ``POST .../$batch``).
Provider: the emulator's own request log, ``GET <emulator>/_emulator/requests``.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')
_KEYS = re.compile(r"\(PartitionKey='(?P<partition>[^']*)',RowKey='(?P<row>[^']*)'\)")


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
class TableRequest:
    """One line of Azurite's access log: the request, its table and keys (when the path names
    them), and the status it answered."""

    method: str
    path: str
    status: int

    @property
    def table(self) -> str:
        """The table the path names (``$batch`` for a transaction, ``Tables`` for table admin)."""
        segments = self.path.split("?", 1)[0].strip("/").split("/")
        return segments[1].split("(", 1)[0] if len(segments) > 1 else ""

    @property
    def keys(self) -> tuple[str, str] | None:
        """(PartitionKey, RowKey) of a keyed request, else None."""
        found = _KEYS.search(self.path)
        return None if found is None else (found["partition"], found["row"])


def parse_access(line: str) -> TableRequest | None:
    """The request of one access-log line, or None for any other line."""
    match = _ACCESS.search(line)
    return None if match is None else TableRequest(match["method"], match["path"], int(match["status"]))


@dataclass(frozen=True)
class LogWindow:
    lines: int
    kinds: Counter[str]
    requests: tuple[TableRequest, ...] = ()


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
        requests = tuple(r for r in map(parse_access, text.splitlines()) if r is not None)
        kinds = Counter(classify(r.method, r.path) for r in requests)
        return LogWindow(len(requests), kinds, requests)


def describe(kinds: Counter[str], per: int) -> str:
    return ", ".join(f"{kind} {count / per:g}" for kind, count in sorted(kinds.items()))


ORDERS, TALLIES, OTHER = "orders", "tallies", "other"
TALLY_ROW = "tally"  # instant/adapters/table_tallies.py


def split_parts(requests: Iterable[TableRequest], base: str) -> Counter[str]:
    """Table requests by who made them: the order store (period tables, the base table's order
    rows, transactions) or the controls' tallies (rows "tally" in the base table).

    An insert's path names its table but not its keys, so an insert into the base table is
    either a claim there (near a period boundary, or the legacy period) or a new tally. The
    tally store inserts with ``Prefer: return-no-content`` (204, instant/adapters/
    table_tallies.py) and the order store without it (201): the status tells them apart.
    """
    parts: Counter[str] = Counter()
    for request in requests:
        keys, table = request.keys, request.table
        if keys is not None and keys[1] == TALLY_ROW:
            parts[TALLIES] += 1
        elif table == "$batch":
            parts[ORDERS] += 1  # the tallies never use a transaction
        elif table == base and keys is None and request.method == "POST":
            parts[TALLIES if request.status == 204 else ORDERS] += 1
        elif (table.startswith(base) and table != base) or (table == base and keys is not None):
            parts[ORDERS] += 1
        else:
            parts[OTHER] += 1  # table admin, other tables
    return +parts
