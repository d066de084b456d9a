"""An appointment made on a slot already claimed, and the one-person-one-doctor-one-day check: shared by
booking, 停诊 rebooking, the waitlist and walk-in registration."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.booking import rules
from yiyue.booking.errors import DuplicateBooking
from yiyue.booking.models import OCCUPYING, Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core import outbox
from yiyue.core.events import AppointmentBooked, AppointmentHoldEnds, AppointmentPaymentDue
from yiyue.hospitals.models import Hospital
from yiyue.members.rules import Privileges, discounted
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, Slot


async def add_appointment(
    session: AsyncSession,
    *,
    account_id: int,
    person: VisitPerson,
    schedule: Schedule,
    slot: Slot,
    pay_first: bool,
    payment_hold: timedelta,
    now: datetime,
    reason: str = "",
    discount_percent: int = 100,
) -> Appointment:
    """The appointment on a slot just claimed, its first history row and its events: held until the pay
    deadline where the hospital takes payment online, else confirmed. Flushes, so the unique indexes speak
    here (``IntegrityError``).

    ``discount_percent`` is the member discount (会员折扣) of the booking account's level: the patient owes
    ``fee_fen`` = the session's fee at that percent, rounded down to the fen (``members.rules.discounted``),
    and ``discount_fen`` keeps what was taken off; payment, refund and reconciliation all use ``fee_fen``."""
    payable, discount = discounted(schedule.fee_fen, discount_percent)
    appointment = Appointment(
        account_id=account_id,
        visit_person_id=person.id,
        person_index=person.id_number_index,
        hospital_id=schedule.hospital_id,
        department_id=schedule.department_id,
        doctor_id=schedule.doctor_id,
        schedule_id=schedule.id,
        slot_id=slot.id,
        visit_date=schedule.visit_date,
        queue_number=slot.number,
        fee_fen=payable,
        discount_fen=discount,
        status=AppointmentStatus.PENDING_PAYMENT if pay_first else AppointmentStatus.BOOKED,
        pay_deadline=now + payment_hold if pay_first else None,
        check_in_code=check_in_code(),
        created_at=now,
        updated_at=now,
    )
    session.add(appointment)
    await session.flush()
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id, from_status=None, to_status=appointment.status, reason=reason, at=now
        )
    )
    if pay_first:
        outbox.add(session, AppointmentPaymentDue(appointment_id=appointment.id), now=now)
        outbox.add(session, AppointmentHoldEnds(appointment_id=appointment.id), now=now, delay=payment_hold)
    else:
        outbox.add(session, AppointmentBooked(appointment_id=appointment.id), now=now)
    return appointment


async def book_held_slot(
    session: AsyncSession,
    *,
    account_id: int,
    person: VisitPerson,
    schedule: Schedule,
    hospital: Hospital,
    slot: Slot,
    perks: Privileges,
    payment_hold: timedelta,
    reason: str,
    now: datetime,
) -> Appointment:
    """The appointment on a slot already held for this patient (a 停诊 rebooking option, a waitlist
    offer): it stays held until paid where the hospital takes payment online, else it is booked now; at
    the level's discount. ``DuplicateBooking`` when the unique indexes refuse it."""
    pay_first = rules.pays_first(schedule, hospital, perks)
    if not pay_first:
        await scheduling.confirm_slot(session, slot.id)
    try:
        return await add_appointment(
            session,
            account_id=account_id,
            person=person,
            schedule=schedule,
            slot=slot,
            pay_first=pay_first,
            payment_hold=payment_hold,
            discount_percent=perks.discount_percent,
            reason=reason,
            now=now,
        )
    except IntegrityError:
        raise DuplicateBooking() from None


async def check_not_duplicate(
    session: AsyncSession, *, person_index: str, doctor_id: int, day: date, message: str | None = None
) -> None:
    """One appointment per person (ID number, whichever account holds it) with one doctor on one day."""
    existing = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(*duplicate_of(person_index=person_index, doctor_id=doctor_id, day=day))
    )
    if existing:
        raise DuplicateBooking(message)


def duplicate_of(
    *, person_index: str | ColumnElement[str], doctor_id: int | ColumnElement[int], day: date | ColumnElement[date]
) -> list[ColumnElement[bool]]:
    """SQL: an appointment that holds a place of this person with this doctor on this day."""
    return [
        Appointment.person_index == person_index,
        Appointment.doctor_id == doctor_id,
        Appointment.visit_date == day,
        Appointment.status.in_(OCCUPYING),
    ]


def check_in_code() -> str:
    """Eight digits the patient shows at the hospital (取号码); not guessable, not an id."""
    return f"{secrets.randbelow(10**8):08d}"
