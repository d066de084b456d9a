"""The in-memory inventory gate that answers "sold out" without the database, on a fake monotonic clock."""

from __future__ import annotations

import asyncio

import pytest

from yiyue.booking.gate import InventoryGate


class FakeMonotonic:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def ticks() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def gate(ticks: FakeMonotonic) -> InventoryGate:
    return InventoryGate(recheck_seconds=2.0, monotonic=ticks)


def test_an_unknown_schedule_is_not_sold_out(gate: InventoryGate) -> None:
    assert gate.is_sold_out_for(7, 1) is False


def test_a_schedule_marked_sold_out_is_refused_to_accounts_holding_none_of_its_slots(gate: InventoryGate) -> None:
    gate.mark_sold_out(7, frozenset({2, 3}))

    assert gate.is_sold_out_for(7, 1) is True


@pytest.mark.parametrize("holder", [2, 3])
def test_holders_of_a_sold_out_schedule_still_go_through(gate: InventoryGate, holder: int) -> None:
    gate.mark_sold_out(7, frozenset({2, 3}))

    assert gate.is_sold_out_for(7, holder) is False


def test_a_schedule_sold_out_with_no_recorded_holders_refuses_everyone(gate: InventoryGate) -> None:
    gate.mark_sold_out(7, frozenset())

    assert [gate.is_sold_out_for(7, account) for account in (1, 2, 3)] == [True, True, True]


def test_the_mark_holds_until_just_before_recheck_seconds(gate: InventoryGate, ticks: FakeMonotonic) -> None:
    gate.mark_sold_out(7, frozenset())

    ticks.advance(1.999)

    assert gate.is_sold_out_for(7, 1) is True


@pytest.mark.parametrize("after", [2.0, 2.001, 60.0])
def test_the_mark_lapses_after_recheck_seconds(gate: InventoryGate, ticks: FakeMonotonic, after: float) -> None:
    gate.mark_sold_out(7, frozenset())

    ticks.advance(after)

    assert gate.is_sold_out_for(7, 1) is False


def test_a_lapsed_mark_stays_lapsed(gate: InventoryGate, ticks: FakeMonotonic) -> None:
    gate.mark_sold_out(7, frozenset())
    ticks.advance(2.0)
    assert gate.is_sold_out_for(7, 1) is False

    ticks.advance(-1.0)  # a lapsed mark is forgotten, not just hidden

    assert gate.is_sold_out_for(7, 1) is False


def test_marking_again_restarts_the_recheck_period(gate: InventoryGate, ticks: FakeMonotonic) -> None:
    gate.mark_sold_out(7, frozenset())
    ticks.advance(1.5)
    gate.mark_sold_out(7, frozenset())

    ticks.advance(1.5)

    assert gate.is_sold_out_for(7, 1) is True


def test_marking_again_replaces_the_holders(gate: InventoryGate) -> None:
    gate.mark_sold_out(7, frozenset({1}))
    gate.mark_sold_out(7, frozenset({2}))

    assert (gate.is_sold_out_for(7, 1), gate.is_sold_out_for(7, 2)) == (True, False)


def test_mark_available_reopens_the_schedule_at_once(gate: InventoryGate) -> None:
    gate.mark_sold_out(7, frozenset({2}))

    gate.mark_available(7)

    assert gate.is_sold_out_for(7, 1) is False


def test_mark_available_on_an_unknown_schedule_is_harmless(gate: InventoryGate) -> None:
    gate.mark_available(7)

    assert gate.is_sold_out_for(7, 1) is False


def test_schedules_are_marked_independently(gate: InventoryGate, ticks: FakeMonotonic) -> None:
    gate.mark_sold_out(7, frozenset({2}))
    ticks.advance(1.0)
    gate.mark_sold_out(8, frozenset({3}))

    assert (gate.is_sold_out_for(7, 1), gate.is_sold_out_for(8, 1), gate.is_sold_out_for(9, 1)) == (True, True, False)
    assert (gate.is_sold_out_for(7, 3), gate.is_sold_out_for(8, 2)) == (True, True)

    gate.mark_available(7)
    assert (gate.is_sold_out_for(7, 1), gate.is_sold_out_for(8, 1)) == (False, True)

    ticks.advance(1.5)  # 8 was marked 1.5 s ago: still held
    assert gate.is_sold_out_for(8, 1) is True


def test_the_default_recheck_period_is_two_seconds(ticks: FakeMonotonic) -> None:
    gate = InventoryGate(monotonic=ticks)
    gate.mark_sold_out(7, frozenset())

    ticks.advance(1.9)
    assert gate.is_sold_out_for(7, 1) is True
    ticks.advance(0.1)
    assert gate.is_sold_out_for(7, 1) is False


# --- turns: bounded booking transactions per schedule ---------------------------------------------


async def test_no_more_than_the_allowed_claimers_of_one_schedule_run_at_once() -> None:
    gate = InventoryGate(claimers_per_schedule=2)
    running = peak = 0

    async def claimer() -> None:
        nonlocal running, peak
        give_back = await gate.take_turn(7)
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001)
        running -= 1
        give_back()

    await asyncio.gather(*(claimer() for _ in range(10)))

    assert peak == 2


async def test_turns_of_different_schedules_do_not_wait_for_each_other() -> None:
    gate = InventoryGate(claimers_per_schedule=1)
    first = await gate.take_turn(1)

    second = await asyncio.wait_for(gate.take_turn(2), timeout=1)

    first()
    second()


async def test_a_turn_given_back_twice_counts_once_and_idle_schedules_are_forgotten() -> None:
    gate = InventoryGate(claimers_per_schedule=1)
    give_back = await gate.take_turn(3)
    give_back()
    give_back()

    again = await asyncio.wait_for(gate.take_turn(3), timeout=1)
    again()

    assert gate._turns == {}


async def test_a_waiter_cancelled_before_its_turn_leaves_no_trace() -> None:
    gate = InventoryGate(claimers_per_schedule=1)
    holder = await gate.take_turn(4)
    waiter = asyncio.create_task(gate.take_turn(4))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    holder()

    assert gate._turns == {}
