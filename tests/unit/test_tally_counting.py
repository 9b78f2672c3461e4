"""The send gate's Table requests and exactness with its per-worker tally cache: one write per
tally in the common case, a read only after a conflict or to confirm a decision that writes
nothing, and two workers (two gates on one store) never letting more through than the limit."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from instant.domain.digests import Digester
from instant.domain.errors import ProblemCode, ProblemError, RecordChanged
from instant.domain.orders import SmsOrder
from instant.domain.tallies import Tally
from instant.limits.gate import SendGate
from instant.limits.policy import LimitSettings
from instant.limits.rates import RateLimit
from instant.limits.tally_cache import TallyCache
from tests.support.fakes import START, InMemoryTallyStore

PHONE = "+4799999999"
CALLER = "caller-a"


def gate(store: InMemoryTallyStore, limit: int = 5, budget: int | None = None) -> SendGate:
    """One worker's gate: ``limit`` sends per 600 s to a number, and an optional daily budget."""
    settings = LimitSettings(sms_recipient_limits=(RateLimit(limit, 600),), sms_daily_segment_budget=budget)
    return SendGate(store=store, digester=Digester(), settings=settings)


async def admit(gate_: SendGate, shipment_id: str, phone: str = PHONE, segments: int = 1, seconds: float = 0) -> int:
    """201 if the send is counted, else the refusal's status (429, 409 or 503)."""
    order = SmsOrder(shipment_id, None, phone, 300, None, "Your code is 123456.")
    now = START + timedelta(seconds=seconds)
    try:
        await gate_.start(order, CALLER, segments, now).admit(shipment_id, now)
    except ProblemError as refused:
        return refused.kind.status
    return 201


def recipient(store: InMemoryTallyStore) -> Tally:
    return next(t for key, t in store.tallies.items() if key.startswith("recipient|"))


def counted(store: InMemoryTallyStore) -> list[str]:
    return [e.shipment_id for e in recipient(store).entries]


async def test_a_new_recipient_costs_one_insert_and_no_read() -> None:
    store = InMemoryTallyStore()
    assert await admit(gate(store), "s1") == 201
    assert (store.reads, store.writes) == (0, 1)
    assert counted(store) == ["s1"]


async def test_a_recipient_this_worker_counted_costs_one_replace() -> None:
    store = InMemoryTallyStore()
    worker = gate(store)
    await admit(worker, "s1")
    assert await admit(worker, "s2", seconds=1) == 201
    assert (store.reads, store.writes) == (0, 2)
    assert counted(store) == ["s1", "s2"]


async def test_a_tally_another_worker_wrote_costs_a_read_and_a_second_write() -> None:
    store = InMemoryTallyStore()
    await admit(gate(store), "s1")
    assert await admit(gate(store), "s2", seconds=1) == 201  # its insert loses: read, replace
    assert (store.reads, store.writes) == (1, 3)
    assert counted(store) == ["s1", "s2"]


async def test_a_refusal_costs_one_read_and_counts_nothing() -> None:
    store = InMemoryTallyStore()
    worker = gate(store, limit=1)
    await admit(worker, "s1")
    assert await admit(worker, "s2", seconds=1) == 429
    assert (store.reads, store.writes) == (1, 1)
    assert counted(store) == ["s1"]


async def test_a_refusal_decided_on_a_stale_cache_is_checked_on_a_fresh_read() -> None:
    store = InMemoryTallyStore()
    worker = gate(store, limit=1)
    await admit(worker, "s1")
    # Another worker took s1 out again (its other tally refused the send): this worker's
    # memory still holds it.
    stored = recipient(store)
    await store.write(Tally(stored.key, (), 0, stored.etag))
    assert await admit(worker, "s2", seconds=1) == 201
    assert counted(store) == ["s2"]


async def test_an_order_the_cache_holds_as_counted_is_checked_on_a_fresh_read() -> None:
    store = InMemoryTallyStore()
    worker = gate(store, limit=1)
    await admit(worker, "s1")
    stored = recipient(store)
    await store.write(Tally(stored.key, (), 0, stored.etag))  # another worker took s1 out
    assert await admit(worker, "s1", seconds=1) == 201  # the takeover is counted again
    assert counted(store) == ["s1"]
    assert await admit(gate(store, limit=1), "s2", seconds=2) == 429


