"""The in-memory sold-out marks that answer "sold out" without the database, on a fake monotonic clock."""

from __future__ import annotations

import pytest

from yiyue.booking.gate import MemorySoldOutMarks


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
def marks(ticks: FakeMonotonic) -> MemorySoldOutMarks:
    return MemorySoldOutMarks(recheck_seconds=2.0, monotonic=ticks)


async def test_an_unknown_schedule_is_not_sold_out(marks: MemorySoldOutMarks) -> None:
    assert await marks.is_sold_out_for(7, 1) is False


async def test_a_schedule_marked_sold_out_is_refused_to_accounts_holding_none_of_its_slots(
    marks: MemorySoldOutMarks,
) -> None:
    await marks.mark_sold_out(7, frozenset({2, 3}))

    assert await marks.is_sold_out_for(7, 1) is True


@pytest.mark.parametrize("holder", [2, 3])
async def test_holders_of_a_sold_out_schedule_still_go_through(marks: MemorySoldOutMarks, holder: int) -> None:
    await marks.mark_sold_out(7, frozenset({2, 3}))

    assert await marks.is_sold_out_for(7, holder) is False


async def test_a_schedule_sold_out_with_no_recorded_holders_refuses_everyone(marks: MemorySoldOutMarks) -> None:
    await marks.mark_sold_out(7, frozenset())

    assert [await marks.is_sold_out_for(7, account) for account in (1, 2, 3)] == [True, True, True]


async def test_the_mark_holds_until_just_before_recheck_seconds(
    marks: MemorySoldOutMarks, ticks: FakeMonotonic
) -> None:
    await marks.mark_sold_out(7, frozenset())

    ticks.advance(1.999)

    assert await marks.is_sold_out_for(7, 1) is True


@pytest.mark.parametrize("after", [2.0, 2.001, 60.0])
async def test_the_mark_lapses_after_recheck_seconds(
    marks: MemorySoldOutMarks, ticks: FakeMonotonic, after: float
) -> None:
    await marks.mark_sold_out(7, frozenset())

    ticks.advance(after)

    assert await marks.is_sold_out_for(7, 1) is False


async def test_a_lapsed_mark_stays_lapsed(marks: MemorySoldOutMarks, ticks: FakeMonotonic) -> None:
    await marks.mark_sold_out(7, frozenset())
    ticks.advance(2.0)
    assert await marks.is_sold_out_for(7, 1) is False

    ticks.advance(-1.0)  # a lapsed mark is forgotten, not just hidden

    assert await marks.is_sold_out_for(7, 1) is False


async def test_marking_again_restarts_the_recheck_period(marks: MemorySoldOutMarks, ticks: FakeMonotonic) -> None:
    await marks.mark_sold_out(7, frozenset())
    ticks.advance(1.5)
    await marks.mark_sold_out(7, frozenset())

    ticks.advance(1.5)

    assert await marks.is_sold_out_for(7, 1) is True


async def test_marking_again_replaces_the_holders(marks: MemorySoldOutMarks) -> None:
    await marks.mark_sold_out(7, frozenset({1}))
    await marks.mark_sold_out(7, frozenset({2}))

    assert (await marks.is_sold_out_for(7, 1), await marks.is_sold_out_for(7, 2)) == (True, False)


async def test_reopen_reopens_the_schedule_at_once(marks: MemorySoldOutMarks) -> None:
    await marks.mark_sold_out(7, frozenset({2}))

    await marks.reopen([7])

    assert await marks.is_sold_out_for(7, 1) is False


async def test_reopen_on_an_unknown_schedule_is_harmless(marks: MemorySoldOutMarks) -> None:
    await marks.reopen([7])

    assert await marks.is_sold_out_for(7, 1) is False


async def test_schedules_are_marked_independently(marks: MemorySoldOutMarks, ticks: FakeMonotonic) -> None:
    await marks.mark_sold_out(7, frozenset({2}))
    ticks.advance(1.0)
    await marks.mark_sold_out(8, frozenset({3}))

    assert (
        await marks.is_sold_out_for(7, 1),
        await marks.is_sold_out_for(8, 1),
        await marks.is_sold_out_for(9, 1),
    ) == (True, True, False)
    assert (await marks.is_sold_out_for(7, 3), await marks.is_sold_out_for(8, 2)) == (True, True)

    await marks.reopen([7])
    assert (await marks.is_sold_out_for(7, 1), await marks.is_sold_out_for(8, 1)) == (False, True)

    ticks.advance(1.5)  # 8 was marked 1.5 s ago: still held
    assert await marks.is_sold_out_for(8, 1) is True


async def test_the_default_recheck_period_is_two_seconds(ticks: FakeMonotonic) -> None:
    marks = MemorySoldOutMarks(monotonic=ticks)
    await marks.mark_sold_out(7, frozenset())

    ticks.advance(1.9)
    assert await marks.is_sold_out_for(7, 1) is True
    ticks.advance(0.1)
    assert await marks.is_sold_out_for(7, 1) is False
