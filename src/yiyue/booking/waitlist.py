"""候补 (waitlist): patients wait for a sold-out session; a freed slot is held for the head of the line.

The hand-over (``slots_freed``) runs in the unit of work that freed the slots — a cancellation, an unpaid
hold running out, a 停诊 rebooking offer ending, an offer of this waitlist lapsing or let go, the hospital
raising a session's numbers. For each of those schedules with someone waiting it takes the schedule row
(a share lock: a 停诊 cannot interleave), then while there is a free online slot and a waiting entry it
holds the slot (``held``, like an unpaid booking) for the head of the line — higher member priority
first, then who joined first — and tells them (``WaitlistOffered``; ``WaitlistOfferEnds`` is delayed to
the offer's end). Only schedules left with a free slot reach the booking gate, so a slot freed while
someone waits never goes back to the open pool: it changes hands inside one transaction.

Races. On PostgreSQL two hand-overs of one schedule run side by side (the schedule lock is shared);
each takes the head it can lock (``FOR UPDATE SKIP LOCKED``) and the slot it can claim (the atomic claim),
so two slots go to two people and one person never gets two. Joining takes the schedule row exclusively
(``lock_for_suspension``): a join and a slot being freed are ordered, so either the join sees the free
slot (``WAITLIST_NOT_NEEDED``) or the hand-over sees the entry — never a free slot in the pool with an
entry waiting for it. The partial unique index keeps one open entry per person and schedule. On SQLite
writers take turns anyway.

Capacity raised by staff. ``scheduling`` sits below ``booking`` and cannot import it, and an outbox event
would be handled after the commit, leaving the new numbers in the open pool meanwhile (anyone could book
them ahead of the line). So ``scheduling.staff_service.change_numbers`` calls the hooks registered with
``on_numbers_added`` inside its own unit of work, under its exclusive lock of the schedule, and this module
registers ``slots_freed`` there when it is imported (the app and the job workers import booking). With no
hook registered (scheduling alone) the gate is told directly, as before.

Ends. An entry ends when its patient leaves (已取消候补), when its offer runs out unconfirmed (超时未确认:
the slot passes on), when the person books that doctor that day some other way (已预约该医生当日号源, seen
at hand-over and when an entry is confirmed), on 停诊 (医生停诊), and when the session stops taking
bookings (已停止挂号: ``WaitlistBookingCloses``, delayed to the cut-off when the entry is made). Each end
states ``WaitlistEnded``; notifications decides what the patient is told.

The patient's side (join, confirm, leave, lists) is ``booking.waitlist_service``: it needs booking's own
checks (bans, limits), and ``booking.service`` imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import gate as inventory
from yiyue.booking.models import OCCUPYING, OPEN_WAITLIST, Appointment, WaitlistEntry, WaitlistStatus
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, NotFound
from yiyue.core.events import WaitlistBookingCloses, WaitlistEnded, WaitlistOffered, WaitlistOfferEnds
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling import service as scheduling
from yiyue.scheduling import staff_service
from yiyue.scheduling.models import Schedule, ScheduleStatus

LEFT = "已取消候补"
LAPSED = "超时未确认"
BOOKED_ELSEWHERE = "已预约该医生当日号源"
SUSPENDED = "医生停诊"
CLOSED = "已停止挂号"
"""Why an entry ended (``end_reason``), in the patient's words."""


class WaitlistEntryNotFound(NotFound):
    code = "WAITLIST_NOT_FOUND"
    message = "候补记录不存在"


class WaitlistNotNeeded(Conflict):
    code = "WAITLIST_NOT_NEEDED"
    message = "该时段尚有号源，请直接预约"


class WaitlistExists(Conflict):
    code = "WAITLIST_EXISTS"
    message = "该就诊人已在此时段候补中，请勿重复候补"


class WaitlistLimit(Conflict):
    code = "WAITLIST_LIMIT"
    message = "您在本院进行中的候补已达上限"


class WaitlistNotOffered(Conflict):
    code = "WAITLIST_NOT_OFFERED"
    message = "尚未为您保留号源，请耐心等待候补"


class WaitlistOfferExpired(Conflict):
    code = "WAITLIST_OFFER_EXPIRED"
    message = "为您保留的候补号源已超过确认时间，已顺延给下一位候补患者"


