"""What a session holds and how its numbers change: on-site numbers (现场号), slot lengths, the checks on a
template cell or a session, the window for one-off sessions, and resizing before and after release.
Pure rules, no database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from yiyue.core.clock import HOSPITAL_TZ
from yiyue.scheduling.models import Period, Schedule, ScheduleStatus, SlotStatus
from yiyue.scheduling.rules import (
    CapacityBelowTaken,
    InvalidReleaseDays,
    InvalidSession,
    OnsiteSlotsTaken,
    ReleasedCapacityOnlyGrows,
    ReleasedOnsiteQuota,
    ScheduleState,
    VisitDateOutOfWindow,
    check_release_days,
    check_session,
    check_visit_date,
    plan_resize,
    schedule_state,
    session_bounds,
    session_problems,
    slot_status,
    slot_windows,
    template_cell_problems,
)

A = SlotStatus.AVAILABLE
S = SlotStatus.ONSITE  # kept on site
B = SlotStatus.BOOKED
H = SlotStatus.HELD
MONDAY_0900 = datetime(2026, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ)
TODAY = MONDAY_0900.date()


def layout(capacity: int, quota: int) -> dict[int, str]:
    return {n: slot_status(n, capacity, quota) for n in range(1, capacity + 1)}


# --- on-site numbers --------------------------------------------------------------------------------


def test_the_last_numbers_of_a_session_are_kept_for_walk_ins() -> None:
    assert [slot_status(n, 10, 3) for n in range(1, 11)] == [A] * 7 + [S] * 3


def test_without_a_quota_every_number_is_booked_online_and_with_a_full_quota_none() -> None:
    assert set(layout(5, 0).values()) == {A}
    assert set(layout(5, 5).values()) == {S}


# --- slot lengths -----------------------------------------------------------------------------------


def test_a_chosen_slot_length_sets_every_window() -> None:
    start, end = session_bounds(date(2026, 3, 9), Period.MORNING)

    slots = slot_windows(start, end, 24, minutes=20)

    assert {s.ends_at - s.starts_at for s in slots} == {timedelta(minutes=20)}
    assert slots[0].starts_at == start and slots[-1].starts_at == start + timedelta(minutes=220)
    assert [s.number for s in slots] == list(range(1, 25))


def test_without_a_chosen_length_windows_stay_15_or_30_minutes() -> None:
    start, end = session_bounds(date(2026, 3, 9), Period.MORNING)

    assert slot_windows(start, end, 30)[0].ends_at - start == timedelta(minutes=15)
    assert slot_windows(start, end, 8)[0].ends_at - start == timedelta(minutes=30)


# --- what a session and a template cell may hold ----------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "quota", "minutes", "field"),
    [
        (0, 0, None, "capacity"),
        (201, 0, None, "capacity"),
        (10, 11, None, "onsite_quota"),
        (10, -1, None, "onsite_quota"),
        (10, 0, 9, "slot_minutes"),
        (10, 0, 61, "slot_minutes"),
    ],
)
def test_a_session_out_of_bounds_names_the_field_in_chinese(
    capacity: int, quota: int, minutes: int | None, field: str
) -> None:
    problems = session_problems(capacity, quota, minutes)

    assert list(problems) == [field]
    with pytest.raises(InvalidSession) as refused:
        check_session(capacity, quota, minutes)
    assert refused.value.detail == problems and refused.value.status == 422


@pytest.mark.parametrize(("capacity", "quota", "minutes"), [(1, 0, None), (200, 200, 60), (20, 5, 10)])
def test_sessions_within_bounds_pass(capacity: int, quota: int, minutes: int | None) -> None:
    assert session_problems(capacity, quota, minutes) == {}


def test_an_empty_template_cell_is_no_session_but_may_not_carry_other_numbers() -> None:
    assert template_cell_problems(0, 0, None) == {}
    assert template_cell_problems(0, 2, None) == {"capacity": "请填写号源数，或清空本格"}
    assert template_cell_problems(0, 0, 20) == {"capacity": "请填写号源数，或清空本格"}
    assert template_cell_problems(12, 13, None) == {"onsite_quota": "现场号不能多于号源数"}


# --- the window of a one-off session ----------------------------------------------------------------


def test_a_one_off_session_is_for_a_period_not_begun_and_at_most_four_weeks_past_the_window() -> None:
    def check(day: date, period: Period) -> None:
        check_visit_date(day, period, now=MONDAY_0900, today=TODAY, release_days=7)

    check(TODAY, Period.AFTERNOON)
    check(TODAY + timedelta(days=35), Period.EVENING)
    for day, period in [(TODAY, Period.MORNING), (TODAY - timedelta(days=1), Period.EVENING)]:
        with pytest.raises(VisitDateOutOfWindow):
            check(day, period)
    with pytest.raises(VisitDateOutOfWindow) as refused:
        check(TODAY + timedelta(days=36), Period.MORNING)
    assert "2026-04-06" in refused.value.text


def test_release_now_takes_one_day_to_the_release_period() -> None:
    check_release_days(1, release_days=7)
    check_release_days(7, release_days=7)
    for days in (0, 8):
        with pytest.raises(InvalidReleaseDays):
            check_release_days(days, release_days=7)


# --- resizing before release ------------------------------------------------------------------------


def test_before_release_growing_appends_numbers_and_moves_the_on_site_numbers_to_the_end() -> None:
    plan = plan_resize(layout(10, 2), capacity=12, onsite_quota=3, old_quota=2, released=False)

    assert plan.remove == () and plan.add == (11, 12)
    assert plan.statuses == layout(12, 3)


def test_before_release_shrinking_removes_free_numbers_at_the_end() -> None:
    slots = {**layout(10, 0), 2: B, 4: H}

    plan = plan_resize(slots, capacity=6, onsite_quota=2, old_quota=0, released=False)

    assert plan.remove == (7, 8, 9, 10) and plan.add == ()
    assert plan.statuses == {1: A, 3: A, 5: S, 6: S}  # taken numbers keep their state


def test_before_release_never_below_the_highest_number_taken() -> None:
    slots = {**layout(10, 0), 7: B}

    with pytest.raises(CapacityBelowTaken) as refused:
        plan_resize(slots, capacity=6, onsite_quota=0, old_quota=0, released=False)
    assert "7号" in refused.value.text


def test_before_release_on_site_numbers_must_be_free() -> None:
    slots = {**layout(10, 0), 9: B}

    with pytest.raises(OnsiteSlotsTaken) as refused:
        plan_resize(slots, capacity=10, onsite_quota=2, old_quota=0, released=False)
    assert "最多1个" in refused.value.text
    plan_resize(slots, capacity=10, onsite_quota=1, old_quota=0, released=False)


# --- resizing after release -------------------------------------------------------------------------


def test_after_release_appended_numbers_are_booked_online_and_the_kept_ones_stay() -> None:
    plan = plan_resize(layout(10, 2), capacity=13, onsite_quota=2, old_quota=2, released=True)

    assert plan.remove == () and plan.add == (11, 12, 13)
    assert plan.statuses == {11: A, 12: A, 13: A}


def test_after_release_the_on_site_quota_grows_only_with_the_appended_numbers() -> None:
    plan = plan_resize(layout(10, 2), capacity=13, onsite_quota=4, old_quota=2, released=True)

    assert plan.statuses == {11: A, 12: S, 13: S}
    with pytest.raises(ReleasedOnsiteQuota):
        plan_resize(layout(10, 2), capacity=11, onsite_quota=4, old_quota=2, released=True)
    with pytest.raises(ReleasedOnsiteQuota):
        plan_resize(layout(10, 2), capacity=10, onsite_quota=1, old_quota=2, released=True)


def test_after_release_the_numbers_never_shrink() -> None:
    with pytest.raises(ReleasedCapacityOnlyGrows):
        plan_resize(layout(10, 0), capacity=9, onsite_quota=0, old_quota=0, released=True)


# --- a schedule's state -----------------------------------------------------------------------------


def schedule(day: date, status: str = ScheduleStatus.OPEN, released_days_before: int = 7) -> Schedule:
    starts_at, ends_at = session_bounds(day, Period.MORNING)
    release = datetime.combine(day - timedelta(days=released_days_before), time(8, 0), tzinfo=HOSPITAL_TZ)
    return Schedule(starts_at=starts_at, ends_at=ends_at, release_at=release, status=status)


def test_a_schedule_is_open_unreleased_in_session_suspended_or_over() -> None:
    assert schedule_state(schedule(TODAY + timedelta(days=7)), now=MONDAY_0900) == ScheduleState.OPEN
    assert schedule_state(schedule(TODAY), now=MONDAY_0900) == ScheduleState.IN_SESSION  # the morning began at 08:00
    assert schedule_state(schedule(TODAY + timedelta(days=8)), now=MONDAY_0900) == ScheduleState.UNRELEASED
    assert schedule_state(schedule(TODAY, ScheduleStatus.SUSPENDED), now=MONDAY_0900) == ScheduleState.SUSPENDED
    assert schedule_state(schedule(TODAY - timedelta(days=1)), now=MONDAY_0900) == ScheduleState.OVER


def test_refusals_about_the_numbers_come_before_those_about_the_quota() -> None:
    with pytest.raises(ReleasedCapacityOnlyGrows):
        plan_resize(layout(10, 2), capacity=1, onsite_quota=2, old_quota=2, released=True)
    with pytest.raises(InvalidSession) as refused:
        plan_resize(layout(10, 0), capacity=10, onsite_quota=12, old_quota=0, released=False)
    assert refused.value.detail == {"onsite_quota": "现场号不能多于号源数"}
