"""How an appointment moves on outside the patient's own requests: the status history every transition
writes, payment confirming a hold, and unpaid holds running out (未支付过期)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import holds, rules, waitlist
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.events import AppointmentBooked, AppointmentExpired
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import service as scheduling

EXPLAINED = frozenset({AppointmentStatus.CANCELLED, AppointmentStatus.EXPIRED, AppointmentStatus.SUSPENDED})
"""Exits whose reason the patient is shown (``status_reason``): their own, the clock's, the hospital's (停诊)."""


def transition(
    session: AsyncSession, appointment: Appointment, to: AppointmentStatus, *, now: datetime, reason: str
) -> None:
    """Moves the appointment to ``to`` and records the change (who and why go in ``reason``)."""
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id, from_status=appointment.status, to_status=to, reason=reason, at=now
        )
    )
    appointment.status = to
    appointment.updated_at = now
    if to in EXPLAINED:
        appointment.status_reason = reason[:200]


def refund_owed(appointment: Appointment) -> None:
    """A paid appointment is being paid back in full: from this unit of work on it says 退款中, before
    payments has even asked WeChat Pay (which then notes each step through ``note_refund``)."""
    appointment.refund_status = "processing"
    appointment.refund_amount_fen = appointment.fee_fen


async def note_paid(session: AsyncSession, *, appointment_id: int, at: datetime) -> None:
    """Payments tells the appointment it was paid (whether or not it still waits for the money)."""
    await session.execute(update(Appointment).where(Appointment.id == appointment_id).values(paid_at=at))


async def note_refund(
    session: AsyncSession, *, appointment_id: int, status: str, amount_fen: int, refunded_at: datetime | None
) -> None:
    """Payments tells the appointment where its refund stands (``payments.models.RefundStatus`` values)."""
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id)
        .values(refund_status=status, refund_amount_fen=amount_fen, refunded_at=refunded_at)
    )


async def confirm_paid(session: AsyncSession, *, appointment_id: int, now: datetime) -> bool:
    """A held appointment whose payment arrived becomes ``booked`` and its slot booked. False when the
    appointment is no longer waiting for payment (it expired or was cancelled): the money goes back."""
    await begin_write(session)
    appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None or appointment.status != AppointmentStatus.PENDING_PAYMENT:
        return False
    transition(session, appointment, AppointmentStatus.BOOKED, now=now, reason="已支付")
    await scheduling.confirm_slot(session, appointment.slot_id)
    outbox.add(session, AppointmentBooked(appointment_id=appointment.id), now=now)
    await session.flush()
    return True


async def expire_unpaid(
    session: AsyncSession,
    *,
    now: datetime,
    appointment_id: int | None = None,
    reopen_delay: tuple[int, int] = rules.FREED_SLOT_DELAY_SECONDS,
) -> list[int]:
    """Holds whose payment window has ended are released (未支付过期): the slot goes to the waitlist first,
    else back to the pool after a random delay within ``reopen_delay`` seconds; each account's expiries
    count towards its hold-abuse ban (``holds.ban_if_abusing``), in this unit of work."""
    await begin_write(session)
    query = select(Appointment).where(
        Appointment.status == AppointmentStatus.PENDING_PAYMENT, Appointment.pay_deadline <= now
    )
    if appointment_id is not None:
        query = query.where(Appointment.id == appointment_id)
    expired = list(await session.scalars(query.order_by(Appointment.id).limit(500).with_for_update(skip_locked=True)))
    for appointment in expired:
        transition(session, appointment, AppointmentStatus.EXPIRED, now=now, reason="超时未支付")
        await scheduling.release_slot(session, appointment.slot_id)
        outbox.add(session, AppointmentExpired(appointment_id=appointment.id), now=now)
    await waitlist.slots_freed(session, {a.schedule_id for a in expired}, now=now)
    await holds.reopen_later(
        session, slots=[(a.schedule_id, a.slot_id) for a in expired], now=now, delay_bounds=reopen_delay
    )
    await session.flush()
    for account_id, hospital_id in sorted({(a.account_id, a.hospital_id) for a in expired}):
        hospital = await session.get_one(Hospital, hospital_id)
        await holds.ban_if_abusing(session, account_id=account_id, hospital=hospital, now=now)
    return [a.id for a in expired]
