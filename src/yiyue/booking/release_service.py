"""抽签放号: entering a session's release window and the draw at its close.

Entering. During the window (``release_at`` for ``hospital.release_window_seconds``) a patient enters one
of their visit persons (``enter``): checked as a booking would be (the session takes bookings, its
doctor sees patients, the person's real name is verified, the account is not banned, the person has no
appointment with that doctor that day), but no slot is taken. One entry per person (ID number) and
session, whichever account asks: the same person again answers the entry there is. Entries carry no
order: whoever entered first has no advantage. The entry's weight is 1 plus the account's member
level's booking priority (the members' hook): weighting is always applied; a hospital that gives its
levels no priority has every weight 1.

The draw (``run_draw``) runs at the close, as a job (``ReleaseWindowCloses``, delayed to the close when the
first entry is made) and from a minute sweep (``undrawn``) that catches any window whose job was lost.
One unit of work under the schedule's exclusive lock (entries take it shared, so none slips in while the
draw reads them): a new seed (``secrets.token_hex(32)``), ``booking.draw.pick`` over (entry id, weight)
with the session's free online slots at the close as capacity, and the record (``ReleaseDraw``, one per
session: the draw is idempotent). Each winner is checked again (ban, duplicate, active limit, person
still there) and gets an appointment exactly like a booking (held for payment where the hospital takes
payment online); a winner who became ineligible is lost with the reason; the others lose with
``LOST_IN_DRAW``. Every entry's result is told (``ReleaseEntryDecided``). Slots the draw did not fill
(fewer entrants than slots, an ineligible winner) stay open for booking as usual.

The record can be re-run by anyone (``draw_record``: seed, algorithm, capacity, entries with weights,
drawn winners); ``yiyue draw verify`` does so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import service as accounts
from yiyue.accounts.models import VisitPerson
from yiyue.booking import appointments, draw, holds, release_window, rules
from yiyue.booking import service as booking
from yiyue.booking.errors import DoctorUnavailable
from yiyue.booking.models import ReleaseDraw, ReleaseEntry, ReleaseEntryStatus
from yiyue.booking.release_window import (
    NotReleaseWindow,
    ReleaseDrawNotFound,
    ReleaseEntryNotFound,
    ReleaseNotOpen,
    ReleaseWindowClosed,
)
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import DomainError
from yiyue.core.events import ReleaseEntryDecided, ReleaseWindowCloses
from yiyue.core.pagination import paginate
from yiyue.hospitals import service as catalog
from yiyue.hospitals.models import Hospital
from yiyue.members import service as members
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule

LOST_IN_DRAW = "未抽中"
"""``result_reason`` of an entry the draw did not pick; any other reason of a lost entry means it was
drawn but could not be booked (its reason says why)."""
NO_SLOT = "号源已被占用"


async def enter(
    session: AsyncSession, *, account_id: int, schedule_id: int, visit_person_id: int, now: datetime
) -> tuple[ReleaseEntry, bool]:
    """Enters one of the caller's visit persons in the session's draw; (entry, made now). The person's
    entry there already (made from any account) is answered as it is, even after the close.

    The checks read before the unit of work writes (on SQLite writers take turns: a turn is only the
    insert); the schedule row is then taken shared, as a booking takes it, and the person's entry
    looked for again."""
    person = await accounts.get_visit_person(session, account_id=account_id, visit_person_id=visit_person_id)
    schedule = await scheduling.get(session, schedule_id)
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    if not release_window.is_window(schedule, hospital):
        raise NotReleaseWindow()
    existing = await _entry_of(session, schedule_id=schedule.id, person_index=person.id_number_index)
    if existing is not None:
        return existing, False
    ends = release_window.closes_at(schedule, hospital)
    if now < schedule.release_at:
        raise ReleaseNotOpen(
            f"该时段将于{release_window.window_words(schedule, hospital)}抽签放号，请届时参加",
            detail={"release_at": schedule.release_at.isoformat(), "window_closes_at": ends.isoformat()},
        )
    if now >= ends:
        raise ReleaseWindowClosed(detail={"window_closes_at": ends.isoformat()})
    rules.check_bookable(schedule, hospital, now=now)
    if not await catalog.sees_patients(session, doctor_id=schedule.doctor_id, department_id=schedule.department_id):
        raise DoctorUnavailable()
    accounts.require_verified(person)  # 实名认证 (issue 9 C): only a verified person enters
    await booking.check_not_banned(session, account_id=account_id, now=now)
    await appointments.check_not_duplicate(
        session, person_index=person.id_number_index, doctor_id=schedule.doctor_id, day=schedule.visit_date
    )
    perks = await members.privileges(session, account_id)
    await begin_write(session)
    # Shared: the draw takes the row exclusively, so an entry is either in the draw or refused as late.
    schedule = await scheduling.get_for_update(session, schedule_id)
    if await session.scalar(select(ReleaseDraw.id).where(ReleaseDraw.schedule_id == schedule.id)) is not None:
        raise ReleaseWindowClosed(detail={"window_closes_at": ends.isoformat()})
    existing = await _entry_of(session, schedule_id=schedule.id, person_index=person.id_number_index)
    if existing is not None:
        return existing, False
    entry = ReleaseEntry(
        schedule_id=schedule.id,
        account_id=account_id,
        visit_person_id=person.id,
        person_index=person.id_number_index,
        weight=weight_of(perks.booking_priority),
        status=ReleaseEntryStatus.QUEUED,
        result_reason="",
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # another account entered the same person meanwhile
        found = await _entry_of(session, schedule_id=schedule.id, person_index=person.id_number_index)
        if found is None:
            raise
        return found, False
    others = await session.scalar(
        select(ReleaseEntry.id).where(ReleaseEntry.schedule_id == schedule.id, ReleaseEntry.id != entry.id).limit(1)
    )
    if others is None:  # the first entry: the draw is due at the close (two firsts at once: it runs once)
        outbox.add(session, ReleaseWindowCloses(schedule_id=schedule.id), now=now, delay=ends - now)
    return entry, True


def weight_of(booking_priority: int) -> int:
    """The draw's weight of an entrant: 1 plus the member level's booking priority (never below 1)."""
    return 1 + max(booking_priority, 0)


async def run_draw(
    session: AsyncSession, *, schedule_id: int, now: datetime, payment_hold: timedelta = timedelta(minutes=15)
) -> ReleaseDraw | None:
    """Draws the session's entries if its window has closed: the record, made now or earlier; None
    while the window is open or when nobody entered (nothing to record)."""
    await begin_write(session)
    # Winners' holds are counted against their accounts' limits: the accounts are locked first, in order,
    # as booking locks them (account, then schedule), so a booking racing the draw cannot deadlock it.
    entrants = await session.scalars(
        select(ReleaseEntry.account_id).where(ReleaseEntry.schedule_id == schedule_id).distinct()
    )
    for account_id in sorted(set(entrants)):
        await accounts.lock_account(session, account_id)
    schedule = await scheduling.lock_for_suspension(session, schedule_id)
    done = await session.scalar(select(ReleaseDraw).where(ReleaseDraw.schedule_id == schedule.id))
    if done is not None:
        return done
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    if now < release_window.closes_at(schedule, hospital):
        return None
    entries = list(
        await session.scalars(
            select(ReleaseEntry)
            .where(ReleaseEntry.schedule_id == schedule.id)
            .order_by(ReleaseEntry.id)
            .execution_options(populate_existing=True)
        )
    )
    if not entries:
        return None
    # Members' privilege in a draw is their weight; the members' share (会员预留) stays theirs until it opens,
    # and a freed number still waiting to re-open is not drawn.
    share = rules.member_share_open(schedule, hospital, now=now)
    capacity = await scheduling.remaining(session, schedule.id, members_share=share, now=now)
    seed = secrets.token_hex(32)
    winners = draw.pick(seed, [(e.id, e.weight) for e in entries], capacity)
    record = ReleaseDraw(
        schedule_id=schedule.id,
        seed=seed,
        algorithm=draw.ALGORITHM,
        capacity=capacity,
        entries=len(entries),
        winners=len(winners),
        drawn_at=now,
    )
    session.add(record)
    await session.flush()
    by_id = {e.id: e for e in entries}
    for entry_id in winners:
        await _book_winner(
            session, by_id[entry_id], schedule, hospital, now=now, payment_hold=payment_hold, members_share=share
        )
    won = set(winners)
    for entry in entries:
        if entry.id not in won:
            entry.status, entry.result_reason = ReleaseEntryStatus.LOST, LOST_IN_DRAW
        entry.decided_at = now
        outbox.add(session, ReleaseEntryDecided(entry_id=entry.id), now=now)
    await session.flush()
    return record


async def _book_winner(
    session: AsyncSession,
    entry: ReleaseEntry,
    schedule: Schedule,
    hospital: Hospital,
    *,
    now: datetime,
    payment_hold: timedelta,
    members_share: bool,
) -> None:
    """The winner's appointment, as a booking would make it (the unpaid-hold limit included); or lost with
    the reason it cannot be had."""
    try:
        async with session.begin_nested():
            person = await session.get(VisitPerson, entry.visit_person_id)
            if person is None or person.deleted_at is not None or person.account_id != entry.account_id:
                raise _Ineligible("就诊人已删除")
            accounts.require_verified(person)
            rules.check_bookable(schedule, hospital, now=now)
            if not await catalog.sees_patients(
                session, doctor_id=schedule.doctor_id, department_id=schedule.department_id
            ):
                raise DoctorUnavailable()
            await booking.check_not_banned(session, account_id=entry.account_id, now=now)
            await appointments.check_not_duplicate(
                session, person_index=entry.person_index, doctor_id=schedule.doctor_id, day=schedule.visit_date
            )
            await booking.check_active_limit(session, person_index=entry.person_index, hospital=hospital)
            perks = await members.privileges(session, entry.account_id)
            if rules.pays_first(schedule, hospital, perks):
                await holds.check_room_for_hold(session, account_id=entry.account_id, hospital=hospital, now=now)
            slot = await scheduling.claim_slot(
                session,
                schedule_id=schedule.id,
                slot_id=None,
                hold=True,
                wait=True,
                members_share=members_share,
                now=now,
            )
            if slot is None:
                raise _Ineligible(NO_SLOT)
            appointment = await appointments.book_held_slot(
                session,
                account_id=entry.account_id,
                person=person,
                schedule=schedule,
                hospital=hospital,
                slot=slot,
                perks=perks,
                payment_hold=payment_hold,
                reason="抽签中签",
                now=now,
            )
    except DomainError as refused:
        entry.status = ReleaseEntryStatus.LOST
        entry.result_reason = refused.text[:100]
        return
    entry.status = ReleaseEntryStatus.WON
    entry.appointment_id = appointment.id
    entry.result_reason = ""


class _Ineligible(DomainError):
    code = "RELEASE_INELIGIBLE"
    message = "不再符合预约条件"


async def undrawn(session: AsyncSession, *, now: datetime) -> list[int]:
    """Sessions whose window has closed with entries still queued and no draw: the sweep draws them."""
    drawn = exists().where(ReleaseDraw.schedule_id == ReleaseEntry.schedule_id)
    rows = await session.execute(
        select(Schedule, Hospital)
        .join(Hospital, Hospital.id == Schedule.hospital_id)
        .where(
            Schedule.id.in_(
                select(ReleaseEntry.schedule_id)
                .where(ReleaseEntry.status == ReleaseEntryStatus.QUEUED, ~drawn)
                .distinct()
            ),
            Schedule.release_at <= now,
        )
        .order_by(Schedule.release_at, Schedule.id)
    )
    return [s.id for s, h in rows.tuples() if release_window.closes_at(s, h) <= now]


async def get_own(session: AsyncSession, *, account_id: int, entry_id: int) -> ReleaseEntry:
    """An entry the caller made, or one of a person the caller also keeps (a family's second account is
    answered with the entry the first made: one per ID number); anyone else's is reported as not found."""
    entry = await session.get(ReleaseEntry, entry_id)
    if entry is None:
        raise ReleaseEntryNotFound()
    if entry.account_id != account_id and not await _keeps_person(session, account_id, entry.person_index):
        raise ReleaseEntryNotFound()
    return entry


