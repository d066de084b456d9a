"""Staff operations on appointments (医院工作人员): the hospital's day (list, search, its sessions),
check-in (签到), completion and 停诊. Role and hospital scope are checked here; another hospital's record
is answered as not found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking import gate as inventory
from yiyue.booking import read_model, rebook, waitlist
from yiyue.booking import rules as booking_rules
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.lifecycle import refund_owed, transition
from yiyue.booking.models import ACTIVE, Appointment, AppointmentStatus
from yiyue.core import audit, outbox
from yiyue.core.clock import local_today
from yiyue.core.db import begin_write
from yiyue.core.events import AppointmentCheckedIn, AppointmentCompleted, AppointmentSuspended
from yiyue.frontdesk.errors import (
    CheckInCodeAmbiguous,
    CheckInCodeNotFound,
    HospitalRequired,
    NotCheckable,
    NotCompletable,
    ScheduleAlreadyOver,
    ScheduleAlreadySuspended,
)
from yiyue.frontdesk.rules import CHECK_IN_ROLES, SUSPEND_ROLES, Search, SearchKind, check_in_window
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus, Slot, SlotStatus


@dataclass(frozen=True)
class AppointmentFilter:
    visit_date: date | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    statuses: list[AppointmentStatus] | None = None
    search: Search | None = None
    """Check-in code, the end of the phone number, or (part of) the visit person's name."""


def staff_hospital(staff: StaffUser, hospital_id: int | None) -> int:
    """The hospital a staff request is about: their own; for a platform admin, the one they name.

    Naming another hospital than one's own is answered as not found, like any of its records.
    """
    if staff.role == StaffRole.PLATFORM_ADMIN:
        if hospital_id is None:
            raise HospitalRequired()
        return hospital_id
    if hospital_id is not None:
        require_hospital(staff, hospital_id, not_found=HospitalNotFound)
    assert staff.hospital_id is not None  # the staff_users check constraint guarantees it
    return staff.hospital_id


async def list_appointments(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    filters: AppointmentFilter,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[Appointment], int]:
    """The appointments of the staff user's hospital (read model), in visiting order; a doctor sees only
    their own.

    The access is audited: one row naming the hospital, the filters and the appointments shown.
    """
    scope = staff_hospital(staff, hospital_id)
    conditions = [Appointment.hospital_id == scope]
    if staff.role == StaffRole.DOCTOR:
        conditions.append(Appointment.doctor_id == staff.doctor_id)
    if filters.visit_date is not None:
        conditions.append(Appointment.visit_date == filters.visit_date)
    if filters.department_id is not None:
        conditions.append(Appointment.department_id == filters.department_id)
    if filters.doctor_id is not None:
        conditions.append(Appointment.doctor_id == filters.doctor_id)
    if filters.statuses:
        conditions.append(Appointment.status.in_(filters.statuses))
    search = filters.search
    if search is not None and search.kind == SearchKind.CODE:
        conditions.append(Appointment.check_in_code == search.value)
    elif search is not None and search.kind == SearchKind.PHONE_TAIL:
        conditions.append(VisitPerson.phone_masked.endswith(search.value, autoescape=True))
    elif search is not None:
        conditions.append(VisitPerson.name.contains(search.value, autoescape=True))
    person = VisitPerson.id == Appointment.visit_person_id
    total = await session.scalar(
        select(func.count()).select_from(Appointment).join(VisitPerson, person).where(*conditions)
    )
    page = await session.scalars(
        read_model.with_details()
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .join(VisitPerson, person)
        .where(*conditions)
        .order_by(
            Appointment.visit_date,
            Schedule.starts_at,
            Appointment.department_id,
            Appointment.doctor_id,
            Appointment.queue_number,
            Appointment.id,
        )
        .offset(offset)
        .limit(limit)
    )
    rows = list(page.unique())
    await begin_write(session)
    audit.record(
        session,
        actor=actor(staff),
        action="appointment.list",
        subject=f"hospital:{scope}",
        at=now,
        hospital_id=scope,
        detail={
            "filters": {
                "date": filters.visit_date.isoformat() if filters.visit_date else None,
                "department_id": filters.department_id,
                "doctor_id": filters.doctor_id,
                "status": [s.value for s in filters.statuses or []],
                # What was searched by, never the value: a name or the end of a phone number is personal.
                "search": search.kind.value if search is not None else None,
            },
            "appointment_ids": [a.id for a in rows],
            "total": int(total or 0),
        },
    )
    return rows, int(total or 0)


