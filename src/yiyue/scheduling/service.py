"""Schedules (排班) and slots (号源): making them, reading them, claiming and returning slots."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Update, and_, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.dml import ReturningUpdate
from sqlalchemy.sql.elements import Label

from yiyue.core.clock import local, local_today
from yiyue.core.db import UtcDateTime, begin_write
from yiyue.core.errors import Conflict, NotFound
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling import rules
from yiyue.scheduling.models import Period, Schedule, ScheduleStatus, ScheduleTemplate, Slot, SlotStatus

SLOTS_ADDED = "scheduling.slots_added"
"""``Database.listeners`` channel: schedules that got more bookable numbers, once the unit of work commits
(the booking gate reopens them if it had marked them sold out)."""


class ScheduleNotFound(NotFound):
    code = "SCHEDULE_NOT_FOUND"
    message = "排班不存在"


class ScheduleExists(Conflict):
    code = "SCHEDULE_EXISTS"
    message = "该医生在此时段已有排班"


@dataclass(frozen=True)
class ScheduleSpec:
    doctor: Doctor
    visit_date: date
    period: Period
    capacity: int
    onsite_quota: int = 0
    """The last numbers kept for walk-ins (现场号), never booked online."""
    slot_minutes: int | None = None
    """Length of each arrival window; None: 15 or 30 minutes by the crowd."""


async def create_schedule(
    session: AsyncSession,
    *,
    hospital: Hospital,
    doctor: Doctor,
    visit_date: date,
    period: Period,
    capacity: int,
    onsite_quota: int = 0,
    slot_minutes: int | None = None,
) -> Schedule:
    """Makes a schedule with slots 1..capacity, the last ``onsite_quota`` of them kept on site; it opens at
    the hospital's release time."""
    existing = await session.scalar(
        select(Schedule.id).where(
            Schedule.doctor_id == doctor.id, Schedule.visit_date == visit_date, Schedule.period == period
        )
    )
    if existing is not None:
        raise ScheduleExists()
    [schedule] = await create_schedules(
        session,
        hospital=hospital,
        specs=[ScheduleSpec(doctor, visit_date, period, capacity, onsite_quota, slot_minutes)],
    )
    return schedule


async def create_schedules(session: AsyncSession, *, hospital: Hospital, specs: list[ScheduleSpec]) -> list[Schedule]:
    """Makes many schedules of one hospital at once: one batch of schedules, one batch of slots. The
    last of each session's online numbers are the members' share when the hospital keeps one
    (``member_share_percent``).

    A clash with an existing schedule surfaces as the unique constraint's IntegrityError.
    """
    schedules = [_new_schedule(hospital, spec) for spec in specs]
    session.add_all(schedules)
    await session.flush()
    slot_rows = [
        {
            "schedule_id": s.id,
            "number": w.number,
            "starts_at": w.starts_at,
            "ends_at": w.ends_at,
            "status": rules.slot_status(w.number, s.capacity, s.onsite_quota),
            "member_only": w.number in reserved,
        }
        for s, spec in zip(schedules, specs, strict=True)
        for reserved in [_members_share_of(s.capacity, s.onsite_quota, hospital)]
        for w in rules.slot_windows(s.starts_at, s.ends_at, s.capacity, spec.slot_minutes)
    ]
    if slot_rows:
        await session.execute(insert(Slot), slot_rows)
    return schedules


def _members_share_of(capacity: int, onsite_quota: int, hospital: Hospital) -> frozenset[int]:
    online = [n for n in range(1, capacity + 1) if rules.slot_status(n, capacity, onsite_quota) == SlotStatus.AVAILABLE]
    return rules.member_share(online, hospital.member_share_percent or 0)


async def mark_member_share(session: AsyncSession, *, schedule_id: int, hospital: Hospital) -> None:
    """Lays the members' share (会员预留号源) out again over a session's slots after its numbers changed:
    the last ``member_share_percent`` of its online numbers (every number not kept on site). Only free
    slots change; a taken one keeps its flag until it is given back. The caller has begun the write."""
    slots = list(await session.scalars(select(Slot).where(Slot.schedule_id == schedule_id).order_by(Slot.number)))
    reserved = rules.member_share(
        [s.number for s in slots if s.status != SlotStatus.ONSITE], hospital.member_share_percent
    )
    changes = [
        {"id": s.id, "member_only": s.number in reserved}
        for s in slots
        if s.status == SlotStatus.AVAILABLE and s.member_only != (s.number in reserved)
    ]
    if changes:
        await session.execute(update(Slot), changes)