async def test_a_tally_purged_since_it_was_cached_is_created_again() -> None:
    store = InMemoryTallyStore()
    worker = gate(store)
    await admit(worker, "s1")
    assert await store.purge(START + timedelta(days=2), limit=10) == 1
    assert await admit(worker, "s2", seconds=1) == 201  # the replace loses: read (none), insert
    assert counted(store) == ["s2"]
    assert (store.reads, store.writes) == (1, 3)


async def test_two_workers_taking_turns_count_exactly_the_limit() -> None:
    store = InMemoryTallyStore()
    workers = [gate(store), gate(store)]
    statuses = [await admit(workers[i % 2], f"s{i}", seconds=i) for i in range(12)]
    assert statuses == [201] * 5 + [429] * 7
    assert counted(store) == [f"s{i}" for i in range(5)]


async def test_forty_concurrent_sends_through_two_workers_count_exactly_the_limit() -> None:
    store = InMemoryTallyStore()
    workers = [gate(store), gate(store)]
    await admit(workers[0], "warm")  # one worker starts with a cached tally, the other without
    statuses = await asyncio.gather(*(admit(workers[i % 2], f"race-{i}") for i in range(40)))
    assert sorted(statuses).count(201) == 4
    assert len(set(counted(store))) == len(counted(store)) == 5


async def test_a_budget_refusal_retracts_with_one_write_and_keeps_the_tally_cached() -> None:
    store = InMemoryTallyStore()
    worker = gate(store, budget=1)
    assert await admit(worker, "s1", segments=2) == 429  # counted for the recipient, then taken out
    assert counted(store) == []
    assert (store.reads, store.writes) == (1, 2)  # the budget's refusal confirmed; insert, retraction
    assert await admit(worker, "s2", seconds=1) == 201
    assert (store.reads, store.writes) == (1, 4)  # both tallies from memory: one write each
    assert counted(store) == ["s2"]


async def test_a_retraction_that_fails_leaves_the_place_counted_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class DownAfterTheFirstWrite(InMemoryTallyStore):
        async def write(self, tally: Tally) -> Tally:
            self.available = self.writes == 0
            return await super().write(tally)

    store = DownAfterTheFirstWrite()
    with caplog.at_level(logging.WARNING, logger="instant.limits"):
        assert await admit(gate(store, budget=1), "s1", segments=2) == 429
    assert counted(store) == ["s1"]  # stricter, never looser
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "s1" in warnings[0].getMessage()


async def test_the_refusal_says_what_this_request_did() -> None:
    store = InMemoryTallyStore()
    worker = gate(store, limit=1)
    await admit(worker, "s1")
    order = SmsOrder("s2", None, PHONE, 300, None, "Your code is 123456.")
    with pytest.raises(ProblemError) as refused:
        await worker.start(order, CALLER, 1, START).admit("s2", START)
    assert refused.value.code is ProblemCode.RECIPIENT_RATE_LIMITED
    # A takeover's earlier attempt may have reached the provider: only this request is vouched for.
    assert "this request sent nothing" in refused.value.detail


def test_the_cache_keeps_the_most_recently_used_tallies() -> None:
    cache = TallyCache(capacity=2)
    for key in ("a", "b"):
        cache.put(Tally(key, etag=key))
    assert cache.get("a") == Tally("a", etag="a")  # "a" is now the most recent
    cache.put(Tally("c", etag="c"))
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (Tally("a", etag="a"), None, Tally("c", etag="c"))
    cache.drop("a")
    assert cache.get("a") is None
    assert len(cache) == 1


class LosesTheAnswers(InMemoryTallyStore):
    """Once ``losing``, a write that storage carries out loses its answer: its retry meets it
    (409 or 412), as TableTallyStore reports a POST sent again on a broken connection."""

    losing = False

    async def write(self, tally: Tally) -> Tally:
        written = await super().write(tally)
        if self.losing:
            raise RecordChanged("the retry met the write it retried")
        return written


@pytest.mark.parametrize("cached", [False, True], ids=["insert", "replace"])
async def test_a_tally_write_whose_answer_was_lost_counts_the_send_once(cached: bool) -> None:
    # given: a tally new to this worker (its write is an insert) or cached by it (a replace)
    store = LosesTheAnswers()
    worker = gate(store)
    if cached:
        assert await admit(worker, "earlier") == 201
    store.losing = True
    # when
    status = await admit(worker, "mine", seconds=1)
    # then: the read after the lost write finds this send counted, and does not count it again
    assert status == 201
    assert counted(store) == (["earlier", "mine"] if cached else ["mine"])
