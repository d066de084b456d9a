"""When a schedule can be booked and an appointment cancelled, with models built in memory (no session)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.rules import (
    BookingClosed,
    CancelDeadlinePassed,
    NotReleased,
    ScheduleSuspended,
    cancel_deadline,
    check_bookable,
    check_cancellable_in_time,
    is_cancellable,
)
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling.models import Period, Schedule, ScheduleStatus

VISIT = date(2026, 3, 9)
STARTS = datetime(2026, 3, 9, 8, 0, tzinfo=HOSPITAL_TZ)
RELEASE = datetime(2026, 3, 2, 8, 0, tzinfo=HOSPITAL_TZ)
SECOND = timedelta(seconds=1)


def hospital(*, stop_minutes_before: int = 0, cancel_minutes_before: int = 120) -> Hospital:
    return Hospital(
        id=1,
        name="测试人民医院",
        name_initials="csrmyy",
        level="三级甲等",
        city="北京",
        district="东城区",
        address="北京市东城区测试路1号",
        phone="010-12345678",
        intro="",
        release_days=7,
        release_time=time(8, 0),
        stop_minutes_before=stop_minutes_before,
        cancel_minutes_before=cancel_minutes_before,
        max_active_appointments=5,
        payment_required=False,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def schedule(*, status: str = ScheduleStatus.OPEN, utc: bool = True) -> Schedule:
    """A morning schedule on 2026-03-09 released 2026-03-02 08:00; instants in UTC as the database hands them back."""
    starts, ends = scheduling_rules.session_bounds(VISIT, Period.MORNING)
    release = scheduling_rules.release_at(VISIT, release_days=7, release_time=time(8, 0))
    if utc:
        starts, ends, release = (t.astimezone(UTC) for t in (starts, ends, release))
    return Schedule(
        id=7,
        hospital_id=1,
        department_id=2,
        doctor_id=3,
        visit_date=VISIT,
        period=Period.MORNING,
        starts_at=starts,
        ends_at=ends,
        capacity=30,
        fee_fen=5000,
        release_at=release,
        status=status,
    )


# --- booking --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [RELEASE, RELEASE + SECOND, datetime(2026, 3, 5, 12, 0, tzinfo=HOSPITAL_TZ), STARTS - SECOND],
    ids=["at-release", "just-after-release", "in-between", "last-second"],
)
def test_an_open_released_schedule_is_bookable_until_it_closes(now: datetime) -> None:
    check_bookable(schedule(), hospital(), now=now)


def test_booking_opens_exactly_at_the_release_instant() -> None:
    check_bookable(schedule(), hospital(), now=RELEASE)

    with pytest.raises(NotReleased):
        check_bookable(schedule(), hospital(), now=RELEASE - SECOND)


def test_the_same_instant_in_another_zone_gives_the_same_answer() -> None:
    check_bookable(schedule(), hospital(), now=RELEASE.astimezone(UTC))

    with pytest.raises(NotReleased):
        check_bookable(schedule(), hospital(), now=(RELEASE - SECOND).astimezone(UTC))


def test_a_suspended_schedule_cannot_be_booked() -> None:
    with pytest.raises(ScheduleSuspended):
        check_bookable(schedule(status=ScheduleStatus.SUSPENDED), hospital(), now=RELEASE + timedelta(days=1))


@pytest.mark.parametrize("now", [RELEASE - SECOND, STARTS, STARTS + timedelta(days=1)], ids=["early", "closed", "past"])
def test_suspension_is_reported_before_any_timing_rule(now: datetime) -> None:
    with pytest.raises(ScheduleSuspended):
        check_bookable(schedule(status=ScheduleStatus.SUSPENDED), hospital(), now=now)


@pytest.mark.parametrize("now", [STARTS, STARTS + SECOND, STARTS + timedelta(hours=5)], ids=["at", "after", "later"])
def test_booking_closes_when_the_session_starts_by_default(now: datetime) -> None:
    with pytest.raises(BookingClosed):
        check_bookable(schedule(), hospital(stop_minutes_before=0), now=now)


def test_booking_closes_stop_minutes_before_the_session() -> None:
    rules = hospital(stop_minutes_before=30)
    closes_at = STARTS - timedelta(minutes=30)

    check_bookable(schedule(), rules, now=closes_at - SECOND)
    with pytest.raises(BookingClosed):
        check_bookable(schedule(), rules, now=closes_at)
    with pytest.raises(BookingClosed):
        check_bookable(schedule(), rules, now=closes_at + SECOND)


def test_not_released_names_the_local_release_time() -> None:
    with pytest.raises(NotReleased) as caught:
        check_bookable(schedule(), hospital(), now=RELEASE - SECOND)

    assert "03月02日 08:00" in caught.value.text
    assert caught.value.text == "该日号源将于03月02日 08:00开放预约"


def test_not_released_gives_the_release_instant_in_its_detail() -> None:
    with pytest.raises(NotReleased) as caught:
        check_bookable(schedule(), hospital(), now=RELEASE - SECOND)

    assert datetime.fromisoformat(caught.value.detail["release_at"]) == RELEASE


def test_not_released_names_the_local_time_even_when_the_schedule_is_in_local_time() -> None:
    with pytest.raises(NotReleased) as caught:
        check_bookable(schedule(utc=False), hospital(), now=RELEASE - timedelta(days=3))

    assert "03月02日 08:00" in caught.value.text


def test_the_booking_errors_are_409_conflicts_with_stable_codes() -> None:
    assert [(e.status, e.code) for e in (NotReleased, BookingClosed, ScheduleSuspended, CancelDeadlinePassed)] == [
        (409, "NOT_RELEASED"),
        (409, "BOOKING_CLOSED"),
        (409, "SCHEDULE_SUSPENDED"),
        (409, "CANCEL_DEADLINE_PASSED"),
    ]


# --- cancelling in time ---------------------------------------------------------------------------


def test_the_cancel_deadline_is_cancel_minutes_before_the_session() -> None:
    assert cancel_deadline(schedule(), hospital(cancel_minutes_before=120)) == STARTS - timedelta(hours=2)


@pytest.mark.parametrize(
    "now",
    [RELEASE, STARTS - timedelta(hours=2, seconds=1), STARTS - timedelta(hours=2)],
    ids=["long-before", "a-second-before", "at-the-deadline"],
)
def test_cancelling_is_allowed_up_to_and_including_the_deadline(now: datetime) -> None:
    check_cancellable_in_time(schedule(), hospital(cancel_minutes_before=120), now=now)


@pytest.mark.parametrize(
    "now",
    [STARTS - timedelta(hours=2) + SECOND, STARTS, STARTS + timedelta(days=1)],
    ids=["a-second-after", "session-start", "next-day"],
)
def test_cancelling_after_the_deadline_is_refused(now: datetime) -> None:
    with pytest.raises(CancelDeadlinePassed) as caught:
        check_cancellable_in_time(schedule(), hospital(cancel_minutes_before=120), now=now)

    assert caught.value.text == "已过退号截止时间（03月09日 06:00），无法取消"


def test_a_zero_minute_deadline_allows_cancelling_until_the_session_starts() -> None:
    rules = hospital(cancel_minutes_before=0)

    check_cancellable_in_time(schedule(), rules, now=STARTS)
    with pytest.raises(CancelDeadlinePassed):
        check_cancellable_in_time(schedule(), rules, now=STARTS + SECOND)


# --- is_cancellable per appointment status -------------------------------------------------------

DEADLINE = STARTS - timedelta(hours=2)


def appointment(status: AppointmentStatus) -> Appointment:
    return Appointment(id=1, account_id=1, schedule_id=7, slot_id=1, visit_date=VISIT, queue_number=1, status=status)


@pytest.mark.parametrize(
    ("status", "before_deadline", "after_deadline"),
    [
        (AppointmentStatus.PENDING_PAYMENT, True, True),
        (AppointmentStatus.BOOKED, True, False),
        (AppointmentStatus.CHECKED_IN, False, False),
        (AppointmentStatus.COMPLETED, False, False),
        (AppointmentStatus.CANCELLED, False, False),
        (AppointmentStatus.EXPIRED, False, False),
        (AppointmentStatus.SUSPENDED, False, False),
        (AppointmentStatus.NO_SHOW, False, False),
    ],
)
def test_which_appointments_can_be_cancelled(
    status: AppointmentStatus, before_deadline: bool, after_deadline: bool
) -> None:
    assert is_cancellable(appointment(status), DEADLINE, DEADLINE - SECOND) is before_deadline
    assert is_cancellable(appointment(status), DEADLINE, DEADLINE + SECOND) is after_deadline


def test_a_booked_appointment_is_still_cancellable_at_the_deadline_itself() -> None:
    assert is_cancellable(appointment(AppointmentStatus.BOOKED), DEADLINE, DEADLINE) is True


@pytest.mark.parametrize("offset", [-60, -1, 0, 1, 60])
def test_is_cancellable_agrees_with_the_cancel_rule_for_a_booked_appointment(offset: int) -> None:
    now = DEADLINE + timedelta(seconds=offset)
    try:
        check_cancellable_in_time(schedule(), hospital(cancel_minutes_before=120), now=now)
        allowed = True
    except CancelDeadlinePassed:
        allowed = False

    assert is_cancellable(appointment(AppointmentStatus.BOOKED), DEADLINE, now) is allowed