async def get_appointment(
    session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime
) -> Appointment:
    """One appointment (read model) as staff see it: any of the staff user's hospital (a doctor: their own
    patients; a platform admin: any). The access is audited."""
    appointment = await read_model.load_one(session, appointment_id)
    require_hospital(staff, appointment.hospital_id, not_found=AppointmentNotFound)
    if staff.role == StaffRole.DOCTOR and appointment.doctor_id != staff.doctor_id:
        raise AppointmentNotFound()
    await begin_write(session)
    audit.record(
        session,
        actor=actor(staff),
        action="appointment.view",
        subject=f"appointment:{appointment.id}",
        at=now,
        hospital_id=appointment.hospital_id,
    )
    return appointment


@dataclass
class SessionCounts:
    """Where the patients of one session (排班) stand."""

    booked: int = 0
    """Waiting: booked, not checked in yet."""
    pending_payment: int = 0
    """Held for an online payment that has not arrived yet."""
    checked_in: int = 0
    completed: int = 0
    no_show: int = 0
    cancelled: int = 0
    """Cancelled, expired or suspended: gone from the session."""

    @property
    def total(self) -> int:
        return self.booked + self.pending_payment + self.checked_in + self.completed + self.no_show


_COUNTED_AS = {
    AppointmentStatus.PENDING_PAYMENT: "pending_payment",
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "checked_in",
    AppointmentStatus.COMPLETED: "completed",
    AppointmentStatus.NO_SHOW: "no_show",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.EXPIRED: "cancelled",
    AppointmentStatus.SUSPENDED: "cancelled",
}


@dataclass(frozen=True)
class DaySession:
    """One session of the day with its doctor, clinic and counts."""

    schedule: Schedule
    department: Department
    doctor: Doctor
    counts: SessionCounts = field(default_factory=SessionCounts)
    online_left: int = 0
    onsite_left: int = 0


async def day_sessions(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    day: date,
    department_id: int | None = None,
    doctor_id: int | None = None,
) -> list[DaySession]:
    """The sessions (排班) of a day at the staff user's hospital (a doctor: their own), in visiting order,
    each with how many patients wait, have checked in, were seen or did not come, and the slots left.
    No patient is named, so nothing is audited."""
    scope = staff_hospital(staff, hospital_id)
    query = (
        select(Schedule, Department, Doctor)
        .join(Department, Department.id == Schedule.department_id)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .where(Schedule.hospital_id == scope, Schedule.visit_date == day)
        .order_by(Schedule.starts_at, Schedule.department_id, Schedule.doctor_id)
    )
    if staff.role == StaffRole.DOCTOR:
        query = query.where(Schedule.doctor_id == staff.doctor_id)
    if department_id is not None:
        query = query.where(Schedule.department_id == department_id)
    if doctor_id is not None:
        query = query.where(Schedule.doctor_id == doctor_id)
    found = [tuple(row) for row in await session.execute(query)]
    ids = [schedule.id for schedule, _, _ in found]
    if not ids:
        return []
    counts: dict[int, SessionCounts] = {i: SessionCounts() for i in ids}
    for schedule_id, status, n in await session.execute(
        select(Appointment.schedule_id, Appointment.status, func.count())
        .where(Appointment.schedule_id.in_(ids))
        .group_by(Appointment.schedule_id, Appointment.status)
    ):
        bucket = _COUNTED_AS[AppointmentStatus(status)]
        setattr(counts[schedule_id], bucket, getattr(counts[schedule_id], bucket) + int(n))
    left: Counter[tuple[int, str]] = Counter()
    for schedule_id, status, n in await session.execute(
        select(Slot.schedule_id, Slot.status, func.count())
        .where(Slot.schedule_id.in_(ids), Slot.status.in_([SlotStatus.AVAILABLE, SlotStatus.ONSITE]))
        .group_by(Slot.schedule_id, Slot.status)
    ):
        left[(schedule_id, status)] = int(n)
    return [
        DaySession(
            schedule=schedule,
            department=department,
            doctor=doctor,
            counts=counts[schedule.id],
            online_left=left[(schedule.id, SlotStatus.AVAILABLE)],
            onsite_left=left[(schedule.id, SlotStatus.ONSITE)],
        )
        for schedule, department, doctor in found
    ]


