"""今日概览: one day of a hospital's clinic at a glance, and of every hospital for the platform.

Counted on the hospital's local date. A session (排班) counts once whatever its state; its capacity
counts only while it is open (a 停诊 session offers nothing). "Booked" is every appointment that holds
its slot (pending payment, booked, checked in, completed, no-show), split by channel; "checked in" is
everyone who arrived (checked in or already completed); cancellations are the appointments cancelled
during that day, whatever their visit date. A doctor sees only their own sessions and patients.
Nothing here writes, so nothing is audited (no patient is named).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import require_role
from yiyue.booking.models import OCCUPYING, Appointment, AppointmentStatus
from yiyue.core.clock import at_local, local_today
from yiyue.frontdesk.service import staff_hospital
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling.models import Schedule, ScheduleStatus

UPCOMING = 8
"""How many of the next sessions the overview lists."""
ARRIVED = (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)


@dataclass
class Tally:
    """What a set of sessions holds: sessions, capacity and the appointments in it."""

    sessions: int = 0
    suspended: int = 0
    capacity_online: int = 0
    capacity_onsite: int = 0
    booked_online: int = 0
    booked_onsite: int = 0
    checked_in: int = 0
    completed: int = 0
    no_shows: int = 0

    @property
    def capacity(self) -> int:
        return self.capacity_online + self.capacity_onsite

    @property
    def booked(self) -> int:
        return self.booked_online + self.booked_onsite

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class SessionLoad:
    """One session of the day and how full it is."""

    schedule_id: int
    department_id: int
    department_name: str
    doctor_id: int
    doctor_name: str
    doctor_title: str
    period: str
    starts_at: datetime
    ends_at: datetime
    status: str
    tally: Tally

    def running(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class DepartmentLoad:
    department_id: int
    name: str
    tally: Tally


@dataclass(frozen=True)
class HospitalDay:
    hospital_id: int
    hospital_name: str
    booking_open: bool
    day: date
    tally: Tally
    cancelled: int
    departments: list[DepartmentLoad]
    upcoming: list[SessionLoad]
    """The sessions of the day that have not ended yet, the earliest first (open ones only)."""


@dataclass(frozen=True)
class HospitalLine:
    """The platform's row for one hospital."""

    hospital_id: int
    name: str
    city: str
    booking_open: bool
    tally: Tally = field(default_factory=Tally)


async def hospital_day(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, day: date | None, now: datetime
) -> HospitalDay:
    """The day (default: today) of the staff user's hospital; a platform admin names the hospital.

    Another hospital than one's own, or one that does not exist, is not found.
    """
    scope = staff_hospital(staff, hospital_id)
    hospital = await session.get(Hospital, scope)
    if hospital is None:
        raise HospitalNotFound()
    day = day or local_today(now)
    doctor_id = staff.doctor_id if staff.role == StaffRole.DOCTOR else None

    query = (
        select(Schedule, Department.name, Doctor.name, Doctor.title)
        .join(Department, Department.id == Schedule.department_id)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .where(Schedule.hospital_id == scope, Schedule.visit_date == day)
        .order_by(Schedule.starts_at, Doctor.name, Schedule.id)
    )
    if doctor_id is not None:
        query = query.where(Schedule.doctor_id == doctor_id)
    schedules = (await session.execute(query)).all()

    counts = select(Appointment.schedule_id, Appointment.status, Appointment.channel, func.count()).where(
        Appointment.hospital_id == scope, Appointment.visit_date == day
    )
    if doctor_id is not None:
        counts = counts.where(Appointment.doctor_id == doctor_id)
    per_schedule: dict[int, Tally] = defaultdict(Tally)
    for schedule_id, status, channel, n in await session.execute(
        counts.group_by(Appointment.schedule_id, Appointment.status, Appointment.channel)
    ):
        _count(per_schedule[schedule_id], status, channel, n)

    loads = []
    for schedule, department_name, doctor_name, doctor_title in schedules:
        tally = per_schedule.get(schedule.id, Tally())
        tally.sessions = 1
        if schedule.status == ScheduleStatus.SUSPENDED:
            tally.suspended = 1
        else:
            tally.capacity_onsite = schedule.onsite_quota
            tally.capacity_online = schedule.capacity - schedule.onsite_quota
        loads.append(
            SessionLoad(
                schedule_id=schedule.id,
                department_id=schedule.department_id,
                department_name=department_name,
                doctor_id=schedule.doctor_id,
                doctor_name=doctor_name,
                doctor_title=doctor_title,
                period=schedule.period,
                starts_at=schedule.starts_at,
                ends_at=schedule.ends_at,
                status=schedule.status,
                tally=tally,
            )
        )

    total = Tally()
    by_department: dict[int, DepartmentLoad] = {}
    for load in loads:
        total.add(load.tally)
        department = by_department.setdefault(
            load.department_id, DepartmentLoad(load.department_id, load.department_name, Tally())
        )
        department.tally.add(load.tally)
    departments = sorted(by_department.values(), key=lambda d: (-d.tally.capacity, -d.tally.booked, d.name))
    upcoming = [s for s in loads if s.ends_at > now and s.status == ScheduleStatus.OPEN][:UPCOMING]

    return HospitalDay(
        hospital_id=hospital.id,
        hospital_name=hospital.name,
        booking_open=hospital.booking_open,
        day=day,
        tally=total,
        cancelled=await _cancelled_during(session, hospital_id=scope, doctor_id=doctor_id, day=day),
        departments=departments,
        upcoming=upcoming,
    )


