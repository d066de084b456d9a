"""Pure booking rules: when a schedule can be booked and an appointment cancelled. No database."""

from __future__ import annotations

from datetime import datetime

from yiyue.booking.errors import HospitalClosed
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.errors import Conflict
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling.models import Schedule, ScheduleStatus


class NotReleased(Conflict):
    code = "NOT_RELEASED"
    message = "该日号源尚未开放预约"


class BookingClosed(Conflict):
    code = "BOOKING_CLOSED"
    message = "该时段已停止预约"


class ScheduleSuspended(Conflict):
    code = "SCHEDULE_SUSPENDED"
    message = "该医生此时段已停诊"


class CancelDeadlinePassed(Conflict):
    code = "CANCEL_DEADLINE_PASSED"
    message = "已过退号截止时间，无法取消"


def check_bookable(schedule: Schedule, hospital: Hospital, *, now: datetime) -> None:
    """The hospital takes online bookings; the schedule is open, released (放号), and before the hospital's
    cut-off for the session."""
    if hospital.booking_open is False:  # (None on a hospital not yet saved: the column's default, open)
        raise HospitalClosed()
    if schedule.status == ScheduleStatus.SUSPENDED:
        raise ScheduleSuspended()
    closes_at = scheduling_rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)
    if now >= closes_at:
        raise BookingClosed()
    if now < schedule.release_at:
        release = schedule.release_at.astimezone(HOSPITAL_TZ)
        raise NotReleased(
            f"该日号源将于{release:%m月%d日 %H:%M}开放预约", detail={"release_at": schedule.release_at.isoformat()}
        )


def cancel_deadline(schedule: Schedule, hospital: Hospital) -> datetime:
    return scheduling_rules.cancel_deadline(schedule.starts_at, cancel_minutes_before=hospital.cancel_minutes_before)


def check_cancellable_in_time(schedule: Schedule, hospital: Hospital, *, now: datetime) -> None:
    deadline = cancel_deadline(schedule, hospital)
    if now > deadline:
        local = deadline.astimezone(HOSPITAL_TZ)
        raise CancelDeadlinePassed(f"已过退号截止时间（{local:%m月%d日 %H:%M}），无法取消")


def is_cancellable(appointment: Appointment, deadline: datetime, now: datetime) -> bool:
    """An unpaid hold can always be let go; a booking until the cancel deadline (退号截止)."""
    if appointment.status == AppointmentStatus.PENDING_PAYMENT:
        return True
    return appointment.status == AppointmentStatus.BOOKED and now <= deadline
