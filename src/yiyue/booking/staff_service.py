"""Staff operations on appointments (医院工作人员): the hospital's list, check-in (签到), completion and
停诊. Role and hospital scope are checked here; another hospital's record is answered as not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.accounts.staff import StaffRole, StaffUser, actor, require_hospital, require_role
from yiyue.booking.gate import InventoryGate
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.service import AppointmentNotFound, suspend_schedule, transition
from yiyue.core import audit
from yiyue.core.clock import local, local_today
from yiyue.core.crypto import mask_name
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, InvalidInput, NotFound
from yiyue.hospitals.models import Department, Doctor
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus, Slot


class ScheduleAlreadySuspended(Conflict):
    code = "SCHEDULE_ALREADY_SUSPENDED"
    message = "该排班已停诊"


class ScheduleAlreadyOver(Conflict):
    code = "SCHEDULE_OVER"
    message = "该时段已结束，无法停诊"


CHECK_IN_OPENS_BEFORE = timedelta(minutes=60)
"""Check-in opens this long before a session starts, and stays open until the session ends."""
CHECK_IN_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.DOCTOR)
"""Who moves appointments on; a platform admin only reads (and every read is audited)."""


class CheckInNotOpen(Conflict):
    code = "CHECK_IN_NOT_OPEN"
    message = "尚未到签到时间（就诊时段开始前60分钟起可签到）"


class CheckInClosed(Conflict):
    code = "CHECK_IN_CLOSED"
    message = "该就诊时段已结束，无法签到"


class NotCheckable(Conflict):
    code = "NOT_CHECKABLE"
    message = "该预约当前状态不能签到"


class NotCompletable(Conflict):
    code = "NOT_COMPLETABLE"
    message = "该预约尚未签到或已结束，不能完成就诊"


class CheckInCodeNotFound(NotFound):
    code = "CHECK_IN_CODE_NOT_FOUND"
    message = "未找到今日待签到的预约，请核对签到码"


class CheckInCodeAmbiguous(Conflict):
    code = "CHECK_IN_CODE_AMBIGUOUS"
    message = "该签到码对应多个预约，请指定排班后重试"


class HospitalRequired(InvalidInput):
    code = "HOSPITAL_ID_REQUIRED"
    message = "平台管理员查询预约须指定医院（hospital_id）"


@dataclass(frozen=True)
class StaffAppointmentFilter:
    visit_date: date | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    statuses: list[AppointmentStatus] | None = None


@dataclass(frozen=True)
class StaffAppointmentRow:
    """What staff see of an appointment: the patient's name masked, never their ID number, phone or
    check-in code."""

    appointment: Appointment
    patient_name_masked: str
    patient_sex: str
    department_name: str
    doctor_name: str
    doctor_title: str
    period: str
    starts_at: datetime
    ends_at: datetime


def check_in_window(schedule: Schedule, *, now: datetime) -> None:
    """签到 is open from 60 minutes before the session starts until the session ends."""
    opens_at = schedule.starts_at - CHECK_IN_OPENS_BEFORE
    if now < opens_at:
        raise CheckInNotOpen(
            f"尚未到签到时间，{local(opens_at):%m月%d日 %H:%M}起可签到", detail={"opens_at": opens_at.isoformat()}
        )
    if now >= schedule.ends_at:
        raise CheckInClosed()


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


async def staff_list(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    filters: StaffAppointmentFilter,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[StaffAppointmentRow], int]:
    """The appointments of the staff user's hospital, in visiting order; a doctor sees only their own.

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
    result = await session.execute(
        _staff_rows_query()
        .where(*conditions)
        .order_by(Appointment.visit_date, Schedule.starts_at, Appointment.queue_number, Appointment.id)
        .offset(offset)
        .limit(limit)
    )
    rows = [_staff_row(row) for row in result.tuples()]
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
            "appointment_ids": [r.appointment.id for r in rows],
            "total": int(total or 0),
        },
    )
    return rows, int(total or 0)


async def staff_check_in(
    session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime
) -> StaffAppointmentRow:
    """Checks a patient in (签到) by appointment id: ``booked -> checked_in`` within the check-in window.

    Hospital admins and doctors of the appointment's hospital (a doctor: their own patients only);
    anyone else's appointment is not found.
    """
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await _staff_for_update(session, staff=staff, appointment_id=appointment_id)
    return await _check_in(session, staff=staff, appointment=appointment, via="id", now=now)


