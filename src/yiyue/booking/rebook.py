"""停诊改约: when the hospital suspends a session, each patient is offered slots held for them — one in
the same doctor's next open session, one with another doctor of the clinic that day — and takes one with
a tap, or keeps the refund they already have. Slots not taken go back to the pool when the offer ends.

The offer holds real slots (``held``, like an unpaid booking), so nobody else can take them meanwhile and
accepting never races the crowd; the unique indexes on appointments still decide every race.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.booking import appointments, rules, waitlist
from yiyue.booking import service as booking
from yiyue.booking.errors import DuplicateBooking
from yiyue.booking.models import Appointment, RebookOffer, RebookOption
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, NotFound
from yiyue.core.events import RebookOfferEnds
from yiyue.hospitals import service as catalog
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.members import service as members
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleStatus, Slot

REBOOK_HOLD = timedelta(hours=2)
"""How long the offered slots are held for the patient (never past the offered session's booking cut-off)."""
CANDIDATES = 5
"""Sessions looked at for each kind of option before giving up on it."""


class RebookOptionNotFound(NotFound):
    code = "REBOOK_OPTION_NOT_FOUND"
    message = "该改约号源不存在，请从停诊通知中选择为您保留的号源"


class RebookOfferExpired(Conflict):
    code = "REBOOK_OFFER_EXPIRED"
    message = "为您保留的改约号源已过保留时间，请重新预约"


class RebookAlreadyAccepted(Conflict):
    code = "REBOOK_ALREADY_ACCEPTED"
    message = "您已改约成功，请在我的预约中查看"


@dataclass(frozen=True)
class LoadedOption:
    option: RebookOption
    schedule: Schedule
    slot: Slot
    doctor: Doctor
    department: Department


@dataclass(frozen=True)
class LoadedOffer:
    offer: RebookOffer
    options: list[LoadedOption]


@dataclass
class Alternatives:
    """Where the patients of one suspended session may go, looked up once for all of them."""

    same_doctor: list[Schedule]
    colleagues: list[Schedule]
    full: set[int] = field(default_factory=set)
    """Sessions found to have no free slot left while offering."""


async def alternatives(
    session: AsyncSession, *, suspended: Schedule, hospital: Hospital, now: datetime
) -> Alternatives:
    """Open, released sessions still taking bookings: the same doctor's next ones after the suspended
    session, and the clinic's other doctors that day (the same half-day first)."""
    bookable = select(Schedule).where(
        Schedule.id != suspended.id,
        Schedule.status == ScheduleStatus.OPEN,
        Schedule.release_at <= now,
        Schedule.starts_at > now + timedelta(minutes=hospital.stop_minutes_before),
    )
    same_doctor = bookable.where(
        Schedule.doctor_id == suspended.doctor_id, Schedule.starts_at > suspended.starts_at
    ).order_by(Schedule.starts_at)
    same_period = case((Schedule.period == suspended.period, 0), else_=1)
    colleagues = bookable.where(
        Schedule.department_id == suspended.department_id,
        Schedule.doctor_id != suspended.doctor_id,
        Schedule.visit_date == suspended.visit_date,
    ).order_by(same_period, Schedule.starts_at)
    return Alternatives(await _seeing_patients(session, same_doctor), await _seeing_patients(session, colleagues))


async def offer(
    session: AsyncSession,
    *,
    appointment: Appointment,
    hospital: Hospital,
    choices: Alternatives,
    now: datetime,
    hold: timedelta = REBOOK_HOLD,
) -> RebookOffer | None:
    """Holds the rebooking options of an appointment just suspended (停诊): a slot in the first of each
    kind of ``choices`` that has one and where the person has no appointment with that doctor that day.
    None when there is none to offer. The caller has the writer's turn (it is suspending the session)."""
    held: list[tuple[Schedule, Slot, bool]] = []
    for same_doctor, candidates in ((True, choices.same_doctor), (False, choices.colleagues)):
        for schedule in candidates:
            if schedule.id in choices.full or not await _person_is_free(
                session, appointment=appointment, schedule=schedule
            ):
                continue
            slot = await scheduling.claim_slot(session, schedule_id=schedule.id, slot_id=None, hold=True)
            if slot is None:
                choices.full.add(schedule.id)
                continue
            held.append((schedule, slot, same_doctor))
            break
    if not held:
        return None
    closes = [_closes_at(schedule, hospital) for schedule, _, _ in held]
    expires_at = min([now + hold, *closes])
    made = RebookOffer(appointment_id=appointment.id, expires_at=expires_at, created_at=now)
    session.add(made)
    await session.flush()
    for schedule, slot, same_doctor in held:
        session.add(RebookOption(offer_id=made.id, schedule_id=schedule.id, slot_id=slot.id, same_doctor=same_doctor))
    outbox.add(session, RebookOfferEnds(appointment_id=appointment.id), now=now, delay=expires_at - now)
    return made


async def accept(
    session: AsyncSession,
    *,
    account_id: int,
    appointment_id: int,
    schedule_id: int,
    now: datetime,
    payment_hold: timedelta = timedelta(minutes=15),
) -> Appointment:
    """Takes one of the slots held for a suspended appointment: a new appointment on it (to pay first
    where the hospital takes payment online), the other held slots back to the pool. Refused once the
    offer was taken or ran out."""
    await begin_write(session)
    await accounts.lock_account(session, account_id)
    suspended = await booking.get_own(session, account_id=account_id, appointment_id=appointment_id)
    made = await session.scalar(select(RebookOffer).where(RebookOffer.appointment_id == suspended.id).with_for_update())
    if made is None:
        raise RebookOptionNotFound()
    if made.accepted_appointment_id is not None:
        raise RebookAlreadyAccepted(detail={"accepted_appointment_id": made.accepted_appointment_id})
    if made.ended_at is not None or made.expires_at <= now:
        raise RebookOfferExpired()
    options = list(await session.scalars(select(RebookOption).where(RebookOption.offer_id == made.id)))
    chosen = next((o for o in options if o.schedule_id == schedule_id), None)
    if chosen is None:
        raise RebookOptionNotFound()
    schedule = await scheduling.get_for_update(session, chosen.schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    rules.check_bookable(schedule, hospital, now=now)
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=suspended.visit_person_id)
    slot = await session.get_one(Slot, chosen.slot_id)
    perks = await members.privileges(session, account_id)
    appointment = await appointments.book_held_slot(
        session,
        account_id=account_id,
        person=person,
        schedule=schedule,
        hospital=hospital,
        slot=slot,
        perks=perks,
        payment_hold=payment_hold,
        reason="停诊改约",
        now=now,
    )
    made.accepted_appointment_id = appointment.id
    await _end(session, made, keep=chosen.id, now=now)
    await session.flush()
    return appointment


async def end_offer(session: AsyncSession, *, appointment_id: int, now: datetime) -> bool:
    """The offer of a suspended appointment ran out: its slots go back to the pool. False when it had
    already ended (taken, or ended before) or has not run out yet."""
    await begin_write(session)
    made = await session.scalar(
        select(RebookOffer).where(RebookOffer.appointment_id == appointment_id).with_for_update()
    )
    if made is None or made.ended_at is not None or made.expires_at > now:
        return False
    await _end(session, made, keep=None, now=now)
    await session.flush()
    return True


async def offers_for(session: AsyncSession, appointment_ids: list[int]) -> dict[int, LoadedOffer]:
    """The offers of these appointments with their options' sessions, slots, doctors and clinics (one query
    for the offers, one for all their options)."""
    if not appointment_ids:
        return {}
    offers = list(await session.scalars(select(RebookOffer).where(RebookOffer.appointment_id.in_(appointment_ids))))
    if not offers:
        return {}
    rows = await session.execute(
        select(RebookOption, Schedule, Slot, Doctor, Department)
        .join(Schedule, Schedule.id == RebookOption.schedule_id)
        .join(Slot, Slot.id == RebookOption.slot_id)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .join(Department, Department.id == Schedule.department_id)
        .where(RebookOption.offer_id.in_([o.id for o in offers]))
        .order_by(RebookOption.same_doctor.desc(), Schedule.starts_at)
    )
    options: dict[int, list[LoadedOption]] = {}
    for option, schedule, slot, doctor, department in rows.tuples():
        options.setdefault(option.offer_id, []).append(LoadedOption(option, schedule, slot, doctor, department))
    return {o.appointment_id: LoadedOffer(o, options.get(o.id, [])) for o in offers}


async def _end(session: AsyncSession, made: RebookOffer, *, keep: int | None, now: datetime) -> None:
    options = list(await session.scalars(select(RebookOption).where(RebookOption.offer_id == made.id)))
    freed = [o for o in options if o.id != keep]
    for option in freed:
        await scheduling.release_held(session, option.slot_id)
    made.ended_at = now
    await waitlist.slots_freed(session, {o.schedule_id for o in freed}, now=now)


async def _seeing_patients(session: AsyncSession, query: Select[tuple[Schedule]]) -> list[Schedule]:
    found = []
    for schedule in await session.scalars(query.limit(CANDIDATES)):
        if await catalog.sees_patients(session, doctor_id=schedule.doctor_id, department_id=schedule.department_id):
            found.append(schedule)
    return found


async def _person_is_free(session: AsyncSession, *, appointment: Appointment, schedule: Schedule) -> bool:
    try:
        await appointments.check_not_duplicate(
            session, person_index=appointment.person_index, doctor_id=schedule.doctor_id, day=schedule.visit_date
        )
    except DuplicateBooking:
        return False
    return True


def _closes_at(schedule: Schedule, hospital: Hospital) -> datetime:
    return scheduling_rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)