async def _keeps_person(session: AsyncSession, account_id: int, person_index: str) -> bool:
    kept = exists().where(
        VisitPerson.account_id == account_id,
        VisitPerson.id_number_index == person_index,
        VisitPerson.deleted_at.is_(None),
    )
    return bool(await session.scalar(select(kept)))


async def list_own(
    session: AsyncSession, *, account_id: int, offset: int, limit: int
) -> tuple[list[ReleaseEntry], int]:
    """The account's entries: those still queued first, then the rest, newest first."""
    query = (
        select(ReleaseEntry)
        .where(ReleaseEntry.account_id == account_id)
        .order_by(
            case((ReleaseEntry.status == ReleaseEntryStatus.QUEUED, 0), else_=1),
            ReleaseEntry.created_at.desc(),
            ReleaseEntry.id.desc(),
        )
    )
    return await paginate(session, query, offset=offset, limit=limit)


@dataclass(frozen=True)
class DrawRecord:
    """What anyone may re-run: ``draw.pick(seed, entries, capacity)`` must give ``winners``."""

    schedule_id: int
    algorithm: str
    seed: str
    capacity: int
    drawn_at: datetime
    entries: list[tuple[int, int]]
    """(entry id, weight) of every entry, by id."""
    winners: list[int]
    """The entries the draw picked (booked, or lost for a reason found after the pick), by id."""
    booked: list[int]
    """Of ``winners``, those that got their appointment."""

    def reproduces(self) -> bool:
        """Whether re-running the draw from this record picks the same winners."""
        return draw.verify(self.seed, self.entries, self.capacity, self.winners)