def _new_schedule(hospital: Hospital, spec: ScheduleSpec) -> Schedule:
    if spec.doctor.hospital_id != hospital.id:
        raise ValueError("a schedule's doctor must work at its hospital")
    starts_at, ends_at = rules.session_bounds(spec.visit_date, spec.period)
    return Schedule(
        hospital_id=hospital.id,
        department_id=spec.doctor.department_id,
        doctor_id=spec.doctor.id,
        visit_date=spec.visit_date,
        period=spec.period,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=spec.capacity,
        onsite_quota=spec.onsite_quota,
        fee_fen=spec.doctor.fee_fen,
        release_at=rules.release_at(
            spec.visit_date, release_days=hospital.release_days, release_time=hospital.release_time
        ),
        status=ScheduleStatus.OPEN,
    )


async def get(session: AsyncSession, schedule_id: int) -> Schedule:
    schedule = await session.get(Schedule, schedule_id)
    if schedule is None:
        raise ScheduleNotFound()
    return schedule


async def get_for_update(session: AsyncSession, schedule_id: int) -> Schedule:
    """The schedule row, locked on PostgreSQL so a suspension (停诊) and a booking cannot interleave."""
    schedule = await session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update(read=True))
    if schedule is None:
        raise ScheduleNotFound()
    return schedule


async def lock_for_suspension(session: AsyncSession, schedule_id: int) -> Schedule:
    """The schedule row locked against bookings in flight (they hold a share lock on it)."""
    schedule = await session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())
    if schedule is None:
        raise ScheduleNotFound()
    return schedule


async def list_slots(session: AsyncSession, schedule_id: int) -> list[Slot]:
    await get(session, schedule_id)
    return list(await session.scalars(select(Slot).where(Slot.schedule_id == schedule_id).order_by(Slot.number)))


@dataclass(frozen=True)
class ScheduleAvailability:
    schedule: Schedule
    remaining: int
    """Free online slots, the members' share included."""
    member_only: int = 0
    """Of ``remaining``, slots of the members' share (bookable by everyone once the share opens)."""


async def doctor_schedules(
    session: AsyncSession, *, doctor_id: int, start: date, end: date, now: datetime | None = None
) -> list[ScheduleAvailability]:
    """``now``: slots re-opening later (``Slot.reopens_at``) are not counted free before then."""
    rows = await session.execute(
        select(Schedule, _remaining_subquery(now=now), _remaining_subquery(member_only=True, now=now))
        .where(Schedule.doctor_id == doctor_id, Schedule.visit_date >= start, Schedule.visit_date <= end)
        .order_by(Schedule.visit_date, Schedule.starts_at)
    )
    return [ScheduleAvailability(schedule, remaining, members) for schedule, remaining, members in rows.tuples()]


async def department_schedules_on(
    session: AsyncSession, *, department_id: int, visit_date: date, now: datetime | None = None
) -> list[ScheduleAvailability]:
    """Every schedule of a clinic (科室) on one day, with remaining slots, for the doctor list."""
    rows = await session.execute(
        select(Schedule, _remaining_subquery(now=now), _remaining_subquery(member_only=True, now=now))
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .where(Schedule.department_id == department_id, Schedule.visit_date == visit_date, Doctor.active.is_(True))
        .order_by(Schedule.starts_at)
    )
    return [ScheduleAvailability(schedule, remaining, members) for schedule, remaining, members in rows.tuples()]


def reopened_by(now: datetime | ColumnElement[datetime], slot: type[Slot] = Slot) -> ColumnElement[bool]:
    """SQL: the slot is not waiting to re-open (``reopens_at``, a let-go unpaid hold's slot) after ``now``."""
    return or_(slot.reopens_at.is_(None), slot.reopens_at <= now)


async def remaining_if_open(session: AsyncSession, schedule_id: int, *, now: datetime) -> int | None:
    """``remaining`` of an open schedule, in one statement; None for a schedule unknown or 停诊."""
    free = (
        select(func.count())
        .select_from(Slot)
        .where(Slot.schedule_id == schedule_id, Slot.status == SlotStatus.AVAILABLE, reopened_by(now))
        .scalar_subquery()
    )
    row = (await session.execute(select(Schedule.status, free).where(Schedule.id == schedule_id))).one_or_none()
    if row is None or row[0] != ScheduleStatus.OPEN:
        return None
    return int(row[1])


