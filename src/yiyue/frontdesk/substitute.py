"""替诊: a session's doctor cannot come and another doctor of the same clinic sees its patients.

The session itself passes to the new doctor, with its not-yet-seen appointments (pending payment, booked,
checked in): each keeps its slot, queue number, time and fee, and its patient is told who sees them now
(``AppointmentDoctorChanged`` -> notifications). Visits already completed or missed stay with the doctor
who had them. Only a hospital administrator of the session's hospital may do it; the new doctor must be
active, of the same clinic, and free then (no schedule of their own that date and period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking.models import ACTIVE, OCCUPYING, Appointment
from yiyue.core import audit, outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict
from yiyue.core.events import AppointmentDoctorChanged
from yiyue.frontdesk.errors import ScheduleAlreadyOver, ScheduleAlreadySuspended
from yiyue.frontdesk.rules import SUSPEND_ROLES
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.service import DoctorNotFound
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus

SUBSTITUTE_ROLES = SUSPEND_ROLES
"""Who may hand a session to another doctor (替诊): those who may suspend it."""


class SessionOverForSubstitute(ScheduleAlreadyOver):
    message = "该时段已结束，无法替诊"


class SubstituteSameDoctor(Conflict):
    code = "SUBSTITUTE_SAME_DOCTOR"
    message = "替诊医生就是当前出诊医生"


class SubstituteOtherDepartment(Conflict):
    code = "SUBSTITUTE_OTHER_DEPARTMENT"
    message = "替诊医生须是同一科室的医生"


class SubstituteInactive(Conflict):
    code = "SUBSTITUTE_DOCTOR_INACTIVE"
    message = "替诊医生已离职，不能出诊"


class SubstituteBusy(Conflict):
    code = "SUBSTITUTE_DOCTOR_BUSY"
    message = "替诊医生在该日期该时段已有排班"


class SubstitutePatientClash(Conflict):
    code = "SUBSTITUTE_PATIENT_CLASH"
    message = "有患者当天已预约替诊医生的其他时段，不能替诊，请选择其他医生"


@dataclass(frozen=True)
class Substitution:
    schedule: Schedule
    from_doctor: Doctor
    to_doctor: Doctor
    moved: list[int]
    """The appointments that passed to the new doctor."""


async def candidates(session: AsyncSession, *, staff: StaffUser, schedule_id: int) -> list[Doctor]:
    """The doctors who could take a session: active, of its clinic, with no schedule of their own then."""
    schedule = await scheduling.get(session, schedule_id)
    require_hospital(staff, schedule.hospital_id, not_found=scheduling.ScheduleNotFound)
    busy = select(Schedule.doctor_id).where(
        Schedule.visit_date == schedule.visit_date, Schedule.period == schedule.period
    )
    return list(
        await session.scalars(
            select(Doctor)
            .where(
                Doctor.hospital_id == schedule.hospital_id,
                Doctor.department_id == schedule.department_id,
                Doctor.active.is_(True),
                Doctor.id.not_in(busy),
            )
            .order_by(Doctor.id)
        )
    )


async def substitute(
    session: AsyncSession, *, staff: StaffUser, schedule_id: int, doctor_id: int, reason: str, now: datetime
) -> Substitution:
    """Hands the session to ``doctor_id`` with its unseen appointments; each patient is told. Audited."""
    require_role(staff, *SUBSTITUTE_ROLES)
    await begin_write(session)
    schedule = await scheduling.lock_for_suspension(session, schedule_id)  # no booking slips in meanwhile
    require_hospital(staff, schedule.hospital_id, not_found=scheduling.ScheduleNotFound)
    if schedule.status == ScheduleStatus.SUSPENDED:
        raise ScheduleAlreadySuspended()
    if schedule.ends_at <= now:
        raise SessionOverForSubstitute()
    target = await session.get(Doctor, doctor_id)
    if target is None or target.hospital_id != schedule.hospital_id:
        raise DoctorNotFound()
    if target.id == schedule.doctor_id:
        raise SubstituteSameDoctor()
    if target.department_id != schedule.department_id:
        raise SubstituteOtherDepartment()
    if not target.active:
        raise SubstituteInactive()
    clash = await session.scalar(
        select(Schedule.id).where(
            Schedule.doctor_id == target.id,
            Schedule.visit_date == schedule.visit_date,
            Schedule.period == schedule.period,
        )
    )
    if clash is not None:
        raise SubstituteBusy()
    moving = list(
        await session.scalars(
            select(Appointment)
            .where(Appointment.schedule_id == schedule.id, Appointment.status.in_(ACTIVE))
            .order_by(Appointment.id)
            .with_for_update()
        )
    )
    if moving and await _patients_with(session, target, schedule, [a.visit_person_id for a in moving]):
        raise SubstitutePatientClash()

    before = await session.get_one(Doctor, schedule.doctor_id)
    try:
        async with session.begin_nested():  # a clash made meanwhile leaves the unit of work usable
            schedule.doctor_id = target.id
            for appointment in moving:
                appointment.doctor_id = target.id
                appointment.updated_at = now
    except IntegrityError:  # the unique constraints saw a clash the checks above could not
        raise SubstituteBusy() from None
    for appointment in moving:
        outbox.add(
            session,
            AppointmentDoctorChanged(
                appointment_id=appointment.id,
                from_doctor_id=before.id,
                from_doctor=before.name,
                to_doctor_id=target.id,
                reason=reason,
                changed_at=now,
            ),
            now=now,
        )
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.substitute",
        subject=f"schedule:{schedule.id}",
        at=now,
        hospital_id=schedule.hospital_id,
        detail={
            "from_doctor_id": before.id,
            "to_doctor_id": target.id,
            "reason": reason,
            "appointments": [a.id for a in moving],
        },
    )
    return Substitution(schedule=schedule, from_doctor=before, to_doctor=target, moved=[a.id for a in moving])


async def _patients_with(session: AsyncSession, doctor: Doctor, schedule: Schedule, person_ids: list[int]) -> int:
    """How many of these visit persons already hold a visit with ``doctor`` that day (one per doctor a day)."""
    found = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.visit_person_id.in_(person_ids),
            Appointment.doctor_id == doctor.id,
            Appointment.visit_date == schedule.visit_date,
            Appointment.status.in_(OCCUPYING),
        )
    )
    return int(found or 0)
