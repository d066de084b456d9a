"""What a patient sees of an appointment, rendered from the read model (``booking.read_model``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import read_model, rules
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.schemas import (
    AppointmentOut,
    DepartmentRef,
    DoctorRef,
    HospitalRef,
    PatientRef,
)
from yiyue.scheduling.models import PERIOD_LABELS, Period

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


async def appointment_views(
    session: AsyncSession, appointments: Sequence[Appointment], *, now: datetime
) -> list[AppointmentOut]:
    """Renders many appointments with one query for all their details, not one per appointment."""
    loaded = await read_model.load(session, [a.id for a in appointments])
    return [appointment_view(a, now=now) for a in loaded]


def appointment_view(a: Appointment, *, now: datetime) -> AppointmentOut:
    """One appointment whose details are loaded (``read_model``) as its patient sees it."""
    hospital, department, doctor, schedule, slot, person = (
        a.hospital,
        a.department,
        a.doctor,
        a.schedule,
        a.slot,
        a.visit_person,
    )
    deadline = rules.cancel_deadline(schedule, hospital)
    return AppointmentOut(
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
        cancellable=rules.is_cancellable(a, deadline, now),
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
