"""候补 as the patient uses it: join a sold-out session's waitlist, see the place in line, confirm the slot
held for them, or leave. The hand-over of freed slots is ``booking.waitlist``.

Joining and confirming check what booking checks (the session takes bookings, the person has no other
appointment with the doctor that day, no ban, the active limit at confirmation); the database decides the
races (one open entry per person and session: a partial unique index; the held slot is the entry's alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.accounts.models import VisitPerson
from yiyue.booking import appointments, holds, rules, waitlist
from yiyue.booking import service as booking
from yiyue.booking.errors import DoctorUnavailable
from yiyue.booking.models import OPEN_WAITLIST, Appointment, WaitlistEntry, WaitlistStatus
from yiyue.booking.waitlist import (
    WaitlistAlreadyBooked,
    WaitlistClosed,
    WaitlistEntryNotFound,
    WaitlistExists,
    WaitlistLimit,
    WaitlistNotNeeded,
    WaitlistNotOffered,
    WaitlistOfferExpired,
)
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import DomainError
from yiyue.core.events import WaitlistBookingCloses
from yiyue.core.pagination import paginate
from yiyue.hospitals import service as catalog
from yiyue.hospitals.models import Hospital
from yiyue.members import service as members
from yiyue.members.rules import Privileges
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, Slot


async def join(
    session: AsyncSession, *, account_id: int, schedule_id: int, visit_person_id: int, now: datetime
) -> WaitlistEntry:
    """Puts one of the caller's visit persons on a session's waitlist.

    Rules: the session takes bookings (open, released, before its cut-off) and is sold out online; the
    person has no appointment with this doctor that day and no open entry for this session (whichever
    account made it); the account is not banned and has fewer than the hospital's
    ``waitlist_max_entries`` open entries there. The place in line is the member level's booking
    priority now, then the time of joining.
    """
    await begin_write(session)
    await accounts.lock_account(session, account_id)  # this account's joins race its limit one at a time
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=visit_person_id)
    # Exclusive: a slot freed meanwhile is either seen here (no need to wait) or handed to this entry.
    schedule = await scheduling.lock_for_suspension(session, schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    perks = await members.privileges(session, account_id)
    await _check_can_book(
        session, account_id=account_id, person=person, schedule=schedule, hospital=hospital, perks=perks, now=now,
        joining=True,
    )  # fmt: skip
    if await scheduling.remaining(session, schedule.id, now=now) > 0:
        # Only the members' share left, and not for this account yet: it opens to everyone later.
        share = perks.member_share or rules.member_share_open(schedule, hospital, now=now)
        if not share and await scheduling.remaining(session, schedule.id, members_share=False, now=now) == 0:
            raise rules.member_share_refusal(schedule, hospital)
        raise WaitlistNotNeeded()
    if await _open_entry_of(session, schedule_id=schedule.id, person_index=person.id_number_index):
        raise WaitlistExists()
    if await _open_entries_at(session, account_id=account_id, hospital_id=hospital.id) >= hospital.waitlist_max_entries:
        raise WaitlistLimit(f"您在本院进行中的候补已达上限（{hospital.waitlist_max_entries}个）")
    entry = WaitlistEntry(
        schedule_id=schedule.id,
        account_id=account_id,
        visit_person_id=person.id,
        person_index=person.id_number_index,
        hospital_id=hospital.id,
        doctor_id=schedule.doctor_id,
        visit_date=schedule.visit_date,
        priority=perks.booking_priority,
        joined_at=now,
        status=WaitlistStatus.WAITING,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # another account joined for the same person meanwhile
        raise WaitlistExists() from None
    closes_at = scheduling_rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)
    outbox.add(session, WaitlistBookingCloses(entry_id=entry.id), now=now, delay=closes_at - now)
    return entry


async def confirm(
    session: AsyncSession,
    *,
    account_id: int,
    entry_id: int,
    now: datetime,
    payment_hold: timedelta = timedelta(minutes=15),
) -> Appointment:
    """Books the slot held for the caller's entry: an appointment on it with the member discount, to pay
    first where the hospital takes payment online (the same slot, held for the payment), else booked.

    Refused unless the entry is the caller's, offered and within its time; and as a booking would be
    (the session still takes bookings, no ban, no other appointment with the doctor that day, under the
    active limit). The person's other open entries with that doctor that day end (their slots pass on).
    """
    await begin_write(session)
    await accounts.lock_account(session, account_id)
    # Refused before taking the row: a waiting entry locked here would be passed over by a hand-over.
    _check_confirmable(await _own(session, account_id=account_id, entry_id=entry_id, lock=False), now=now)
    entry = await _own(session, account_id=account_id, entry_id=entry_id, lock=True)
    _check_confirmable(entry, now=now)
    assert entry.slot_id is not None  # an offered entry holds its slot
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=entry.visit_person_id)
    schedule = await scheduling.get_for_update(session, entry.schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    perks = await members.privileges(session, account_id)
    await _check_can_book(
        session, account_id=account_id, person=person, schedule=schedule, hospital=hospital, perks=perks, now=now
    )
    await booking.check_active_limit(session, person_index=person.id_number_index, hospital=hospital)
    if rules.pays_first(schedule, hospital, perks):  # 占号限制, as booking
        await holds.check_room_for_hold(session, account_id=account_id, hospital=hospital, now=now)
    slot = await session.get_one(Slot, entry.slot_id)
    appointment = await appointments.book_held_slot(
        session,
        account_id=account_id,
        person=person,
        schedule=schedule,
        hospital=hospital,
        slot=slot,
        perks=perks,
        payment_hold=payment_hold,
        reason="候补预约",
        now=now,
    )
    entry.status = WaitlistStatus.BOOKED
    entry.appointment_id = appointment.id
    for other in await _other_open_entries_that_day(session, entry):
        await waitlist.give_back(session, other, waitlist.BOOKED_ELSEWHERE, now=now)
    await session.flush()
    return appointment


async def leave(session: AsyncSession, *, account_id: int, entry_id: int, now: datetime) -> None:
    """Leaves the line (已取消候补); a slot held for the entry passes to the next. Leaving an entry that
    has ended already changes nothing; a booked one is cancelled as an appointment, not here."""
    await begin_write(session)
    entry = await _own(session, account_id=account_id, entry_id=entry_id, lock=True)
    if entry.status == WaitlistStatus.BOOKED:
        raise WaitlistAlreadyBooked(
            "该候补已预约成功，如需取消请在我的预约中取消", detail={"appointment_id": entry.appointment_id}
        )
    if entry.status == WaitlistStatus.ENDED:
        return
    await waitlist.give_back(session, entry, waitlist.LEFT, now=now)


async def get_own(session: AsyncSession, *, account_id: int, entry_id: int) -> WaitlistEntry:
    """One of the caller's entries; anyone else's is reported as not found."""
    return await _own(session, account_id=account_id, entry_id=entry_id, lock=False)


async def list_own(
    session: AsyncSession, *, account_id: int, offset: int, limit: int
) -> tuple[list[WaitlistEntry], int]:
    """The account's entries: offered ones first (their time runs), then those waiting, soonest session
    first; then the rest, newest first."""
    rank = case(
        (WaitlistEntry.status == WaitlistStatus.OFFERED, 0),
        (WaitlistEntry.status == WaitlistStatus.WAITING, 1),
        else_=2,
    )
    is_open = WaitlistEntry.status.in_(OPEN_WAITLIST)
    query = (
        select(WaitlistEntry)
        .where(WaitlistEntry.account_id == account_id)
        .order_by(
            rank,
            case((is_open, WaitlistEntry.visit_date), else_=None).asc(),
            WaitlistEntry.joined_at.desc(),
            WaitlistEntry.id.desc(),
        )
    )
    return await paginate(session, query, offset=offset, limit=limit)


@dataclass(frozen=True)
class ScheduleLine:
    """A session's waitlist as anyone may see it (the 候补 button)."""

    waiting: int
    can_join: bool
    """The session takes bookings and has no free online slot: joining would be accepted (rules about
    the caller aside)."""
    hold_minutes: int


