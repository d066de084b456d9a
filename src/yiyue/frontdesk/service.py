"""Staff operations on appointments (医院工作人员): the hospital's list, check-in (签到), completion and
停诊. Role and hospital scope are checked here; another hospital's record is answered as not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking import gate as inventory
from yiyue.booking import read_model
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.lifecycle import transition
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
from yiyue.frontdesk.rules import CHECK_IN_ROLES, SUSPEND_ROLES, check_in_window
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus


@dataclass(frozen=True)
class AppointmentFilter:
    visit_date: date | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    statuses: list[AppointmentStatus] | None = None


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
    total = await session.scalar(select(func.count()).select_from(Appointment).where(*conditions))
    page = await session.scalars(
        read_model.with_details()
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .where(*conditions)
        .order_by(Appointment.visit_date, Schedule.starts_at, Appointment.queue_number, Appointment.id)
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
        detail={
            "filters": {
                "date": filters.visit_date.isoformat() if filters.visit_date else None,
                "department_id": filters.department_id,
                "doctor_id": filters.doctor_id,
                "status": [s.value for s in filters.statuses or []],
            },
            "appointment_ids": [a.id for a in rows],
            "total": int(total or 0),
        },
    )
    return rows, int(total or 0)


async def check_in(session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime) -> Appointment:
    """Checks a patient in (签到) by appointment id: ``booked -> checked_in`` within the check-in window.

    Hospital admins and doctors of the appointment's hospital (a doctor: their own patients only);
    anyone else's appointment is not found.
    """
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await _for_update(session, staff=staff, appointment_id=appointment_id)
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
    appointment = await _for_update(session, staff=staff, appointment_id=appointment_id)
    if appointment.status != AppointmentStatus.CHECKED_IN:
        raise NotCompletable()
    transition(session, appointment, AppointmentStatus.COMPLETED, now=now, reason=_by_staff(staff, "完成就诊"))
    _audit_move(session, staff, appointment, "appointment.complete", AppointmentStatus.CHECKED_IN, now=now)
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
    for appointment in affected:
        paid = appointment.status != AppointmentStatus.PENDING_PAYMENT and appointment.pay_deadline is not None
        transition(session, appointment, AppointmentStatus.SUSPENDED, now=now, reason=reason or "医生停诊")
        await scheduling.release_slot(session, appointment.slot_id)
        outbox.add(session, AppointmentSuspended(appointment_id=appointment.id, refund=paid), now=now)
    schedule.status = ScheduleStatus.SUSPENDED
    inventory.slots_freed(session, [schedule_id])
    await session.flush()
    return [a.id for a in affected]


async def _check_in(
    session: AsyncSession, *, staff: StaffUser, appointment: Appointment, via: str, now: datetime
) -> Appointment:
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotCheckable()
    check_in_window(await scheduling.get(session, appointment.schedule_id), now=now)
    transition(session, appointment, AppointmentStatus.CHECKED_IN, now=now, reason=_by_staff(staff, "签到"))
    _audit_move(session, staff, appointment, "appointment.check_in", AppointmentStatus.BOOKED, now=now, via=via)
    outbox.add(session, AppointmentCheckedIn(appointment_id=appointment.id), now=now)
    await session.flush()
    return await read_model.load_one(session, appointment.id)


def _audit_move(
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
        session, actor=actor(staff), action=action, subject=f"appointment:{appointment.id}", at=now, detail=detail
    )


async def _for_update(session: AsyncSession, *, staff: StaffUser, appointment_id: int) -> Appointment:
    """The appointment, locked, if the staff user may act on it; not found otherwise."""
    appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None:
        raise AppointmentNotFound()
    require_hospital(staff, appointment.hospital_id, not_found=AppointmentNotFound)
    if staff.role == StaffRole.DOCTOR and appointment.doctor_id != staff.doctor_id:
        raise AppointmentNotFound()
    return appointment


def _by_staff(staff: StaffUser, what: str) -> str:
    return f"{what}：{staff.display_name}（{actor(staff)}）"