async def platform_day(
    session: AsyncSession, *, staff: StaffUser, day: date | None, now: datetime
) -> list[HospitalLine]:
    """Every hospital's day (default: today), for the platform administrator: sessions, booked and
    capacity, and whether the hospital is open for booking."""
    require_role(staff, StaffRole.PLATFORM_ADMIN)
    day = day or local_today(now)
    lines = {
        h.id: HospitalLine(hospital_id=h.id, name=h.name, city=h.city, booking_open=h.booking_open)
        for h in await session.scalars(select(Hospital).order_by(Hospital.id))
    }
    sessions = select(
        Schedule.hospital_id,
        Schedule.status,
        func.count(),
        func.coalesce(func.sum(Schedule.capacity - Schedule.onsite_quota), 0),
        func.coalesce(func.sum(Schedule.onsite_quota), 0),
    ).where(Schedule.visit_date == day)
    for hospital_id, status, n, online, onsite in await session.execute(
        sessions.group_by(Schedule.hospital_id, Schedule.status)
    ):
        tally = lines[hospital_id].tally
        tally.sessions += n
        if status == ScheduleStatus.SUSPENDED:
            tally.suspended += n
        else:
            tally.capacity_online += int(online)
            tally.capacity_onsite += int(onsite)
    counts = select(Appointment.hospital_id, Appointment.status, Appointment.channel, func.count()).where(
        Appointment.visit_date == day
    )
    for hospital_id, status, channel, n in await session.execute(
        counts.group_by(Appointment.hospital_id, Appointment.status, Appointment.channel)
    ):
        _count(lines[hospital_id].tally, status, channel, n)
    return list(lines.values())


def _count(tally: Tally, status: str, channel: str, n: int) -> None:
    if status in OCCUPYING:
        if channel == "onsite":
            tally.booked_onsite += n
        else:
            tally.booked_online += n
    if status in ARRIVED:
        tally.checked_in += n
    if status == AppointmentStatus.COMPLETED:
        tally.completed += n
    if status == AppointmentStatus.NO_SHOW:
        tally.no_shows += n


async def _cancelled_during(session: AsyncSession, *, hospital_id: int, doctor_id: int | None, day: date) -> int:
    starts = at_local(day, time.min)
    query = select(func.count()).where(
        Appointment.hospital_id == hospital_id,
        Appointment.status == AppointmentStatus.CANCELLED,
        Appointment.cancelled_at >= starts,
        Appointment.cancelled_at < starts + timedelta(days=1),
    )
    if doctor_id is not None:
        query = query.where(Appointment.doctor_id == doctor_id)
    return int(await session.scalar(query) or 0)
