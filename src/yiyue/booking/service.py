"""Booking (预约) and cancellation: the hot path.

Every rule lives here; the database decides the races. A slot is claimed by one atomic UPDATE and the
appointment is guarded by partial unique indexes, so two requests can never end with the same slot or
the same visit person twice with one doctor on one day, whatever order they run in.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.booking import appointments, holds, hotpath, read_model, release_window, rules, waitlist
from yiyue.booking.errors import (
    AppointmentNotFound,
    BookingBanned,
    BookingLimit,
    DoctorUnavailable,
    IdempotencyKeyReused,
    SlotNotFound,
    SlotTaken,
    SoldOut,
    VisitPersonHasAppointments,
)
from yiyue.booking.gate import BookingGate
from yiyue.booking.lifecycle import refund_owed, transition
from yiyue.booking.models import (
    ACTIVE,
    OCCUPYING,
    Appointment,
    AppointmentStatus,
    BookingBan,
    IdempotencyRecord,
)
from yiyue.booking.rules import MemberShareOnly, NotReleased
from yiyue.booking.schemas import BookingRequest
from yiyue.core import outbox
from yiyue.core.db import begin_write, on_close
from yiyue.core.errors import Conflict, NotFound
from yiyue.core.events import AppointmentCancelled
from yiyue.core.pagination import paginate
from yiyue.hospitals import service as catalog
from yiyue.hospitals.models import Hospital
from yiyue.members import service as members
from yiyue.members.rules import Privileges
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, Slot, SlotStatus

CANCELLABLE = (AppointmentStatus.PENDING_PAYMENT, AppointmentStatus.BOOKED)


async def book(
    session: AsyncSession,
    *,
    account_id: int,
    request: BookingRequest,
    idempotency_key: str,
    gate: BookingGate,
    now: datetime,
    payment_hold: timedelta = timedelta(minutes=15),
) -> hotpath.Booked:
    """Books a slot for one of the caller's visit persons.

    Rules: the schedule is open, released (a member whose level books early: from the release less its
    minutes) and before its cut-off; the members' share of the session (会员预留号源) goes to members
    with that privilege until it opens to everyone; the visit person is the caller's, and
    the person (the ID number, whichever account booked for it) has no other appointment with this doctor
    that day and is under the hospital's limit of active appointments; the account is not banned for
    no-shows. A key already used for the same request answers
    with the booking it made. The fee is the session's less the level's discount (rounded down to the
    fen, in the patient's favour). Where the hospital takes payment online the slot is held for
    ``payment_hold`` (``pending_payment``); otherwise the booking is confirmed at once.
    """

    # The gate admits the booking with a token while the claims in flight leave a slot free (SOLD_OUT
    # otherwise); the token comes back when the unit of work ends, unless it commits a claim.
    ticket = await gate.admit(session, request.schedule_id, account_id)
    if ticket.unknown and gate.crowded(ticket):  # a crowd at a count not known: read it once, not queue
        await gate.learn(ticket, lambda: _free_slots(session, request.schedule_id, now))
    # Bookings queue for a turn at the schedule, then (SQLite) for the writer's lock; by the time a
    # turn comes, the one before may have taken the last slot.
    on_close(session, await gate.turns.take(request.schedule_id))
    await begin_write(session, recheck=lambda: gate.readmit(ticket))
    fingerprint = _fingerprint(request)
    booked = await hotpath.book_at_once(
        session,
        account_id=account_id,
        request=request,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        now=now,
        payment_hold=payment_hold,
    )
    if booked is None:  # refused, or no slot free at once: the long way says why (or books after all)
        booked = await _book_step_by_step(
            session,
            account_id=account_id,
            request=request,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            gate=gate,
            now=now,
            payment_hold=payment_hold,
        )
    if booked.remaining is not None:  # a claim: the database's count becomes the gate's once it commits
        schedule_id = booked.appointment.schedule_id
        holders = await _holders(session, schedule_id) if booked.remaining == 0 else None
        gate.claimed(session, schedule_id, remaining=booked.remaining, holders=holders)
    return booked


async def _book_step_by_step(
    session: AsyncSession,
    *,
    account_id: int,
    request: BookingRequest,
    idempotency_key: str,
    fingerprint: str,
    gate: BookingGate,
    now: datetime,
    payment_hold: timedelta,
) -> hotpath.Booked:
    """``book``'s rules one statement at a time, in their order: the long way, which names the refusal."""
    # The account lock orders this account's concurrent requests: twins of one key and bookings racing
    # the active limit are decided one after another, each seeing what the one before committed.
    await accounts.lock_account(session, account_id)
    replay = await _replay(session, account_id=account_id, key=idempotency_key, fingerprint=fingerprint)
    if replay is not None:
        await read_model.load(session, [replay.id])
        return hotpath.Booked(replay, (await members.privileges(session, account_id)).can_cancel_late)
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=request.patient_id)
    schedule = await scheduling.get_for_update(session, request.schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    perks = await members.privileges(session, account_id)
    await _check_bookable(session, schedule, hospital, perks=perks, now=now)
    if not await catalog.sees_patients(session, doctor_id=schedule.doctor_id, department_id=schedule.department_id):
        raise DoctorUnavailable()
    await check_not_banned(session, account_id=account_id, now=now)
    accounts.require_verified(person)
    await release_window.refuse_while_drawing(session, schedule=schedule, hospital=hospital, now=now)
    await appointments.check_not_duplicate(
        session, person_index=person.id_number_index, doctor_id=schedule.doctor_id, day=schedule.visit_date
    )
    await check_active_limit(session, person_index=person.id_number_index, hospital=hospital)

    pay_first = rules.pays_first(schedule, hospital, perks)
    if pay_first:  # 占号限制: at most max_unpaid_holds unpaid holds at once (under the account lock)
        await holds.check_room_for_hold(session, account_id=account_id, hospital=hospital, now=now)
    share = perks.member_share or rules.member_share_open(schedule, hospital, now=now)
    slot = await scheduling.claim_slot(
        session, schedule_id=schedule.id, slot_id=request.slot_id, hold=pay_first, members_share=share, now=now
    )
    if slot is None and request.slot_id is None:
        # Every free slot was locked by a booking still in flight: wait for them, one of them may roll back.
        slot = await scheduling.claim_slot(
            session, schedule_id=schedule.id, slot_id=None, hold=pay_first, wait=True, members_share=share, now=now
        )
    if slot is None:
        raise await _why_no_slot(
            session,
            schedule=schedule,
            hospital=hospital,
            slot_id=request.slot_id,
            gate=gate,
            members_share=share,
            now=now,
        )

    appointment = await hotpath.add_booking(
        session,
        account_id=account_id,
        person=person,
        schedule=schedule,
        slot=slot,
        pay_first=pay_first,
        payment_hold=payment_hold,
        now=now,
        discount_percent=perks.discount_percent,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    await read_model.load(session, [appointment.id])
    return hotpath.Booked(appointment, perks.can_cancel_late, await scheduling.remaining(session, schedule.id, now=now))


async def cancel(
    session: AsyncSession,
    *,
    account_id: int,
    appointment_id: int,
    reason: str,
    now: datetime,
    reopen_delay: tuple[int, int] = rules.FREED_SLOT_DELAY_SECONDS,
) -> Appointment:
    """Cancels before the hospital's deadline (退号截止), or until the session starts for a member whose
    level allows late cancellation (延时退号); the slot is bookable again once this commits. An unpaid
    hold let go counts towards the hold-abuse ban (``holds.ban_if_abusing``), and its slot, unless the
    waitlist takes it, re-opens only after a random delay within ``reopen_delay`` seconds."""
    await begin_write(session)
    appointment = await _own_for_update(session, account_id=account_id, appointment_id=appointment_id)
    schedule = await scheduling.get(session, appointment.schedule_id)
    hospital = await session.get_one(Hospital, appointment.hospital_id)
    perks = await members.privileges(session, account_id)
    terms = rules.cancel_terms(
        appointment, hospital, rules.cancel_deadline(schedule, hospital), now=now, can_cancel_late=perks.can_cancel_late
    )
    if terms.refusal is not None:
        raise terms.refusal
    was_paid = terms.refund_on_cancel
    was_hold = appointment.status == AppointmentStatus.PENDING_PAYMENT
    if was_paid:
        refund_owed(appointment)
    transition(session, appointment, AppointmentStatus.CANCELLED, now=now, reason=reason or "患者取消")
    appointment.cancelled_at = now
    await scheduling.release_slot(session, appointment.slot_id, onsite=appointment.channel == "onsite")
    await waitlist.slots_freed(session, [schedule.id], now=now)
    if was_hold:
        await holds.reopen_later(
            session, slots=[(schedule.id, appointment.slot_id)], now=now, delay_bounds=reopen_delay
        )
    # Payments refunds a paid booking in full (cancelled before the deadline); notifications tells the patient.
    outbox.add(session, AppointmentCancelled(appointment_id=appointment.id, refund=was_paid), now=now)
    await session.flush()
    if was_hold:
        await holds.ban_if_abusing(session, account_id=account_id, hospital=hospital, now=now)
    return appointment


async def active_ban(
    session: AsyncSession, *, account_id: int, now: datetime, kind: str | None = None
) -> BookingBan | None:
    """The ban (爽约限制, or 占号限制 of kind ``hold_abuse``) in force for this account now, the one that
    lasts longest (of ``kind`` only, if given); a ban the hospital lifted early no longer counts."""
    query = select(BookingBan).where(
        BookingBan.account_id == account_id,
        BookingBan.starts_at <= now,
        BookingBan.ends_at > now,
        BookingBan.lifted_at.is_(None),
    )
    if kind is not None:
        query = query.where(BookingBan.kind == kind)
    ban: BookingBan | None = await session.scalar(query.order_by(BookingBan.ends_at.desc()).limit(1))
    return ban


async def check_not_banned(session: AsyncSession, *, account_id: int, now: datetime) -> None:
    ban = await active_ban(session, account_id=account_id, now=now)
    if ban is not None:
        raise BookingBanned(
            rules.ban_refusal(ban.kind, ban.reason, ban.ends_at),
            detail={"until": ban.ends_at.isoformat(), "kind": ban.kind},
        )


async def get_own(session: AsyncSession, *, account_id: int, appointment_id: int) -> Appointment:
    """One of the caller's appointments; anyone else's is reported as not found."""
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None or appointment.account_id != account_id:
        raise AppointmentNotFound()
    return appointment


async def list_own(
    session: AsyncSession, *, account_id: int, statuses: list[AppointmentStatus] | None, offset: int, limit: int
) -> tuple[list[Appointment], int]:
    """The account's appointments: those still to come first, soonest first, then the rest, newest first."""
    query = select(Appointment).where(Appointment.account_id == account_id)
    if statuses:
        query = query.where(Appointment.status.in_(statuses))
    to_come = Appointment.status.in_(ACTIVE)
    order = (
        case((to_come, 0), else_=1),
        case((to_come, Appointment.visit_date), else_=None).asc(),
        case((to_come, Appointment.slot_id), else_=None).asc(),
        Appointment.visit_date.desc(),
        Appointment.id.desc(),
    )
    return await paginate(session, query.order_by(*order), offset=offset, limit=limit)


async def remove_visit_person(session: AsyncSession, *, account_id: int, visit_person_id: int, now: datetime) -> None:
    """A 就诊人 with appointments still to come cannot be removed; cancel those first."""
    await begin_write(session)
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=visit_person_id)
    pending = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(Appointment.visit_person_id == person.id, Appointment.status.in_(ACTIVE))
    )
    if pending:
        raise VisitPersonHasAppointments()
    await accounts.remove_visit_person(session, person=person, now=now)