async def schedule_line(session: AsyncSession, *, schedule_id: int, now: datetime) -> ScheduleLine:
    schedule = await scheduling.get(session, schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    waiting = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(WaitlistEntry.schedule_id == schedule_id, WaitlistEntry.status == WaitlistStatus.WAITING)
    )
    return ScheduleLine(
        waiting=int(waiting or 0),
        can_join=_takes_bookings(schedule, hospital, now=now)
        and await scheduling.remaining(session, schedule_id, now=now) == 0,
        hold_minutes=hospital.waitlist_hold_minutes,
    )


async def _check_can_book(
    session: AsyncSession,
    *,
    account_id: int,
    person: VisitPerson,
    schedule: Schedule,
    hospital: Hospital,
    perks: Privileges,
    now: datetime,
    joining: bool = False,
) -> None:
    """What booking checks of the session, the account and the person: the session takes bookings (a
    member's early window included) and its doctor sees patients, the account is not banned, the person
    has no appointment with the doctor that day, and is 实名认证 verified (a rename since joining undoes it)."""
    accounts.require_verified(person)
    rules.check_bookable(schedule, hospital, now=now, early_minutes=perks.early_booking_minutes)
    if not await catalog.sees_patients(session, doctor_id=schedule.doctor_id, department_id=schedule.department_id):
        raise DoctorUnavailable()
    await booking.check_not_banned(session, account_id=account_id, now=now)
    await appointments.check_not_duplicate(
        session,
        person_index=person.id_number_index,
        doctor_id=schedule.doctor_id,
        day=schedule.visit_date,
        message="该就诊人当天已预约过这位医生，无需候补" if joining else None,
    )


