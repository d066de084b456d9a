"""The counts in Redis as several processes see them, and what happens when Redis is down or flushed:
the database decides alone, and nobody is refused on a count that is gone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from tests.booking.gate.conftest import FakeMonotonic, gate_redis_url, needs_redis
from tests.booking.gate.test_counts import S, admitted, known
from tests.live import free_port
from yiyue.booking.gate.redis_counts import RedisSlotCounts

pytestmark = needs_redis

Make = Callable[..., RedisSlotCounts]


@pytest.fixture
async def fleet() -> AsyncIterator[Make]:
    """Counts of several "processes" (separate clients and pools) over one key prefix."""
    prefix = f"yiyue-test:{uuid.uuid4().hex[:10]}"
    made: list[RedisSlotCounts] = []

    def make(**options: float | str) -> RedisSlotCounts:
        options.setdefault("local_seconds", 0.0)
        counts = RedisSlotCounts(str(options.pop("url", gate_redis_url())), prefix=prefix, **options)  # type: ignore[arg-type]
        made.append(counts)
        return counts

    yield make
    for counts in made:
        await counts.aclose()


async def test_a_token_taken_in_one_process_is_seen_by_another(fleet: Make) -> None:
    a, b = fleet(), fleet()
    await known(a, 1)

    assert (await admitted(a, 1)).counted
    assert await b.admit(S, 2) is None
    assert await b.is_sold_out_for(S, 2) is True


async def test_a_slot_freed_in_one_process_reopens_the_schedule_in_every_other_at_once(fleet: Make) -> None:
    a, b = fleet(), fleet(local_seconds=0.05)
    await known(a, 0, holders=frozenset({1}))
    assert await b.is_sold_out_for(S, 2) is True  # b now remembers the refusal for 50 ms

    await a.reopen([S])
    await asyncio.sleep(0.06)

    assert await b.is_sold_out_for(S, 2) is False
    assert await b.admit(S, 2) is not None


async def test_a_remembered_refusal_spares_redis_and_still_lets_holders_through(fleet: Make) -> None:
    a, b = fleet(), fleet(local_seconds=10.0)
    await known(a, 0, holders=frozenset({1}))
    assert await b.is_sold_out_for(S, 2) is True

    await a.reopen([S])  # another process: b answers from memory until its 10 s are over

    assert await b.is_sold_out_for(S, 2) is True
    assert await b.admit(S, 2) is None
    assert await b.is_sold_out_for(S, 1) is False
    await b.reopen([S])  # its own process's freed slots reach it at once
    assert await b.is_sold_out_for(S, 2) is False


async def test_a_count_flushed_from_redis_is_unknown_and_old_tickets_change_nothing(fleet: Make) -> None:
    a = fleet()
    await known(a, 1)
    ticket = await admitted(a, 1)
    assert await a.admit(S, 2) is None

    flusher = aioredis.from_url(gate_redis_url())
    try:
        await flusher.flushdb()
    finally:
        await flusher.aclose()

    assert await a.is_sold_out_for(S, 2) is False
    fresh = await admitted(a, 2)
    assert not fresh.counted
    await a.settle(ticket, claimed=True, remaining=0, holders=frozenset({1}))  # its count is gone: ignored
    assert await a.is_sold_out_for(S, 3) is False
    await a.settle(fresh, claimed=True, remaining=0, holders=frozenset({1, 2}))  # the new count's first report
    assert await a.is_sold_out_for(S, 3) is True


async def test_redis_down_refuses_nobody_and_fails_nothing(fleet: Make) -> None:
    down = fleet(url=f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.2, retry_seconds=60.0)

    ticket = await down.admit(S, 1)
    assert ticket is not None and not ticket.counted
    assert await down.is_sold_out_for(S, 1) is False
    assert await down.readmit(ticket) is True
    await down.settle(ticket, claimed=True, remaining=0, holders=frozenset({1}))
    down.abandon(ticket)
    await down.reopen([S])
    assert await down.admit(S, 2) is not None


async def test_after_a_failure_redis_is_left_alone_then_tried_again(fleet: Make) -> None:
    port = free_port()
    counts = fleet(url=f"redis://127.0.0.1:{port}/0", timeout_seconds=0.2, retry_seconds=0.2)
    calls = 0
    real = counts._redis.evalsha  # type: ignore[attr-defined]

    async def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await real(*args, **kwargs)

    counts._redis.evalsha = counting  # type: ignore[attr-defined,method-assign]
    await counts.is_sold_out_for(S, 1)
    tried = calls
    for _ in range(20):
        await counts.is_sold_out_for(S, 1)
    assert calls == tried  # within retry_seconds nobody asks

    await asyncio.sleep(0.25)
    await counts.is_sold_out_for(S, 1)
    assert calls > tried


async def test_counts_lapse_in_redis_too(fleet: Make) -> None:
    a = fleet(lapse_seconds=0.2)
    await known(a, 0)
    assert await a.is_sold_out_for(S, 1) is True

    await asyncio.sleep(0.25)

    assert await a.is_sold_out_for(S, 1) is False


async def test_a_token_moments_old_is_not_checked_again_one_older_is(fleet: Make) -> None:
    a = fleet(local_seconds=0.2)
    other = await admitted(a, 2)  # admitted before the count was known: no token
    await known(a, 1)
    ticket = await admitted(a, 1)
    await known(a, 0, by=other)  # the last slot went elsewhere

    assert await a.readmit(ticket) is True  # within local_seconds: the database will say
    await asyncio.sleep(0.25)
    assert await a.readmit(ticket) is False


async def test_a_refused_admission_is_remembered_for_the_rush_with_its_holders(fleet: Make) -> None:
    a, b = fleet(), fleet(local_seconds=10.0)
    await known(a, 1, holders=frozenset({5}))
    await admitted(a, 1)  # the last free slot's claim is in flight

    assert await b.admit(S, 2) is None  # b asked Redis once...
    await a.reopen([S])  # ...and answers from memory now, holders still through
    assert await b.is_sold_out_for(S, 3) is True
    assert await b.is_sold_out_for(S, 5) is False


async def test_remembered_refusals_of_many_schedules_are_swept_once_lapsed(
    fleet: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    from yiyue.booking.gate import redis_counts

    monkeypatch.setattr(redis_counts, "_SWEEP_EVERY", 8, raising=False)
    ticks = FakeMonotonic()
    a = fleet(local_seconds=0.05, monotonic=ticks)  # type: ignore[arg-type]
    for schedule in range(100, 140):
        await known(a, 0, schedule=schedule, by=await admitted(a, 1, schedule))
        assert await a.is_sold_out_for(schedule, 2) is True  # remembered
        ticks.advance(0.1)  # and lapsed before the next

    assert len(a._refusals) <= 8  # type: ignore[attr-defined]


def failing_once(counts: RedisSlotCounts) -> Callable[[], None]:
    """Makes the next script call of ``counts`` fail as if Redis were unreachable (arm it by calling)."""
    real = counts._redis.evalsha  # type: ignore[attr-defined]
    armed = False

    async def evalsha(*args: object, **kwargs: object) -> object:
        nonlocal armed
        if armed:
            armed = False
            raise redis.exceptions.ConnectionError("Connection refused")
        return await real(*args, **kwargs)

    def arm() -> None:
        nonlocal armed
        armed = True

    counts._redis.evalsha = evalsha  # type: ignore[attr-defined,method-assign]
    return arm


async def test_a_readmission_redis_failed_to_answer_still_gives_the_token_back(fleet: Make) -> None:
    a, b = fleet(retry_seconds=0.0), fleet()
    fail = failing_once(a)
    await known(a, 1)
    ticket = await admitted(a, 1)
    assert await b.admit(S, 2) is None

    fail()
    assert await a.readmit(ticket) is True  # Redis did not answer: the database decides
    await a.settle(ticket, claimed=False)

    assert await b.admit(S, 2) is not None


async def test_a_token_redis_failed_to_take_back_is_given_back_when_abandoned(fleet: Make) -> None:
    a, b = fleet(retry_seconds=0.0), fleet()
    fail = failing_once(a)
    await known(a, 1)
    ticket = await admitted(a, 1)

    fail()
    await a.settle(ticket, claimed=False)
    assert await b.admit(S, 2) is None  # still counted in Redis
    a.abandon(ticket)  # the unit of work closes
    await a.returned()

    assert await b.admit(S, 2) is not None


async def test_waiting_for_a_pooled_connection_is_not_an_outage(fleet: Make) -> None:
    a = fleet(max_connections=1, timeout_seconds=0.05, retry_seconds=30.0)
    await known(a, 0)
    busy = await a._redis.connection_pool.get_connection()  # type: ignore[attr-defined]
    try:
        assert await a.is_sold_out_for(S, 1) is False  # no connection free in time: the database decides
    finally:
        await a._redis.connection_pool.release(busy)  # type: ignore[attr-defined]

    assert await a.is_sold_out_for(S, 1) is True  # Redis is asked again at once


async def test_a_freed_slot_is_deleted_in_redis_even_within_an_outage_window(fleet: Make) -> None:
    a, b = fleet(retry_seconds=30.0), fleet()
    fail = failing_once(a)
    await known(b, 0)
    fail()
    assert await a.is_sold_out_for(S, 1) is False  # a now leaves Redis alone for 30 s...

    await a.reopen([S])  # ...but not for a freed slot

    assert await b.is_sold_out_for(S, 1) is False
