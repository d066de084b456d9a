"""Admission turns: at most N booking transactions of one schedule at a time in this process."""

from __future__ import annotations

import asyncio

import pytest

from yiyue.booking.gate import AdmissionTurns


async def test_no_more_than_the_allowed_claimers_of_one_schedule_run_at_once() -> None:
    turns = AdmissionTurns(per_schedule=2)
    running = peak = 0

    async def claimer() -> None:
        nonlocal running, peak
        give_back = await turns.take(7)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        give_back()

    await asyncio.gather(*(claimer() for _ in range(10)))

    assert peak == 2


async def test_turns_of_different_schedules_do_not_wait_for_each_other() -> None:
    turns = AdmissionTurns(per_schedule=1)
    first = await turns.take(1)

    second = await asyncio.wait_for(turns.take(2), timeout=1)

    first()
    second()


async def test_a_turn_given_back_twice_counts_once_and_idle_schedules_are_forgotten() -> None:
    turns = AdmissionTurns(per_schedule=1)
    give_back = await turns.take(3)
    give_back()
    give_back()

    again = await asyncio.wait_for(turns.take(3), timeout=1)
    again()

    assert turns._turns == {}


async def test_a_waiter_cancelled_before_its_turn_leaves_no_trace() -> None:
    turns = AdmissionTurns(per_schedule=1)
    holder = await turns.take(4)
    waiter = asyncio.create_task(turns.take(4))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    holder()

    assert turns._turns == {}
