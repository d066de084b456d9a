"""What a patient sees of an appointment, rendered from the read model (``booking.read_model``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import read_model, rebook, rules
from yiyue.booking.hotpath import Booked
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.schemas import (
    AppointmentOut,
    DepartmentRef,
    DoctorRef,
    HospitalRef,
    PatientRef,
    PaymentOut,
    RebookOptionOut,
    RebookOut,
    RefundOut,
)
from yiyue.members import service as members
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
    offers = await rebook.offers_for(session, [a.id for a in loaded if a.status == AppointmentStatus.SUSPENDED])
    late = {
        account: (await members.privileges(session, account)).can_cancel_late
        for account in {a.account_id for a in loaded}
    }
    return [
        appointment_view(a, now=now, rebook=rebook_view(offers.get(a.id)), can_cancel_late=late[a.account_id])
        for a in loaded
    ]


async def booked_view(session: AsyncSession, booked: Booked, *, now: datetime) -> AppointmentOut:
    """The answer to a booking, from the rows the booking read (its details are loaded): no query, but
    for a replayed booking since suspended (停诊), whose rebooking offer is read."""
    if booked.appointment.status == AppointmentStatus.SUSPENDED:
        return (await appointment_views(session, [booked.appointment], now=now))[0]
    return appointment_view(booked.appointment, now=now, can_cancel_late=booked.can_cancel_late)


def rebook_view(loaded: rebook.LoadedOffer | None) -> RebookOut | None:
    if loaded is None:
        return None
    return RebookOut(
        expires_at=loaded.offer.expires_at,
        accepted_appointment_id=loaded.offer.accepted_appointment_id,
        options=[
            RebookOptionOut(
                schedule_id=o.schedule.id,
                slot_id=o.slot.id,
                same_doctor=o.option.same_doctor,
                doctor=DoctorRef(id=o.doctor.id, name=o.doctor.name, title=o.doctor.title),
                department=DepartmentRef(id=o.department.id, name=o.department.name, location=o.department.location),
                visit_date=o.schedule.visit_date,
                period=o.schedule.period,
                period_label=PERIOD_LABELS[Period(o.schedule.period)],
                starts_at=o.slot.starts_at,
                ends_at=o.slot.ends_at,
                queue_number=o.slot.number,
                fee_fen=o.schedule.fee_fen,
            )
            for o in loaded.options
        ],
    )


def payment_view(a: Appointment) -> PaymentOut:
    status, label = rules.money_state(a)
    refund = None
    if a.refund_status is not None:
        refund = RefundOut(
            status="abnormal" if a.refund_status == "closed" else a.refund_status,
            status_label=rules.REFUND_LABELS.get(a.refund_status, "退款中"),
            amount_fen=a.refund_amount_fen if a.refund_amount_fen is not None else a.fee_fen,
            refunded_at=a.refunded_at,
        )
    return PaymentOut(
        status=status,
        status_label=label,
        amount_fen=a.fee_fen,
        original_fen=a.fee_fen + a.discount_fen,
        discount_fen=a.discount_fen,
        discount_label=f"会员优惠 -¥{a.discount_fen / 100:.2f}" if a.discount_fen else None,
        paid_at=a.paid_at,
        refund=refund,
    )


def appointment_view(
    a: Appointment, *, now: datetime, rebook: RebookOut | None = None, can_cancel_late: bool = False
) -> AppointmentOut:
    """One appointment whose details are loaded (``read_model``) as its patient sees it; ``can_cancel_late``
    when the account's level allows cancelling after the deadline (the same terms the cancel enforces)."""
    hospital, department, doctor, schedule, slot, person = (
        a.hospital,
        a.department,
        a.doctor,
        a.schedule,
        a.slot,
        a.visit_person,
    )
    deadline = rules.cancel_deadline(schedule, hospital)
    terms = rules.cancel_terms(a, hospital, deadline, now=now, can_cancel_late=can_cancel_late)
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
        cancellable=terms.cancellable,
        refund_on_cancel=terms.refund_on_cancel,
        cancel_rule=terms.rule,
        pay_deadline=a.pay_deadline,
        payment_notice=rules.payment_notice(a, schedule, deadline, now=now, can_cancel_late=can_cancel_late),
        payment=payment_view(a),
        status_reason=a.status_reason,
        rebook=rebook,
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
