"""The gate's slot counts, in memory and in Redis alike: tokens while slots are free, refusals once the
claims in flight cover them, tokens back when a claim fails, counts forgotten when slots are freed."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.booking.gate.conftest import FakeMonotonic, MakeCounts
from yiyue.booking.gate import MemorySlotCounts, SlotCounts, Ticket

S = 7  # the schedule


async def admitted(counts: SlotCounts, account: int, schedule: int = S) -> Ticket:
    ticket = await counts.admit(schedule, account)
    assert ticket is not None, f"account {account} was refused"
    return ticket


async def known(
    counts: SlotCounts,
    remaining: int,
    *,
    holders: frozenset[int] | None = None,
    schedule: int = S,
    by: Ticket | None = None,
) -> None:
    """A booking (``by``, or one admitted now) reports what the database said."""
    ticket = by or await admitted(counts, 999, schedule)
    await counts.settle(ticket, claimed=False, remaining=remaining, holders=holders)


async def returned(counts: SlotCounts) -> None:
    waiting = getattr(counts, "returned", None)
    if waiting is not None:
        await waiting()


async def test_an_unknown_count_refuses_nobody_and_takes_no_token(make_counts: MakeCounts) -> None:
    counts = make_counts()

    tickets = [await admitted(counts, account) for account in range(50)]

    assert not any(ticket.counted for ticket in tickets)
    assert await counts.is_sold_out_for(S, 1) is False


async def test_once_the_claims_in_flight_cover_the_free_slots_others_are_refused(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 3)

    tickets = [await counts.admit(S, account) for account in (1, 2, 3, 4, 5)]

    assert [t is not None and t.counted for t in tickets] == [True, True, True, False, False]
    assert tickets[3] is None
    assert await counts.is_sold_out_for(S, 6) is True


async def test_a_failed_claim_gives_its_token_back(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 1)
    first = await admitted(counts, 1)
    assert await counts.admit(S, 2) is None

    await counts.settle(first, claimed=False)

    assert await counts.is_sold_out_for(S, 2) is False
    assert (await admitted(counts, 2)).counted


async def test_an_abandoned_ticket_gives_its_token_back(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 1)
    first = await admitted(counts, 1)

    counts.abandon(first)
    await returned(counts)

    assert (await admitted(counts, 2)).counted


async def test_a_committed_claim_spends_its_token_and_its_account_becomes_a_holder(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 2)
    first = await admitted(counts, 1)

    await counts.settle(first, claimed=True, remaining=1)
    counts.abandon(first)  # the unit of work closes after the commit: nothing more comes back
    await returned(counts)

    second = await admitted(counts, 2)
    assert second.counted
    assert await counts.admit(S, 3) is None
    holder = await admitted(counts, 1)  # the holder's retry still reaches the database, without a token
    assert not holder.counted


async def test_sold_out_refuses_everyone_but_the_holders(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 0, holders=frozenset({2, 3}))

    assert [await counts.is_sold_out_for(S, account) for account in (1, 2, 3, 4)] == [True, False, False, True]
    assert await counts.admit(S, 1) is None
    assert not (await admitted(counts, 2)).counted


async def test_a_new_report_replaces_the_holders(make_counts: MakeCounts) -> None:
    counts = make_counts()
    first, second = await admitted(counts, 998), await admitted(counts, 999)
    await known(counts, 0, holders=frozenset({1}), by=first)
    await known(counts, 0, holders=frozenset({2}), by=second)

    assert (await counts.is_sold_out_for(S, 1), await counts.is_sold_out_for(S, 2)) == (True, False)


async def test_reopen_forgets_the_count_at_once_and_old_tickets_change_nothing(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 1)
    old = await admitted(counts, 1)

    await counts.reopen([S])

    assert await counts.is_sold_out_for(S, 2) is False
    fresh = await admitted(counts, 2)
    assert not fresh.counted
    # The old claim saw the database before the slot was freed: its report must not become the count.
    await counts.settle(old, claimed=True, remaining=0, holders=frozenset({1}))
    assert await counts.is_sold_out_for(S, 3) is False


async def test_reopen_of_an_unknown_schedule_is_harmless(make_counts: MakeCounts) -> None:
    counts = make_counts()

    await counts.reopen([S, 8])

    assert await counts.is_sold_out_for(S, 1) is False


async def test_schedules_are_counted_apart(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 0, schedule=7)
    await known(counts, 5, schedule=8)

    assert (await counts.is_sold_out_for(7, 1), await counts.is_sold_out_for(8, 1)) == (True, False)
    await counts.reopen([7])
    assert await counts.is_sold_out_for(7, 1) is False


async def test_readmit_keeps_a_token_until_no_slot_is_left(make_counts: MakeCounts) -> None:
    counts = make_counts()
    other = await admitted(counts, 2)  # admitted before the count was known: it holds no token
    await known(counts, 1)
    ticket = await admitted(counts, 1)

    assert await counts.readmit(ticket) is True
    await known(counts, 0, by=other)  # and it found the last slot gone
    assert await counts.readmit(ticket) is False


async def test_readmit_takes_a_token_once_the_count_is_known(make_counts: MakeCounts) -> None:
    counts = make_counts()
    early = [await admitted(counts, account) for account in (1, 2, 3)]  # admitted while nothing was known
    await known(counts, 2)

    answers = [await counts.readmit(ticket) for ticket in early]

    assert answers == [True, True, False]
    assert [ticket.counted for ticket in early] == [True, True, False]


async def test_readmit_after_the_count_was_forgotten_starts_again(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 1)
    ticket = await admitted(counts, 1)
    await counts.reopen([S])

    assert await counts.readmit(ticket) is True
    assert ticket.counted  # in the count's new life, as a claim entering the database


async def test_claims_that_enter_the_database_before_the_count_is_known_are_counted_once_it_is(
    make_counts: MakeCounts,
) -> None:
    counts = make_counts()
    first, second, waiting = [await admitted(counts, account) for account in (1, 2, 3)]
    assert await counts.readmit(first) and await counts.readmit(second)  # both claim while nothing is known

    await counts.settle(first, claimed=True, remaining=2)  # the database: 2 left (one of them is second's)

    assert await counts.readmit(waiting) is True  # the one slot neither claims
    assert await counts.admit(S, 4) is None


async def test_tokens_under_hundreds_of_concurrent_claims(make_counts: MakeCounts) -> None:
    """200 tasks race for 10 free slots; claims commit or fail at random. Never more claims in flight than
    free slots, every failure gives its token back, and the slots are all spent in the end."""
    counts = make_counts()
    free = 10
    await known(counts, free)
    in_flight = 0
    peak = 0
    committed: list[int] = []
    rng = random.Random(10)
    plan = {account: rng.random() < 0.5 for account in range(200)}  # True: the claim fails in the database

    async def claimant(account: int) -> None:
        nonlocal in_flight, peak, free
        for _attempt in range(50):
            ticket = await counts.admit(S, account)
            if ticket is None:
                await asyncio.sleep(0.005)
                continue
            assert ticket.counted
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(rng.random() * 0.003)
            in_flight -= 1
            if plan[account] or free == 0:
                await counts.settle(ticket, claimed=False)
                return
            free -= 1
            committed.append(account)
            await counts.settle(ticket, claimed=True, remaining=free)
            return

    await asyncio.gather(*(claimant(account) for account in plan))

    assert peak <= 10
    assert len(committed) == 10
    assert not any([await counts.is_sold_out_for(S, account) for account in committed])  # holders
    # Every token came back: with one slot reported free, one claim is admitted and the next refused.
    # (Reports may land out of order in Redis, so the count is reported again first.)
    await known(counts, 1, by=await admitted(counts, committed[0]))
    assert (await admitted(counts, 1000)).counted
    assert await counts.admit(S, 1001) is None


# --- lapses ------------------------------------------------------------------------------------------


def test_memory_counts_lapse_after_their_period() -> None:
    ticks = FakeMonotonic()
    counts = MemorySlotCounts(lapse_seconds=2.0, monotonic=ticks)

    async def scenario() -> list[bool]:
        await known(counts, 0)
        seen = [await counts.is_sold_out_for(S, 1)]
        ticks.advance(1.999)
        seen.append(await counts.is_sold_out_for(S, 1))
        ticks.advance(0.001)
        seen.append(await counts.is_sold_out_for(S, 1))
        ticks.advance(-1.0)  # a lapsed count is forgotten, not just hidden
        seen.append(await counts.is_sold_out_for(S, 1))
        return seen

    assert asyncio.run(scenario()) == [True, True, False, False]


async def test_the_lapse_runs_from_when_the_count_became_known_not_from_each_report() -> None:
    ticks = FakeMonotonic()
    counts = MemorySlotCounts(lapse_seconds=2.0, monotonic=ticks)
    later = await admitted(counts, 2)
    await known(counts, 3)
    ticks.advance(1.5)
    await known(counts, 2, by=later)  # later reports do not extend the count's life: a drifted count is re-read
    await admitted(counts, 3)
    await admitted(counts, 4)
    assert await counts.is_sold_out_for(S, 1) is True

    ticks.advance(0.5)

    assert await counts.is_sold_out_for(S, 1) is False


async def test_a_sell_out_the_database_confirms_starts_the_lapse_again() -> None:
    ticks = FakeMonotonic()
    counts = MemorySlotCounts(lapse_seconds=2.0, monotonic=ticks)
    later = await admitted(counts, 2)
    await known(counts, 1)
    ticks.advance(1.5)
    await known(counts, 0, holders=frozenset({2}), by=later)

    ticks.advance(1.9)
    assert await counts.is_sold_out_for(S, 1) is True
    ticks.advance(0.1)
    assert await counts.is_sold_out_for(S, 1) is False


async def test_a_token_never_given_back_is_lost_only_until_the_lapse(make_counts: MakeCounts) -> None:
    counts = make_counts(lapse_seconds=0.3)
    await known(counts, 1)
    await admitted(counts, 1)  # its process dies: neither settled nor abandoned
    assert await counts.admit(S, 2) is None

    await asyncio.sleep(0.35)

    assert await counts.is_sold_out_for(S, 2) is False
    assert await counts.admit(S, 2) is not None


@pytest.mark.parametrize("remaining", [-1, 0])
async def test_a_report_below_zero_counts_as_none_left(make_counts: MakeCounts, remaining: int) -> None:
    counts = make_counts()
    await known(counts, remaining)

    assert await counts.is_sold_out_for(S, 1) is True


async def test_repeated_sell_out_reports_do_not_keep_the_count_alive(make_counts: MakeCounts) -> None:
    counts = make_counts(lapse_seconds=0.5)
    retries = [await admitted(counts, account) for account in (2, 3, 4)]  # holders retrying, say
    await known(counts, 0, holders=frozenset({2, 3, 4}), by=retries[0])
    for retry in retries[1:]:
        await asyncio.sleep(0.2)
        await known(counts, 0, holders=frozenset({2, 3, 4}), by=retry)
    assert await counts.is_sold_out_for(S, 1) is True

    await asyncio.sleep(0.2)  # 0.6 s after the sell-out was first confirmed

    assert await counts.is_sold_out_for(S, 1) is False


async def test_an_account_with_a_booking_in_flight_here_is_not_refused_on_its_retry(make_counts: MakeCounts) -> None:
    counts = make_counts()
    await known(counts, 1)
    first = await admitted(counts, 1)  # the last slot's claim, in flight in this process
    assert await counts.admit(S, 2) is None

    assert await counts.is_sold_out_for(S, 1) is False  # its retry goes on to the database...
    retry = await admitted(counts, 1)
    assert await counts.readmit(retry) is True
    assert await counts.readmit(first) is True
    assert await counts.is_sold_out_for(S, 2) is True  # ...and nobody else's

    await counts.settle(retry, claimed=False)
    await counts.settle(first, claimed=False, remaining=0, holders=frozenset({9}))
    await returned(counts)

    assert await counts.is_sold_out_for(S, 1) is True  # settled: no longer in flight
    assert await counts.admit(S, 1) is None


async def test_a_ticket_admitted_while_the_count_is_unknown_says_so(make_counts: MakeCounts) -> None:
    counts = make_counts()

    first = await admitted(counts, 1)
    await known(counts, 2)
    later = await admitted(counts, 2)

    assert first.unknown and not first.counted
    assert not later.unknown and later.counted


async def test_a_count_learned_for_a_ticket_admits_against_it(make_counts: MakeCounts) -> None:
    counts = make_counts()
    tickets = [await admitted(counts, account) for account in (1, 2, 3)]

    await counts.learn(tickets[0], remaining=2, holders=None)

    assert [await counts.readmit(ticket) for ticket in tickets] == [True, True, False]
    assert await counts.is_sold_out_for(S, 4) is True


async def test_a_sold_out_count_learned_keeps_its_holders_going(make_counts: MakeCounts) -> None:
    counts = make_counts()
    holder, other = await admitted(counts, 1), await admitted(counts, 2)

    await counts.learn(holder, remaining=0, holders=frozenset({1}))

    assert await counts.readmit(holder) is True
    assert await counts.readmit(other) is False
    assert await counts.is_sold_out_for(S, 1) is False and await counts.is_sold_out_for(S, 3) is True


async def test_learning_changes_nothing_once_a_booking_reported_the_count(make_counts: MakeCounts) -> None:
    counts = make_counts()
    scout = await admitted(counts, 1)
    await known(counts, 0)  # a booking's report came first: it is newer than what the scout read

    await counts.learn(scout, remaining=5, holders=None)

    assert await counts.is_sold_out_for(S, 2) is True


async def test_learning_for_a_forgotten_count_changes_nothing(make_counts: MakeCounts) -> None:
    counts = make_counts()
    scout = await admitted(counts, 1)
    await counts.reopen([S])  # a slot was freed while the scout read: what it read is older

    await counts.learn(scout, remaining=0, holders=None)

    assert await counts.is_sold_out_for(S, 2) is False