class WaitlistAlreadyBooked(Conflict):
    code = "WAITLIST_ALREADY_BOOKED"
    message = "该候补已预约成功，请在我的预约中查看"


class WaitlistClosed(Conflict):
    code = "WAITLIST_ENDED"
    message = "该候补已结束"


def in_line(schedule_id: int) -> Select[tuple[WaitlistEntry]]:
    """The schedule's waiting entries in the order they are offered: member priority (at join) first, then
    who joined first (the id breaks ties of one instant)."""
    return (
        select(WaitlistEntry)
        .where(WaitlistEntry.schedule_id == schedule_id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.joined_at, WaitlistEntry.id)
    )


def ahead_of(entry: type[WaitlistEntry], other: type[WaitlistEntry]) -> ColumnElement[bool]:
    """SQL: ``other`` (an alias) waits ahead of ``entry`` in the same line, in the order of ``in_line``."""
    return and_(
        other.schedule_id == entry.schedule_id,
        other.status == WaitlistStatus.WAITING,
        or_(
            other.priority > entry.priority,
            and_(
                other.priority == entry.priority,
                or_(other.joined_at < entry.joined_at, and_(other.joined_at == entry.joined_at, other.id < entry.id)),
            ),
        ),
    )


async def slots_freed(session: AsyncSession, schedule_ids: Iterable[int], *, now: datetime) -> None:
    """Slots of these schedules went back to the online pool in this unit of work: each is held for the
    head of its schedule's waitlist first; the gate reopens only schedules left with a free slot."""
    reopen = []
    for schedule_id in sorted(set(schedule_ids)):  # one order for every unit of work: no lock cycles
        if await _hand_over(session, schedule_id, now=now):
            reopen.append(schedule_id)
    inventory.slots_freed(session, reopen)


async def _hand_over(session: AsyncSession, schedule_id: int, *, now: datetime) -> bool:
    """Offers the schedule's free online slots to its waiting entries, in order. True when the schedule may
    have a free slot left for the open pool."""
    if not await _anyone_waiting(session, schedule_id):
        return True
    schedule = await scheduling.get_for_update(session, schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    closes_at = _closes_at(schedule, hospital)
    if schedule.status == ScheduleStatus.SUSPENDED:
        return False  # its entries end with the 停诊 itself; nobody books a suspended session
    if hospital.booking_open is False:
        return True  # nobody could confirm an offer; the slots wait in the pool with the line
    if now >= closes_at:
        for late in await session.scalars(in_line(schedule_id).with_for_update(skip_locked=True)):
            end(session, late, CLOSED, now=now)
        return True
    hold = timedelta(minutes=hospital.waitlist_hold_minutes)
    while True:
        # The slot first: an entry is only locked when there is a slot for it, so a concurrent hand-over
        # never skips a head that this one looked at and left waiting.
        slot = await scheduling.claim_slot(session, schedule_id=schedule_id, slot_id=None, hold=True)
        if slot is None:
            return False  # sold out again: the line keeps waiting
        entry = await _next_in_line(session, schedule_id, now=now)
        if entry is None:
            await scheduling.release_held(session, slot.id)
            return True
        _offer(session, entry, slot_id=slot.id, expires_at=min(now + hold, closes_at), now=now)
        await session.flush()


async def _next_in_line(session: AsyncSession, schedule_id: int, *, now: datetime) -> WaitlistEntry | None:
    """The head of the line, locked; heads whose person has meanwhile booked the doctor that day end on
    the way. Heads locked by a concurrent hand-over are skipped: each is being offered its own slot."""
    while True:
        entry = await session.scalar(in_line(schedule_id).limit(1).with_for_update(skip_locked=True))
        if entry is None or not await has_appointment_that_day(session, entry):
            return entry
        end(session, entry, BOOKED_ELSEWHERE, now=now)
        await session.flush()


async def _anyone_waiting(session: AsyncSession, schedule_id: int) -> bool:
    found = await session.scalar(
        select(exists().where(WaitlistEntry.schedule_id == schedule_id, WaitlistEntry.status == WaitlistStatus.WAITING))
    )
    return bool(found)


def _offer(session: AsyncSession, entry: WaitlistEntry, *, slot_id: int, expires_at: datetime, now: datetime) -> None:
    entry.status = WaitlistStatus.OFFERED
    entry.slot_id = slot_id
    entry.offered_at = now
    entry.offer_expires_at = expires_at
    outbox.add(session, WaitlistOffered(entry_id=entry.id), now=now)
    outbox.add(session, WaitlistOfferEnds(entry_id=entry.id), now=now, delay=max(expires_at - now, timedelta(0)))


def end(session: AsyncSession, entry: WaitlistEntry, reason: str, *, now: datetime) -> None:
    """Ends an open entry (the caller gives back an offered slot) and states it for notifications."""
    entry.status = WaitlistStatus.ENDED
    entry.ended_at = now
    entry.end_reason = reason
    outbox.add(session, WaitlistEnded(entry_id=entry.id), now=now)


async def give_back(session: AsyncSession, entry: WaitlistEntry, reason: str, *, now: datetime) -> None:
    """Ends an entry; a slot held for it passes to the next in line (or back to the pool)."""
    held = entry.slot_id if entry.status == WaitlistStatus.OFFERED else None
    if held is not None:
        await scheduling.release_held(session, held)
    end(session, entry, reason, now=now)
    await session.flush()
    if held is not None:
        await slots_freed(session, [entry.schedule_id], now=now)


async def has_appointment_that_day(session: AsyncSession, entry: WaitlistEntry) -> bool:
    """The entry's person (ID number, whichever account) has an appointment with its doctor that day."""
    found = await session.scalar(
        select(
            exists().where(
                Appointment.person_index == entry.person_index,
                Appointment.doctor_id == entry.doctor_id,
                Appointment.visit_date == entry.visit_date,
                Appointment.status.in_(OCCUPYING),
            )
        )
    )
    return bool(found)


async def schedule_suspended(session: AsyncSession, *, schedule_id: int, now: datetime) -> None:
    """停诊: the session's open entries end (told as such); no slot is handed over, an offered one is
    released with the rest of the session's slots."""
    entries = list(
        await session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.schedule_id == schedule_id, WaitlistEntry.status.in_(OPEN_WAITLIST))
            .order_by(WaitlistEntry.id)
            .with_for_update()
        )
    )
    for entry in entries:
        if entry.status == WaitlistStatus.OFFERED and entry.slot_id is not None:
            await scheduling.release_held(session, entry.slot_id)
        end(session, entry, SUSPENDED, now=now)
    await session.flush()