async def staff_check_in_by_code(
    session: AsyncSession, *, staff: StaffUser, code: str, schedule_id: int | None, now: datetime
) -> StaffAppointmentRow:
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


async def staff_complete(
    session: AsyncSession, *, staff: StaffUser, appointment_id: int, now: datetime
) -> StaffAppointmentRow:
    """Marks a checked-in visit done (就诊完成): ``checked_in -> completed``; same scope as check-in."""
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await _staff_for_update(session, staff=staff, appointment_id=appointment_id)
    if appointment.status != AppointmentStatus.CHECKED_IN:
        raise NotCompletable()
    transition(session, appointment, AppointmentStatus.COMPLETED, now=now, reason=_by_staff(staff, "完成就诊"))
    audit.record(
        session,
        actor=actor(staff),
        action="appointment.complete",
        subject=f"appointment:{appointment.id}",
        at=now,
        detail={"from_status": AppointmentStatus.CHECKED_IN.value, "to_status": AppointmentStatus.COMPLETED.value},
    )
    await session.flush()
    return await _staff_row_of(session, appointment.id)


async def _check_in(
    session: AsyncSession, *, staff: StaffUser, appointment: Appointment, via: str, now: datetime
) -> StaffAppointmentRow:
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotCheckable()
    check_in_window(await scheduling.get(session, appointment.schedule_id), now=now)
    transition(session, appointment, AppointmentStatus.CHECKED_IN, now=now, reason=_by_staff(staff, "签到"))
    audit.record(
        session,
        actor=actor(staff),
        action="appointment.check_in",
        subject=f"appointment:{appointment.id}",
        at=now,
        detail={
            "via": via,
            "from_status": AppointmentStatus.BOOKED.value,
            "to_status": AppointmentStatus.CHECKED_IN.value,
        },
    )
    await session.flush()
    return await _staff_row_of(session, appointment.id)


async def _staff_for_update(session: AsyncSession, *, staff: StaffUser, appointment_id: int) -> Appointment:
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


def _staff_rows_query() -> Select[tuple[Appointment, str, str, str, str, str, str, datetime, datetime]]:
    return (
        select(
            Appointment,
            VisitPerson.name,
            VisitPerson.sex,
            Department.name,
            Doctor.name,
            Doctor.title,
            Schedule.period,
            Slot.starts_at,
            Slot.ends_at,
        )
        .join(VisitPerson, VisitPerson.id == Appointment.visit_person_id)
        .join(Department, Department.id == Appointment.department_id)
        .join(Doctor, Doctor.id == Appointment.doctor_id)
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .join(Slot, Slot.id == Appointment.slot_id)
    )


def _staff_row(row: tuple[Appointment, str, str, str, str, str, str, datetime, datetime]) -> StaffAppointmentRow:
    appointment, name, sex, department, doctor, title, period, starts_at, ends_at = row
    return StaffAppointmentRow(
        appointment=appointment,
        patient_name_masked=mask_name(name),
        patient_sex=sex,
        department_name=department,
        doctor_name=doctor,
        doctor_title=title,
        period=period,
        starts_at=starts_at,
        ends_at=ends_at,
    )


async def _staff_row_of(session: AsyncSession, appointment_id: int) -> StaffAppointmentRow:
    result = await session.execute(_staff_rows_query().where(Appointment.id == appointment_id))
    return _staff_row(result.tuples().one())


SUSPEND_ROLES = (StaffRole.HOSPITAL_ADMIN,)


async def staff_suspend(
    session: AsyncSession,
    *,
    staff: StaffUser,
    schedule_id: int,
    reason: str,
    now: datetime,
    gate: InventoryGate | None = None,
) -> tuple[Schedule, list[int]]:
    """停诊 by a hospital administrator of the schedule's hospital; once suspended it stays so."""
    require_role(staff, *SUSPEND_ROLES)
    schedule = await scheduling.get(session, schedule_id)
    require_hospital(staff, schedule.hospital_id, not_found=scheduling.ScheduleNotFound)
    if schedule.status == ScheduleStatus.SUSPENDED:
        raise ScheduleAlreadySuspended()
    if schedule.ends_at <= now:
        raise ScheduleAlreadyOver()
    affected = await suspend_schedule(session, schedule_id=schedule_id, reason=reason, now=now, gate=gate)
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.suspend",
        subject=f"schedule:{schedule_id}",
        at=now,
        detail={"reason": reason, "appointments": affected},
    )
    return schedule, affected