@dataclass(frozen=True)
class FilterChoices:
    """The clinics and doctors of a hospital, for the filters of the day list."""

    departments: list[Department]
    doctors: list[Doctor]


async def filter_choices(session: AsyncSession, *, staff: StaffUser, hospital_id: int | None) -> FilterChoices:
    scope = staff_hospital(staff, hospital_id)
    departments = await session.scalars(
        select(Department)
        .where(Department.hospital_id == scope, Department.parent_id.is_not(None))
        .order_by(Department.sort_order, Department.id)
    )
    doctors = select(Doctor).where(Doctor.hospital_id == scope).order_by(Doctor.department_id, Doctor.id)
    if staff.role == StaffRole.DOCTOR:
        doctors = doctors.where(Doctor.id == staff.doctor_id)
    return FilterChoices(list(departments), list(await session.scalars(doctors)))


async def check_in(session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime) -> Appointment:
    """Checks a patient in (签到) by appointment id: ``booked -> checked_in`` within the check-in window.

    Hospital admins and doctors of the appointment's hospital (a doctor: their own patients only);
    anyone else's appointment is not found.
    """
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await for_update(session, staff=staff, appointment_id=appointment_id)
    return await _check_in(session, staff=staff, appointment=appointment, via="id", now=now)


async def check_in_by_code(
    session: AsyncSession, *, staff: StaffUser, code: str, schedule_id: int | None, now: datetime
) -> Appointment:
    """Checks a patient in by the 8-digit code they show (签到码).

    A code is unique only among the active appointments of a day, so it is looked up among today's
    (hospital local date) ``booked`` appointments of the staff user's hospital (a doctor: their own);
    when two share it, the schedule must be named.
    """
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    query = select(Appointment).where(
        Appointment.hospital_id == staff.hospital_id,
        Appointment.visit_date == local_today(now),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.check_in_code == code,
    )
    if staff.role == StaffRole.DOCTOR:
        query = query.where(Appointment.doctor_id == staff.doctor_id)
    if schedule_id is not None:
        query = query.where(Appointment.schedule_id == schedule_id)
    matches = list(await session.scalars(query.order_by(Appointment.id).limit(10).with_for_update()))
    if not matches:
        raise CheckInCodeNotFound()
    if len(matches) > 1:
        raise CheckInCodeAmbiguous(detail={"schedule_ids": sorted({a.schedule_id for a in matches})})
    return await _check_in(session, staff=staff, appointment=matches[0], via="code", now=now)


async def complete(session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime) -> Appointment:
    """Marks a checked-in visit done (就诊完成): ``checked_in -> completed``; same scope as check-in."""
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await for_update(session, staff=staff, appointment_id=appointment_id)
    if appointment.status != AppointmentStatus.CHECKED_IN:
        raise NotCompletable()
    transition(session, appointment, AppointmentStatus.COMPLETED, now=now, reason=by_staff(staff, "完成就诊"))
    audit_move(session, staff, appointment, "appointment.complete", AppointmentStatus.CHECKED_IN, now=now)
    outbox.add(session, AppointmentCompleted(appointment_id=appointment.id), now=now)
    await session.flush()
    return await read_model.load_one(session, appointment.id)