def _fingerprint(request: BookingRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


async def _replay(session: AsyncSession, *, account_id: int, key: str, fingerprint: str) -> Appointment | None:
    record = await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    return await session.get(Appointment, record.appointment_id)


async def check_active_limit(session: AsyncSession, *, person_index: str, hospital: Hospital) -> None:
    """The hospital's limit of unvisited appointments counts per person, across every account that books
    for them: a family booking for five members gets five times the room, a scalper with five accounts
    for one ID number none."""
    active = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .where(
            Appointment.person_index == person_index,
            Appointment.hospital_id == hospital.id,
            Appointment.status.in_(ACTIVE),
        )
    )
    if (active or 0) >= hospital.max_active_appointments:
        raise BookingLimit(f"该就诊人在本院的待就诊预约已达上限（{hospital.max_active_appointments}个）")


async def _check_bookable(
    session: AsyncSession, schedule: Schedule, hospital: Hospital, *, perks: Privileges, now: datetime
) -> None:
    try:
        rules.check_bookable(schedule, hospital, now=now, early_minutes=perks.early_booking_minutes)
    except NotReleased:
        windows = await members.early_windows(session)
        if windows:  # say when members book, with the same refusal
            rules.check_bookable(
                schedule, hospital, now=now, early_minutes=perks.early_booking_minutes, early_windows=windows
            )
        raise


