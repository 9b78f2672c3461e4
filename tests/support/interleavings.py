"""An exhaustive interleaving scheduler for the storage steps of concurrent requests.

Every call on the in-memory Rows (tests/support/fake_rows.py) is one step: the request that
makes it waits until the scheduler picks it. One run follows a list of choices (which of the
waiting steps goes next); ``explore`` runs the scenario again for every list, depth first, until
every order of the steps has run once (stateless model checking: each run starts from nothing,
so no state is shared between runs). Nothing sleeps: a run is decided by its choices alone.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_rows import FakeRows

_REQUEST = contextvars.ContextVar[str]("request", default="?")
# Spins of the event loop with nothing changing before a run counts as settled.
_SETTLED = 3


@dataclass
class _Waiting:
    request: str
    step: str
    go: asyncio.Future[None]


@dataclass
class _Run:
    choices: Sequence[int]
    taken: list[tuple[int, int]] = field(default_factory=list)  # (choice, options) per decision
    waiting: list[_Waiting] = field(default_factory=list)

    async def step(self, op: str, table: str, key: str) -> None:
        go = asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(_REQUEST.get(), f"{op} {table}", go))
        await go

    def trail(self) -> list[str]:
        return [f"{c}/{n}" for c, n in self.taken]


Requests = Sequence[tuple[str, Callable[[], Coroutine[Any, Any, Any]]]]
Build = Callable[[FakeRows], Awaitable[Requests]]
Check = Callable[[FakeRows, dict[str, Any]], Awaitable[None]]


async def _settle(run: _Run, tasks: Sequence[asyncio.Task[Any]]) -> None:
    state, still = (-1, -1), 0
    while still < _SETTLED:
        await asyncio.sleep(0)
        now = (len(run.waiting), sum(t.done() for t in tasks))
        still = still + 1 if now == state else 0
        state = now


async def _one(build: Build, check: Check, choices: Sequence[int]) -> list[tuple[int, int]]:
    run = _Run(choices)
    rows = FakeRows(step=run.step)
    requests = await build(rows)

    async def labelled(name: str, start: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        _REQUEST.set(name)
        return await start()

    tasks = [asyncio.create_task(labelled(name, start)) for name, start in requests]
    while True:
        await _settle(run, tasks)
        if not run.waiting:
            break
        index = len(run.taken)
        choice = choices[index] if index < len(choices) else 0
        run.taken.append((choice, len(run.waiting)))
        run.waiting.pop(choice).go.set_result(None)
    stuck = [name for (name, _), task in zip(requests, tasks, strict=True) if not task.done()]
    assert not stuck, f"requests {stuck} wait on something other than a storage step"
    results = {name: task.result() for (name, _), task in zip(requests, tasks, strict=True)}
    try:
        await check(rows, results)
    except AssertionError as failure:
        raise AssertionError(f"interleaving {run.trail()}: {failure}") from failure
    return run.taken


def _next(taken: list[tuple[int, int]]) -> list[int] | None:
    for depth in range(len(taken) - 1, -1, -1):
        choice, options = taken[depth]
        if choice + 1 < options:
            return [c for c, _ in taken[:depth]] + [choice + 1]
    return None


async def explore(build: Build, check: Check, *, limit: int = 200_000) -> int:
    """Run the requests ``build`` makes in every order of their storage steps, ``check`` after
    each; the number of interleavings run."""
    choices: list[int] | None = []
    runs = 0
    while choices is not None:
        taken = await _one(build, check, choices)
        runs += 1
        assert runs <= limit, f"more than {limit} interleavings"
        choices = _next(taken)
    return runs