async def remaining(
    session: AsyncSession, schedule_id: int, *, members_share: bool = True, now: datetime | None = None
) -> int:
    """Free online slots; without ``members_share``, those a claimer without the members' privilege may
    take (the members' share left out). With ``now``, slots re-opening later than ``now`` are not free."""
    query = (
        select(func.count())
        .select_from(Slot)
        .where(Slot.schedule_id == schedule_id, Slot.status == SlotStatus.AVAILABLE)
    )
    if now is not None:
        query = query.where(reopened_by(now))
    if not members_share:
        query = query.where(Slot.member_only.is_(False))
    return int(await session.scalar(query) or 0)


async def claim_slot(
    session: AsyncSession,
    *,
    schedule_id: int,
    slot_id: int | None,
    hold: bool,
    wait: bool = False,
    onsite: bool = False,
    members_share: bool = True,
    now: datetime | None = None,
) -> Slot | None:
    """Takes one free slot in a single atomic UPDATE; None when there is none to take.

    Free means ``available`` (online), or with ``onsite`` kept for walk-ins at the window (现场号). With
    ``slot_id`` that slot, else the lowest free number. Without ``members_share`` the members' share
    (``Slot.member_only``) is out of reach: pass False for a claimer whose level lacks the privilege while
    the share is not yet open to everyone (``rules.member_share_opens_at``). On PostgreSQL concurrent
    claimers skip rows another transaction has locked (unless ``wait``), so they spread over free slots
    instead of queueing on one; the outer status re-check makes the statement safe on its own under any
    isolation level.

    ``now``: a claimer from the open pool (a patient booking) passes it, and a slot freed by a let-go
    unpaid hold is out of reach until its ``reopens_at``; the waitlist hand-over and 停诊 rebooking offers
    (which go first by design) pass None.
    """
    statement = _claim(
        schedule_id=schedule_id,
        slot_id=slot_id,
        hold=hold,
        wait=wait,
        onsite=onsite,
        members_share=members_share,
        now=now,
    )
    claimed: Slot | None = await session.scalar(statement.returning(Slot))
    return claimed


@dataclass(frozen=True)
class Claimed:
    slot: Slot
    remaining: int
    """Free online slots of the schedule left after this claim (as ``remaining`` with ``now`` counts them),
    as the claiming statement saw them."""