def _takes_bookings(schedule: Schedule, hospital: Hospital, *, now: datetime) -> bool:
    try:
        rules.check_bookable(schedule, hospital, now=now)
    except DomainError:
        return False
    return True


def _check_confirmable(entry: WaitlistEntry, *, now: datetime) -> None:
    if entry.status == WaitlistStatus.BOOKED:
        raise WaitlistAlreadyBooked(detail={"appointment_id": entry.appointment_id})
    if entry.status == WaitlistStatus.ENDED:
        because = f"（{entry.end_reason}）" if entry.end_reason else ""
        raise WaitlistClosed(f"该候补已结束{because}")
    if entry.status == WaitlistStatus.WAITING:
        raise WaitlistNotOffered()
    if entry.offer_expires_at is None or entry.offer_expires_at <= now:
        raise WaitlistOfferExpired()


async def _own(session: AsyncSession, *, account_id: int, entry_id: int, lock: bool) -> WaitlistEntry:
    query = select(WaitlistEntry).where(WaitlistEntry.id == entry_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    entry = await session.scalar(query)
    if entry is None or entry.account_id != account_id:
        raise WaitlistEntryNotFound()
    return entry


async def _open_entry_of(session: AsyncSession, *, schedule_id: int, person_index: str) -> bool:
    found = await session.scalar(
        select(WaitlistEntry.id).where(
            WaitlistEntry.schedule_id == schedule_id,
            WaitlistEntry.person_index == person_index,
            WaitlistEntry.status.in_(OPEN_WAITLIST),
        )
    )
    return found is not None


async def _open_entries_at(session: AsyncSession, *, account_id: int, hospital_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(WaitlistEntry)
        .where(
            WaitlistEntry.account_id == account_id,
            WaitlistEntry.hospital_id == hospital_id,
            WaitlistEntry.status.in_(OPEN_WAITLIST),
        )
    )
    return int(count or 0)


async def _other_open_entries_that_day(session: AsyncSession, entry: WaitlistEntry) -> list[WaitlistEntry]:
    return list(
        await session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.id != entry.id,
                WaitlistEntry.person_index == entry.person_index,
                WaitlistEntry.doctor_id == entry.doctor_id,
                WaitlistEntry.visit_date == entry.visit_date,
                WaitlistEntry.status.in_(OPEN_WAITLIST),
            )
            .order_by(WaitlistEntry.schedule_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
