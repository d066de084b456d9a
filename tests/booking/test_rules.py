"""When a schedule can be booked and an appointment cancelled, with models built in memory (no session)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from yiyue.booking.errors import NotCancellable
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.rules import (
    BookingClosed,
    CancelDeadlinePassed,
    CancelTerms,
    NotReleased,
    ScheduleSuspended,
    cancel_deadline,
    cancel_terms,
    check_bookable,
    money_state,
    payment_notice,
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


DEADLINE = STARTS - timedelta(hours=2)
PAY_DEADLINE = RELEASE + timedelta(minutes=15)


def appointment(
    status: AppointmentStatus, *, paid_at: datetime | None = None, pay_deadline: datetime | None = None, fee: int = 5000
) -> Appointment:
    return Appointment(
        id=1,
        account_id=1,
        schedule_id=7,
        slot_id=1,
        visit_date=VISIT,
        queue_number=1,
        status=status,
        fee_fen=fee,
        paid_at=paid_at,
        pay_deadline=pay_deadline,
    )


def terms(a: Appointment, now: datetime, *, cancel_minutes_before: int = 120) -> CancelTerms:
    rules = hospital(cancel_minutes_before=cancel_minutes_before)
    return cancel_terms(a, rules, cancel_deadline(schedule(), rules), now=now)


@pytest.mark.parametrize(
    "now",
    [RELEASE, STARTS - timedelta(hours=2, seconds=1), STARTS - timedelta(hours=2)],
    ids=["long-before", "a-second-before", "at-the-deadline"],
)
def test_cancelling_a_booking_is_allowed_up_to_and_including_the_deadline(now: datetime) -> None:
    found = terms(appointment(AppointmentStatus.BOOKED), now)

    assert found.cancellable is True
    assert found.refusal is None
    assert found.rule == "就诊前2小时（03月09日 06:00前）可取消"


@pytest.mark.parametrize(
    "now",
    [STARTS - timedelta(hours=2) + SECOND, STARTS, STARTS + timedelta(days=1)],
    ids=["a-second-after", "session-start", "next-day"],
)
def test_cancelling_after_the_deadline_is_refused_with_the_deadline_in_words(now: datetime) -> None:
    found = terms(appointment(AppointmentStatus.BOOKED), now)

    assert found.cancellable is False
    assert isinstance(found.refusal, CancelDeadlinePassed)
    assert found.refusal.text == "已过退号截止时间（03月09日 06:00），无法取消"
    assert found.rule == "已过退号截止时间（03月09日 06:00），不可取消"


def test_a_zero_minute_deadline_allows_cancelling_until_the_session_starts() -> None:
    booked = appointment(AppointmentStatus.BOOKED)

    assert terms(booked, STARTS, cancel_minutes_before=0).cancellable is True
    assert terms(booked, STARTS + SECOND, cancel_minutes_before=0).cancellable is False


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
    assert terms(appointment(status), DEADLINE - SECOND).cancellable is before_deadline
    assert terms(appointment(status), DEADLINE + SECOND).cancellable is after_deadline


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (AppointmentStatus.CHECKED_IN, "已签到，不能取消"),
        (AppointmentStatus.CANCELLED, "该预约已取消"),
        (AppointmentStatus.SUSPENDED, "医生已停诊，该预约已自动取消，无需再取消"),
    ],
)
def test_what_cannot_be_cancelled_at_all_is_refused_with_its_real_reason(status: AppointmentStatus, why: str) -> None:
    found = terms(appointment(status), RELEASE)

    assert isinstance(found.refusal, NotCancellable) and found.refusal.text == why
    assert found.rule == why


def test_a_paid_booking_is_refunded_on_cancel_and_says_so() -> None:
    paid = appointment(AppointmentStatus.BOOKED, paid_at=RELEASE, pay_deadline=PAY_DEADLINE)

    found = terms(paid, RELEASE)

    assert found.refund_on_cancel is True
    assert found.rule.endswith("已支付的挂号费原路全额退回")


def test_an_unpaid_hold_can_be_let_go_without_any_refund() -> None:
    found = terms(appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=PAY_DEADLINE), STARTS)

    assert (found.cancellable, found.refund_on_cancel) == (True, False)
    assert "尚未支付" in found.rule


# --- the money as the patient reads it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "expected"),
    [
        (appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=PAY_DEADLINE), ("unpaid", "待支付")),
        (appointment(AppointmentStatus.EXPIRED, pay_deadline=PAY_DEADLINE), ("unpaid", "未支付")),
        (appointment(AppointmentStatus.BOOKED, paid_at=RELEASE, pay_deadline=PAY_DEADLINE), ("paid", "已支付")),
        # A booking made before payments noted the time: only a payment books a hold.
        (appointment(AppointmentStatus.BOOKED, pay_deadline=PAY_DEADLINE), ("paid", "已支付")),
        (appointment(AppointmentStatus.BOOKED), ("pay_on_site", "到院支付")),
        (appointment(AppointmentStatus.BOOKED, fee=0), ("not_required", "无需支付")),
    ],
    ids=["pending", "expired-unpaid", "paid", "paid-before-the-note", "on-site", "free"],
)
def test_the_money_state_of_an_appointment(a: Appointment, expected: tuple[str, str]) -> None:
    assert money_state(a) == expected


@pytest.mark.parametrize(
    ("refund_status", "expected"),
    [
        ("processing", ("refunding", "退款中")),
        ("abnormal", ("refunding", "退款中")),
        ("succeeded", ("refunded", "已退款")),
    ],
)
def test_a_refund_decides_the_money_state_once_it_exists(refund_status: str, expected: tuple[str, str]) -> None:
    a = appointment(AppointmentStatus.CANCELLED, paid_at=RELEASE, pay_deadline=PAY_DEADLINE)
    a.refund_status = refund_status

    assert money_state(a) == expected


# --- what is said before paying ------------------------------------------------------------------


def test_paying_a_hold_after_the_refund_deadline_is_warned_about() -> None:
    now = DEADLINE + timedelta(minutes=1)
    hold = appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=now + timedelta(minutes=15))

    assert payment_notice(hold, schedule(), DEADLINE, now=now) == "就诊当日预约，支付后不可取消退款"


def test_a_hold_whose_refund_deadline_passes_during_the_payment_window_says_when() -> None:
    now = DEADLINE - timedelta(minutes=5)
    hold = appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=now + timedelta(minutes=15))

    assert payment_notice(hold, schedule(), DEADLINE, now=now) == "退号截止时间为03月09日 06:00，此后支付将不可取消退款"


def test_a_hold_well_before_the_deadline_needs_no_warning() -> None:
    hold = appointment(AppointmentStatus.PENDING_PAYMENT, pay_deadline=PAY_DEADLINE)

    assert payment_notice(hold, schedule(), DEADLINE, now=RELEASE) is None


def test_booking_the_day_before_after_the_deadline_names_the_deadline() -> None:
    deadline = datetime(2026, 3, 9, 6, 0, tzinfo=HOSPITAL_TZ)
    at = datetime(2026, 3, 8, 23, 0, tzinfo=HOSPITAL_TZ)
    starts = datetime(2026, 3, 9, 0, 30, tzinfo=HOSPITAL_TZ) + timedelta(hours=7, minutes=30)

    notice = scheduling_rules.late_booking_notice(starts_at=starts, deadline=at - SECOND, pay_first=False, at=at)

    assert notice == "已过退号截止时间（03月08日 22:59），预约后不可取消"
    assert scheduling_rules.late_booking_notice(starts_at=starts, deadline=deadline, pay_first=True, at=at) is None