async def claim_guarded(
    session: AsyncSession,
    *,
    schedule_id: int,
    slot_id: int | None,
    hold: bool,
    members_share: bool,
    now: datetime,
    guard_key: Hashable,
    guard: Callable[[], Sequence[ColumnElement[bool]]],
    guard_params: Mapping[str, object],
) -> Claimed | None:
    """``claim_slot`` for a patient booking from the open pool, in one statement that also checks the
    caller's guard (SQL conditions that must all hold: the booking rules that read other rows) and counts
    what is left; None when a guard fails or no slot is free (the caller asks why, step by step). Never
    waits for a slot locked by a claimer in flight.

    The statement is built once per shape and ``guard_key`` (``guard()`` makes its conditions, with bind
    parameters whose values are ``guard_params``; names starting ``claim_`` are taken), so
    a booking does not pay for building and fingerprinting it again."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    shape = (slot_id is not None, hold, members_share, sqlite, guard_key)
    statement = _GUARDED_CLAIMS.get(shape)
    if statement is None:
        statement = _GUARDED_CLAIMS[shape] = _guarded_claim(
            slot_chosen=slot_id is not None, hold=hold, members_share=members_share, counted=not sqlite, guard=guard()
        )
    params = {**guard_params, "claim_schedule": schedule_id, "claim_now": now}
    if slot_id is not None:
        params["claim_slot"] = slot_id
    row = (await session.execute(statement, params)).first()
    if row is None:
        return None
    if sqlite:  # its RETURNING cannot hold a subquery: counted after
        return Claimed(row[0], await remaining(session, schedule_id, now=now))
    slot, count = row._tuple()
    return Claimed(slot, int(count))


_GUARDED_CLAIMS: dict[tuple[object, ...], ReturningUpdate[Any]] = {}


def _guarded_claim(
    *, slot_chosen: bool, hold: bool, members_share: bool, counted: bool, guard: Sequence[ColumnElement[bool]]
) -> ReturningUpdate[Any]:
    schedule_id = bindparam("claim_schedule", type_=BigInteger)
    now = bindparam("claim_now", type_=UtcDateTime)
    pool = SlotStatus.AVAILABLE
    conditions = [Slot.schedule_id == schedule_id, Slot.status == pool, reopened_by(now), *guard]
    if slot_chosen:
        conditions.append(Slot.id == bindparam("claim_slot", type_=BigInteger))
    else:
        free = aliased(Slot)  # not the UPDATE's own table, or SQLAlchemy would correlate the two
        choosable = [free.schedule_id == schedule_id, free.status == pool, reopened_by(now, free)]
        if not members_share:
            choosable.append(free.member_only.is_(False))
        target = select(free.id).where(*choosable).order_by(free.number).limit(1).with_for_update(skip_locked=True)
        conditions.append(Slot.id == target.scalar_subquery())
    if not members_share:
        conditions.append(Slot.member_only.is_(False))
    statement = (
        update(Slot)
        .where(and_(*conditions))
        .values(status=SlotStatus.HELD if hold else SlotStatus.BOOKED)
        .execution_options(synchronize_session=False)
    )
    if not counted:
        return statement.returning(Slot)
    # The other free slots as this statement sees them: the claimed one is left out by id, since whether a
    # statement's subquery sees its own update differs between databases.
    others = aliased(Slot)
    left = (
        select(func.count())
        .select_from(others)
        .where(
            others.schedule_id == schedule_id,
            others.status == SlotStatus.AVAILABLE,
            others.id != Slot.id,
            reopened_by(now, others),
        )
        .scalar_subquery()
    )
    return statement.returning(Slot, left)


def _claim(
    *,
    schedule_id: int,
    slot_id: int | None,
    hold: bool,
    wait: bool,
    onsite: bool,
    members_share: bool,
    now: datetime | None,
) -> Update:
    new_status = SlotStatus.HELD if hold else SlotStatus.BOOKED
    pool = SlotStatus.ONSITE if onsite else SlotStatus.AVAILABLE
    if slot_id is not None:
        target = select(literal(slot_id))
    else:
        free = aliased(Slot)  # not the UPDATE's own table, or SQLAlchemy would correlate the two
        choosable = [free.schedule_id == schedule_id, free.status == pool]
        if not members_share:
            choosable.append(free.member_only.is_(False))
        if now is not None:
            choosable.append(reopened_by(now, free))
        target = select(free.id).where(*choosable).order_by(free.number).limit(1).with_for_update(skip_locked=not wait)
    conditions = [Slot.id == target.scalar_subquery(), Slot.schedule_id == schedule_id, Slot.status == pool]
    if not members_share:
        conditions.append(Slot.member_only.is_(False))
    if now is not None:
        conditions.append(reopened_by(now))
    return update(Slot).where(and_(*conditions)).values(status=new_status).execution_options(synchronize_session=False)


async def confirm_slot(session: AsyncSession, slot_id: int) -> None:
    """A held slot (awaiting payment) becomes booked."""
    await session.execute(
        update(Slot).where(Slot.id == slot_id, Slot.status == SlotStatus.HELD).values(status=SlotStatus.BOOKED)
    )


async def release_held(session: AsyncSession, slot_id: int) -> None:
    """A slot held with no appointment on it (a 停诊 rebooking offer) goes back to the online pool."""
    await session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.status == SlotStatus.HELD)
        .values(status=SlotStatus.AVAILABLE)  # a freed number still waiting to re-open keeps its moment
    )


async def release_slot(session: AsyncSession, slot_id: int, *, onsite: bool = False) -> None:
    """Returns a slot to the pool it came from: bookable online again as soon as the transaction commits,
    or (``onsite``: a walk-in's number, 现场号) kept back for the window again. (A let-go unpaid hold's slot
    is then delayed by ``booking.holds.reopen_later``.)"""
    status = SlotStatus.ONSITE if onsite else SlotStatus.AVAILABLE
    await session.execute(update(Slot).where(Slot.id == slot_id).values(status=status, reopens_at=None))


def _remaining_subquery(*, member_only: bool = False, now: datetime | None = None) -> Label[int]:
    """Free online slots of the schedule; with ``member_only``, only those of the members' share; with
    ``now``, not those re-opening later."""
    conditions = [Slot.schedule_id == Schedule.id, Slot.status == SlotStatus.AVAILABLE]
    if now is not None:
        conditions.append(reopened_by(now))
    if member_only:
        conditions.append(Slot.member_only.is_(True))
    return (
        select(func.count())
        .where(*conditions)
        .correlate(Schedule)
        .scalar_subquery()
        .label("member_only" if member_only else "remaining")
    )


@dataclass(frozen=True)
class DayTotals:
    visit_date: date
    capacity: int
    remaining: int
    release_at: datetime


async def department_days(
    session: AsyncSession, *, department_id: int, start: date, end: date, now: datetime | None = None
) -> list[DayTotals]:
    """Capacity and free slots per day for a clinic (科室), for the date strip."""
    per_schedule = (
        select(Schedule.visit_date, Schedule.capacity, _remaining_subquery(now=now), Schedule.release_at)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .where(
            Doctor.active.is_(True),
            Schedule.department_id == department_id,
            Schedule.visit_date >= start,
            Schedule.visit_date <= end,
            Schedule.status == ScheduleStatus.OPEN,
        )
        .subquery()
    )
    rows = await session.execute(
        select(
            per_schedule.c.visit_date,
            func.sum(per_schedule.c.capacity),
            func.sum(per_schedule.c.remaining),
            func.min(per_schedule.c.release_at),
        )
        .group_by(per_schedule.c.visit_date)
        .order_by(per_schedule.c.visit_date)
    )
    return [DayTotals(d, int(cap), int(rem), rel) for d, cap, rem, rel in rows.tuples()]


async def release_from_templates(session: AsyncSession, *, now: datetime) -> int:
    """放号: at each hospital's daily release time, the day entering its booking window gets its
    schedules from the doctors' weekly templates. Each hospital remembers how far it has released
    (``released_through``): days the job missed are caught up, days released before are never made
    again (a session the hospital removed stays removed). Returns how many schedules were made."""
    made = 0
    for hospital in list(await session.scalars(select(Hospital).order_by(Hospital.id))):
        last_open = _last_released_day(hospital, now)
        first = max(local_today(now), hospital.released_through or local_today(now)) + timedelta(days=1)
        if first > last_open:
            continue
        await begin_write(session)
        hospital.released_through = last_open
        days = [first + timedelta(days=i) for i in range((last_open - first).days + 1)]
        made += await make_from_templates(session, hospital=hospital, days=days)
    return made


async def make_from_templates(session: AsyncSession, *, hospital: Hospital, days: list[date]) -> int:
    """The schedules the hospital's active weekly templates give for ``days``, with their slot length and
    on-site numbers; a doctor who has left (or whose clinic closed), and a session that exists already
    (or any schedule of that doctor, day and period), get none. The caller has called ``begin_write``.
    Returns how many were made."""
    templates = list(
        await session.scalars(
            select(ScheduleTemplate).where(
                ScheduleTemplate.hospital_id == hospital.id, ScheduleTemplate.active.is_(True)
            )
        )
    )
    if not templates or not days:
        return 0
    existing = set(
        (
            await session.execute(
                select(Schedule.doctor_id, Schedule.visit_date, Schedule.period).where(
                    Schedule.hospital_id == hospital.id, Schedule.visit_date.in_(days)
                )
            )
        ).tuples()
    )
    doctors = {
        d.id: d
        for d in await session.scalars(
            select(Doctor)
            .join(Department, Department.id == Doctor.department_id)
            .where(Doctor.hospital_id == hospital.id, Doctor.active.is_(True), Department.active.is_(True))
        )
    }
    specs = [
        ScheduleSpec(doctors[t.doctor_id], day, Period(t.period), t.capacity, t.onsite_quota, t.slot_minutes)
        for day in days
        for t in templates
        if t.weekday == day.weekday() and (t.doctor_id, day, t.period) not in existing and t.doctor_id in doctors
    ]
    if specs:
        await create_schedules(session, hospital=hospital, specs=specs)
    return len(specs)


def _last_released_day(hospital: Hospital, now: datetime) -> date:
    """The furthest day whose slots are open by ``now``: today + release_days once today's release time
    has passed, one day less before it."""
    today = local_today(now)
    released_today = local(now).time() >= hospital.release_time
    return today + timedelta(days=hospital.release_days if released_today else hospital.release_days - 1)