async def draw_record(session: AsyncSession, schedule_id: int) -> DrawRecord:
    await scheduling.get(session, schedule_id)
    record = await session.scalar(select(ReleaseDraw).where(ReleaseDraw.schedule_id == schedule_id))
    if record is None:
        raise ReleaseDrawNotFound()
    rows = await session.execute(
        select(ReleaseEntry.id, ReleaseEntry.weight, ReleaseEntry.status, ReleaseEntry.result_reason)
        .where(ReleaseEntry.schedule_id == schedule_id)
        .order_by(ReleaseEntry.id)
    )
    entries: list[tuple[int, int]] = []
    winners: list[int] = []
    booked: list[int] = []
    for entry_id, weight, status, reason in rows.tuples():
        entries.append((entry_id, weight))
        if status == ReleaseEntryStatus.WON:
            booked.append(entry_id)
        if status == ReleaseEntryStatus.WON or (status == ReleaseEntryStatus.LOST and reason != LOST_IN_DRAW):
            winners.append(entry_id)
    return DrawRecord(
        schedule_id=schedule_id,
        algorithm=record.algorithm,
        seed=record.seed,
        capacity=record.capacity,
        drawn_at=record.drawn_at,
        entries=entries,
        winners=winners,
        booked=booked,
    )


async def _entry_of(session: AsyncSession, *, schedule_id: int, person_index: str) -> ReleaseEntry | None:
    entry: ReleaseEntry | None = await session.scalar(
        select(ReleaseEntry).where(ReleaseEntry.schedule_id == schedule_id, ReleaseEntry.person_index == person_index)
    )
    return entry