async def offer_ends(session: AsyncSession, *, entry_id: int, now: datetime) -> None:
    """An offer's time ran out: unconfirmed, its slot passes to the next entry (or back to the pool)."""
    await begin_write(session)
    entry = await _for_update(session, entry_id)
    if entry is None or entry.status != WaitlistStatus.OFFERED:
        return  # confirmed, let go or ended meanwhile
    if entry.offer_expires_at is not None and entry.offer_expires_at > now:
        return
    await give_back(session, entry, LAPSED, now=now)


async def booking_closes(session: AsyncSession, *, entry_id: int, now: datetime) -> None:
    """The entry's session stops taking bookings (停止挂号): an entry still waiting ends. One whose cut-off
    moved later (the hospital changed its rule) is looked at again then."""
    entry = await session.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != WaitlistStatus.WAITING:
        return  # an offered entry ends with its offer, which never outlasts the cut-off
    schedule = await scheduling.get(session, entry.schedule_id)
    closes_at = _closes_at(schedule, await session.get_one(Hospital, schedule.hospital_id))
    await begin_write(session)
    if now < closes_at:
        outbox.add(session, WaitlistBookingCloses(entry_id=entry_id), now=now, delay=closes_at - now)
        return
    entry = await _for_update(session, entry_id)
    if entry is not None and entry.status == WaitlistStatus.WAITING:
        end(session, entry, CLOSED, now=now)
        await session.flush()


async def _for_update(session: AsyncSession, entry_id: int) -> WaitlistEntry | None:
    entry: WaitlistEntry | None = await session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return entry


def _closes_at(schedule: Schedule, hospital: Hospital) -> datetime:
    return scheduling_rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)


async def _numbers_added(session: AsyncSession, schedule_id: int, now: datetime) -> None:
    await slots_freed(session, [schedule_id], now=now)


staff_service.on_numbers_added(_numbers_added)
