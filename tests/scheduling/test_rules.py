"""Session hours, slot time windows (分时段), release (放号) and cut-off times: pure rules, no database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yiyue.core.clock import HOSPITAL_TZ
from yiyue.scheduling.models import Period
from yiyue.scheduling.rules import booking_closes_at, cancel_deadline, release_at, session_bounds, slot_windows

VISIT = date(2026, 3, 9)
EIGHT_HOURS = timedelta(hours=8)


def beijing(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HOSPITAL_TZ)


# --- session bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "starts", "ends"),
    [
        (Period.MORNING, time(8, 0), time(12, 0)),
        (Period.AFTERNOON, time(13, 30), time(17, 30)),
        (Period.EVENING, time(18, 0), time(21, 0)),
    ],
)
def test_each_period_has_its_beijing_session_hours(period: Period, starts: time, ends: time) -> None:
    start, end = session_bounds(VISIT, period)

    assert (start.date(), start.time(), end.date(), end.time()) == (VISIT, starts, VISIT, ends)


@pytest.mark.parametrize("period", list(Period))
def test_session_bounds_are_aware_datetimes_in_asia_shanghai(period: Period) -> None:
    for bound in session_bounds(VISIT, period):
        assert bound.tzinfo is not None
        assert str(bound.tzinfo) == "Asia/Shanghai"
        assert bound.utcoffset() == EIGHT_HOURS


def test_a_morning_session_starts_at_midnight_utc() -> None:
    start, _ = session_bounds(VISIT, Period.MORNING)

    assert start == datetime(2026, 3, 9, 0, 0, tzinfo=UTC)


# --- slot windows ---------------------------------------------------------------------------------


def test_slots_are_numbered_1_to_capacity() -> None:
    start, end = session_bounds(VISIT, Period.MORNING)

    assert [s.number for s in slot_windows(start, end, 30)] == list(range(1, 31))


def test_the_first_slot_starts_when_the_session_starts() -> None:
    start, end = session_bounds(VISIT, Period.AFTERNOON)

    assert slot_windows(start, end, 12)[0].starts_at == start


def test_a_busy_morning_uses_quarter_hours_with_three_numbers_each() -> None:
    start, end = session_bounds(VISIT, Period.MORNING)  # 16 quarter hours

    slots = slot_windows(start, end, 48)

    assert {s.ends_at - s.starts_at for s in slots} == {timedelta(minutes=15)}
    assert [(s.number, f"{s.starts_at:%H:%M}") for s in slots[:4]] == [
        (1, "08:00"),
        (2, "08:00"),
        (3, "08:00"),
        (4, "08:15"),
    ]
    assert f"{slots[-1].starts_at:%H:%M}-{slots[-1].ends_at:%H:%M}" == "11:45-12:00"


def test_a_session_with_fewer_patients_than_quarter_hours_uses_half_hours() -> None:
    start, end = session_bounds(VISIT, Period.MORNING)  # 16 quarter hours, 8 half hours

    slots = slot_windows(start, end, 8)

    assert [f"{s.starts_at:%H:%M}-{s.ends_at:%H:%M}" for s in slots] == [
        "08:00-08:30",
        "08:30-09:00",
        "09:00-09:30",
        "09:30-10:00",
        "10:00-10:30",
        "10:30-11:00",
        "11:00-11:30",
        "11:30-12:00",
    ]


def test_a_single_patient_is_told_to_come_at_the_start() -> None:
    start, end = session_bounds(VISIT, Period.EVENING)

    [only] = slot_windows(start, end, 1)

    assert (only.number, only.starts_at) == (1, start)


@pytest.mark.parametrize("capacity", [0, -1])
def test_a_capacity_below_one_is_refused(capacity: int) -> None:
    start, end = session_bounds(VISIT, Period.MORNING)

    with pytest.raises(ValueError):
        slot_windows(start, end, capacity)


@given(capacity=st.integers(min_value=1, max_value=200), period=st.sampled_from(list(Period)))
def test_slot_windows_spread_every_number_evenly_over_the_session(capacity: int, period: Period) -> None:
    start, end = session_bounds(VISIT, period)

    slots = slot_windows(start, end, capacity)

    assert [s.number for s in slots] == list(range(1, capacity + 1))
    lengths = {s.ends_at - s.starts_at for s in slots}
    assert len(lengths) == 1
    [length] = lengths
    assert length in (timedelta(minutes=15), timedelta(minutes=30))
    for slot in slots:
        assert start <= slot.starts_at < slot.ends_at <= end
        assert (slot.starts_at - start) % length == timedelta(0)
    assert all(a.starts_at <= b.starts_at for a, b in pairwise(slots))
    n_windows = (end - start) // length
    per_window = Counter((s.starts_at - start) // length for s in slots)
    counts = [per_window.get(w, 0) for w in range(n_windows)]
    assert max(counts) - min(counts) <= 1


@given(capacity=st.integers(min_value=1, max_value=200), period=st.sampled_from(list(Period)))
def test_every_window_is_used_when_there_are_at_least_as_many_patients_as_windows(
    capacity: int, period: Period
) -> None:
    start, end = session_bounds(VISIT, period)

    slots = slot_windows(start, end, capacity)

    length = slots[0].ends_at - slots[0].starts_at
    n_windows = (end - start) // length
    used = {s.starts_at for s in slots}
    assert len(used) == min(capacity, n_windows)


# --- release (放号) -------------------------------------------------------------------------------


def test_slots_are_released_release_days_before_at_the_release_time() -> None:
    assert release_at(VISIT, release_days=7, release_time=time(8, 0)) == beijing(2026, 3, 2, 8, 0)


def test_release_is_expressed_in_beijing_time() -> None:
    released = release_at(VISIT, release_days=7, release_time=time(8, 0))

    assert released.utcoffset() == EIGHT_HOURS
    assert released.isoformat() == "2026-03-02T08:00:00+08:00"


@pytest.mark.parametrize(
    ("visit", "days", "at", "expected"),
    [
        (date(2026, 3, 3), 7, time(8, 0), beijing(2026, 2, 24, 8, 0)),
        (date(2024, 3, 5), 7, time(8, 0), beijing(2024, 2, 27, 8, 0)),
        (date(2024, 3, 1), 1, time(7, 30), beijing(2024, 2, 29, 7, 30)),
        (date(2026, 1, 3), 7, time(0, 0), beijing(2025, 12, 27, 0, 0)),
        (date(2026, 3, 9), 14, time(15, 0), beijing(2026, 2, 23, 15, 0)),
        (date(2026, 3, 9), 0, time(8, 0), beijing(2026, 3, 9, 8, 0)),
    ],
    ids=["month-boundary", "leap-february", "onto-feb-29", "year-boundary-midnight", "two-weeks", "same-day"],
)
def test_release_counts_calendar_days_back_across_boundaries(
    visit: date, days: int, at: time, expected: datetime
) -> None:
    assert release_at(visit, release_days=days, release_time=at) == expected


def test_a_midnight_release_is_the_previous_day_in_utc() -> None:
    released = release_at(VISIT, release_days=7, release_time=time(0, 0))

    assert released.astimezone(UTC) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


# --- cut-offs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "expected"), [(0, beijing(2026, 3, 9, 8, 0)), (30, beijing(2026, 3, 9, 7, 30))])
def test_booking_closes_stop_minutes_before_the_session_starts(minutes: int, expected: datetime) -> None:
    start, _ = session_bounds(VISIT, Period.MORNING)

    assert booking_closes_at(start, stop_minutes_before=minutes) == expected


def test_booking_can_close_the_evening_before_a_morning_session() -> None:
    start, _ = session_bounds(VISIT, Period.MORNING)

    assert booking_closes_at(start, stop_minutes_before=12 * 60) == beijing(2026, 3, 8, 20, 0)


@pytest.mark.parametrize(
    ("period", "minutes", "expected"),
    [
        (Period.MORNING, 120, beijing(2026, 3, 9, 6, 0)),
        (Period.AFTERNOON, 120, beijing(2026, 3, 9, 11, 30)),
        (Period.MORNING, 24 * 60, beijing(2026, 3, 8, 8, 0)),
        (Period.EVENING, 0, beijing(2026, 3, 9, 18, 0)),
    ],
)
def test_the_cancel_deadline_is_cancel_minutes_before_the_session_starts(
    period: Period, minutes: int, expected: datetime
) -> None:
    start, _ = session_bounds(VISIT, period)

    assert cancel_deadline(start, cancel_minutes_before=minutes) == expected


def test_cut_offs_are_the_same_instant_whatever_the_zone_of_the_start() -> None:
    start, _ = session_bounds(VISIT, Period.MORNING)

    in_utc = booking_closes_at(start.astimezone(UTC), stop_minutes_before=30)

    assert in_utc == booking_closes_at(start, stop_minutes_before=30)
    assert cancel_deadline(start.astimezone(UTC), cancel_minutes_before=90) == beijing(2026, 3, 9, 6, 30)