async def _why_no_slot(
    session: AsyncSession,
    *,
    schedule: Schedule,
    hospital: Hospital,
    slot_id: int | None,
    gate: BookingGate,
    members_share: bool,
    now: datetime,
) -> Conflict | NotFound:
    remaining = await scheduling.remaining(session, schedule.id, now=now)
    if remaining == 0:
        # Counted now: this unit of work rolls back with the refusal, so nothing after commit would run.
        await gate.sold_out(session, schedule.id, await _holders(session, schedule.id))
        return SoldOut()
    if slot_id is not None:
        slot = await session.get(Slot, slot_id)
        if slot is None or slot.schedule_id != schedule.id:
            return SlotNotFound()
        if slot.status == SlotStatus.AVAILABLE and slot.reopens_at is not None and slot.reopens_at > now:
            return SlotTaken()
        if slot.member_only and slot.status == SlotStatus.AVAILABLE and not members_share:
            refusal = rules.member_share_refusal(schedule, hospital)
            return MemberShareOnly(refusal.text.replace("剩余号源", "该号源", 1), detail=refusal.detail)
    elif not members_share and await scheduling.remaining(session, schedule.id, members_share=False, now=now) == 0:
        return rules.member_share_refusal(schedule, hospital)
    return SlotTaken()


async def _free_slots(
    session: AsyncSession, schedule_id: int, now: datetime
) -> tuple[int, frozenset[int] | None] | None:
    """The schedule's free slots for the gate's count, with the holders when none is left; None for a
    schedule that is not open (unknown or 停诊), whose bookings are refused for that, not as sold out."""
    remaining = await scheduling.remaining_if_open(session, schedule_id, now=now)
    if remaining is None:
        return None
    return remaining, (await _holders(session, schedule_id) if remaining == 0 else None)


async def _holders(session: AsyncSession, schedule_id: int) -> frozenset[int]:
    """Accounts holding a slot of the schedule: only they can have a booking there to replay."""
    rows = await session.scalars(
        select(Appointment.account_id)
        .where(Appointment.schedule_id == schedule_id, Appointment.status.in_(OCCUPYING))
        .distinct()
    )
    return frozenset(rows)


async def _own_for_update(session: AsyncSession, *, account_id: int, appointment_id: int) -> Appointment:
    appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None or appointment.account_id != account_id:
        raise AppointmentNotFound()
    return appointment
