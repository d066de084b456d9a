"""What a patient sees of an appointment: joined with hospital, clinic, doctor, slot and visit person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.booking import rules
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.schemas import (
    AppointmentOut,
    DepartmentRef,
    DoctorRef,
    HospitalRef,
    PatientRef,
)
from yiyue.booking.service import is_cancellable
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule, Slot

STATUS_LABELS = {
    AppointmentStatus.PENDING_PAYMENT: "待支付",
    AppointmentStatus.BOOKED: "待就诊",
    AppointmentStatus.CHECKED_IN: "已签到",
    AppointmentStatus.COMPLETED: "已就诊",
    AppointmentStatus.CANCELLED: "已取消",
    AppointmentStatus.EXPIRED: "已过期",
    AppointmentStatus.SUSPENDED: "已停诊",
    AppointmentStatus.NO_SHOW: "爽约",
}

M = TypeVar("M")


async def appointment_views(
    session: AsyncSession, appointments: Sequence[Appointment], *, now: datetime
) -> list[AppointmentOut]:
    """Renders many appointments with one query per related table, not one per appointment."""
    hospitals = await _by_id(session, Hospital, {a.hospital_id for a in appointments})
    departments = await _by_id(session, Department, {a.department_id for a in appointments})
    doctors = await _by_id(session, Doctor, {a.doctor_id for a in appointments})
    schedules = await _by_id(session, Schedule, {a.schedule_id for a in appointments})
    slots = await _by_id(session, Slot, {a.slot_id for a in appointments})
    people = await _by_id(session, VisitPerson, {a.visit_person_id for a in appointments})
    views = []
    for a in appointments:
        hospital, schedule, slot = hospitals[a.hospital_id], schedules[a.schedule_id], slots[a.slot_id]
        department, doctor, person = departments[a.department_id], doctors[a.doctor_id], people[a.visit_person_id]
        deadline = rules.cancel_deadline(schedule, hospital)
        views.append(
            AppointmentOut(
                id=a.id,
                status=a.status,
                status_label=STATUS_LABELS[AppointmentStatus(a.status)],
                queue_number=a.queue_number,
                fee_fen=a.fee_fen,
                visit_date=a.visit_date,
                period=schedule.period,
                period_label=PERIOD_LABELS[Period(schedule.period)],
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                check_in_code=a.check_in_code,
                created_at=a.created_at,
                cancel_deadline=deadline,
                cancellable=is_cancellable(a, deadline, now),
                pay_deadline=a.pay_deadline if a.status == AppointmentStatus.PENDING_PAYMENT else None,
                hospital=HospitalRef(id=hospital.id, name=hospital.name, address=hospital.address),
                department=DepartmentRef(id=department.id, name=department.name, location=department.location),
                doctor=DoctorRef(id=doctor.id, name=doctor.name, title=doctor.title),
                patient=PatientRef(
                    id=person.id,
                    name=person.name,
                    id_number_masked=person.id_number_masked,
                    phone_masked=person.phone_masked,
                ),
                schedule_id=a.schedule_id,
                slot_id=a.slot_id,
            )
        )
    return views


async def _by_id(session: AsyncSession, model: type[M], ids: set[int]) -> dict[int, M]:
    if not ids:
        return {}
    table: Any = model
    rows = await session.scalars(select(table).where(table.id.in_(ids)))
    return {row.id: row for row in rows}