async def suspend(
    session: AsyncSession, *, staff: StaffUser, schedule_id: int, reason: str, now: datetime
) -> tuple[Schedule, list[int]]:
    """停诊 by a hospital administrator of the schedule's hospital: the schedule closes for good, every
    active appointment becomes ``suspended`` (paid ones are refunded in full by payments, every patient
    is told by notifications). Returns the schedule and the appointments."""
    require_role(staff, *SUSPEND_ROLES)
    schedule = await scheduling.get(session, schedule_id)
    require_hospital(staff, schedule.hospital_id, not_found=scheduling.ScheduleNotFound)
    if schedule.status == ScheduleStatus.SUSPENDED:
        raise ScheduleAlreadySuspended()
    if schedule.ends_at <= now:
        raise ScheduleAlreadyOver()
    affected = await suspend_schedule(session, schedule_id=schedule_id, reason=reason, now=now)
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.suspend",
        subject=f"schedule:{schedule_id}",
        at=now,
        hospital_id=schedule.hospital_id,
        detail={"reason": reason, "appointments": affected},
    )
    return schedule, affected


async def suspend_schedule(session: AsyncSession, *, schedule_id: int, reason: str, now: datetime) -> list[int]:
    """The 停诊 itself, whoever asks: every active appointment of the schedule becomes ``suspended``."""
    await begin_write(session)
    schedule = await scheduling.lock_for_suspension(session, schedule_id)
    affected = list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.schedule_id == schedule_id, Appointment.status.in_(ACTIVE))
            .order_by(Appointment.id)
            .with_for_update()
        )
    )
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    schedule.status = ScheduleStatus.SUSPENDED
    choices = await rebook.alternatives(session, suspended=schedule, hospital=hospital, now=now)
    for appointment in affected:
        paid = booking_rules.was_paid_online(appointment)
        if paid:
            refund_owed(appointment)
        transition(session, appointment, AppointmentStatus.SUSPENDED, now=now, reason=reason or "医生停诊")
        await scheduling.release_slot(session, appointment.slot_id)
        # Offered in booking order: the earliest bookers get the first pick of what is left.
        offered = await rebook.offer(session, appointment=appointment, hospital=hospital, choices=choices, now=now)
        outbox.add(
            session,
            AppointmentSuspended(appointment_id=appointment.id, refund=paid, rebook_offered=offered is not None),
            now=now,
        )
    inventory.slots_freed(session, [schedule_id])
    await waitlist.schedule_suspended(session, schedule_id=schedule_id, now=now)
    await session.flush()
    return [a.id for a in affected]


async def _check_in(
    session: AsyncSession, *, staff: StaffUser, appointment: Appointment, via: str, now: datetime
) -> Appointment:
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotCheckable()
    check_in_window(await scheduling.get(session, appointment.schedule_id), now=now)
    transition(session, appointment, AppointmentStatus.CHECKED_IN, now=now, reason=by_staff(staff, "签到"))
    audit_move(session, staff, appointment, "appointment.check_in", AppointmentStatus.BOOKED, now=now, via=via)
    outbox.add(session, AppointmentCheckedIn(appointment_id=appointment.id), now=now)
    await session.flush()
    return await read_model.load_one(session, appointment.id)


def audit_move(
    session: AsyncSession,
    staff: StaffUser,
    appointment: Appointment,
    action: str,
    from_status: AppointmentStatus,
    *,
    now: datetime,
    via: str | None = None,
) -> None:
    detail = {"via": via} if via is not None else {}
    detail |= {"from_status": from_status.value, "to_status": appointment.status}
    audit.record(
        session,
        actor=actor(staff),
        action=action,
        subject=f"appointment:{appointment.id}",
        at=now,
        hospital_id=appointment.hospital_id,
        detail=detail,
    )


async def for_update(session: AsyncSession, *, staff: StaffUser, appointment_id: int) -> Appointment:
    """The appointment, locked, if the staff user may act on it; not found otherwise."""
    appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None:
        raise AppointmentNotFound()
    require_hospital(staff, appointment.hospital_id, not_found=AppointmentNotFound)
    if staff.role == StaffRole.DOCTOR and appointment.doctor_id != staff.doctor_id:
        raise AppointmentNotFound()
    return appointment


def by_staff(staff: StaffUser, what: str) -> str:
    return f"{what}：{staff.display_name}（{actor(staff)}）"
