"""The in-memory inventory gate that answers "sold out" without the database, on a fake monotonic clock."""

from __future__ import annotations

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
