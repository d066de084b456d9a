"""Scheduling as the hospital keeps it (排班管理): doctors' weekly templates, the schedules list, one-off
sessions and changes of numbers, and 放号 on demand.

Role and hospital scope are checked here: hospital administrators change their own hospital's
schedules; every staff role of the hospital reads them (a doctor only their own; a platform
administrator names the hospital). Another hospital's doctor or schedule is answered as not found.
Every write is audited with what it changed. 停诊 and 替诊 touch appointments, so they live in
``frontdesk``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.core import audit
from yiyue.core.clock import local_today
from yiyue.core.db import begin_write, publish_after_commit
from yiyue.core.errors import Conflict, InvalidInput
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.service import DoctorNotFound, HospitalNotFound
from yiyue.hospitals.staff_service import staff_hospital
from yiyue.scheduling import rules, service
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule, ScheduleStatus, ScheduleTemplate, Slot, SlotStatus

EDIT_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who changes templates and schedules (every staff role of the hospital may read them)."""
MAX_RANGE_DAYS = 31


class InvalidTemplate(InvalidInput):
    code = "INVALID_TEMPLATE"
    message = "排班模板有误，请按提示修改"


class DoctorInactive(Conflict):
    code = "DOCTOR_INACTIVE"
    message = "该医生已停诊离职，不能再排班"


class InvalidScheduleRange(InvalidInput):
    code = "INVALID_DATE_RANGE"
    message = f"日期范围无效：结束日期不能早于开始日期，且跨度不超过{MAX_RANGE_DAYS}天"


class ScheduleClosed(Conflict):
    code = "SCHEDULE_CLOSED"
    message = "该排班已停诊或已结束，不能修改"


class ReleaseModeLocked(Conflict):
    code = "RELEASE_MODE_LOCKED"
    message = "该排班已放号，不能再修改放号方式"


# --- weekly templates (排班模板) ----------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateCell:
    """One cell of a doctor's week: a weekday (0 = Monday) and a period; capacity 0 means no session."""

    weekday: int
    period: Period
    capacity: int
    onsite_quota: int = 0
    slot_minutes: int | None = None
    active: bool = True

    @property
    def key(self) -> str:
        return cell_key(self.weekday, self.period)


def cell_key(weekday: int, period: str) -> str:
    """How a cell is named in errors and forms: ``0-morning`` is Monday morning."""
    return f"{weekday}-{period}"


def cell_label(weekday: int, period: str) -> str:
    return f"{rules.WEEKDAY_LABELS[weekday]}{PERIOD_LABELS[Period(period)]}"


async def doctor_in_scope(session: AsyncSession, staff: StaffUser, doctor_id: int) -> Doctor:
    """The doctor, if the staff user's hospital has them (a doctor account: only themselves)."""
    doctor = await session.get(Doctor, doctor_id)
    if doctor is None:
        raise DoctorNotFound()
    require_hospital(staff, doctor.hospital_id, not_found=DoctorNotFound)
    if staff.role == StaffRole.DOCTOR and staff.doctor_id != doctor.id:
        raise DoctorNotFound()
    return doctor


async def week_of(session: AsyncSession, *, staff: StaffUser, doctor_id: int) -> tuple[Doctor, list[ScheduleTemplate]]:
    """A doctor's weekly template, cell by cell (only the cells that hold a session)."""
    doctor = await doctor_in_scope(session, staff, doctor_id)
    return doctor, await _templates_of(session, doctor.id)


async def save_week(
    session: AsyncSession, *, staff: StaffUser, doctor_id: int, cells: list[TemplateCell], now: datetime
) -> tuple[Doctor, list[ScheduleTemplate]]:
    """Saves a doctor's whole week at once: each cell given with a capacity holds that session, every
    other cell none. Every cell is checked first; with any cell wrong nothing is saved and the error
    names each wrong cell and field (``detail.cells``: ``{"0-morning": {"capacity": "..."}}``).

    Existing schedules are not touched: the templates shape the days released from now on."""
    require_role(staff, *EDIT_ROLES)
    doctor = await doctor_in_scope(session, staff, doctor_id)
    problems: dict[str, dict[str, str]] = {}
    wanted: dict[str, TemplateCell] = {}
    for cell in cells:
        if not 0 <= cell.weekday <= 6:
            problems[cell.key] = {"weekday": "星期须为0（周一）至6（周日）"}
            continue
        if cell.key in wanted:
            problems[cell.key] = {"__all__": f"{cell_label(cell.weekday, cell.period)}重复填写"}
            continue
        found = rules.template_cell_problems(cell.capacity, cell.onsite_quota, cell.slot_minutes)
        if found:
            problems[cell.key] = found
        elif cell.capacity > 0:
            wanted[cell.key] = cell
    if problems:
        raise InvalidTemplate(detail={"cells": problems})
    if wanted and not doctor.active:
        raise DoctorInactive()

    await begin_write(session)
    existing = {cell_key(t.weekday, t.period): t for t in await _templates_of(session, doctor.id)}
    before = {key: _cell_summary(t) for key, t in existing.items()}
    for key, template in existing.items():
        if key not in wanted:
            await session.delete(template)
    for key, cell in wanted.items():
        template = existing.get(key) or ScheduleTemplate(
            hospital_id=doctor.hospital_id, doctor_id=doctor.id, weekday=cell.weekday, period=cell.period
        )
        session.add(template)
        template.capacity = cell.capacity
        template.onsite_quota = cell.onsite_quota
        template.slot_minutes = cell.slot_minutes
        template.active = cell.active
    await session.flush()
    saved = await _templates_of(session, doctor.id)
    after = {cell_key(t.weekday, t.period): _cell_summary(t) for t in saved}
    if before != after:
        audit.record(
            session,
            actor=actor(staff),
            action="template.save",
            subject=f"doctor:{doctor.id}",
            at=now,
            hospital_id=doctor.hospital_id,
            detail={"before": before, "after": after},
        )
    return doctor, saved


async def _templates_of(session: AsyncSession, doctor_id: int) -> list[ScheduleTemplate]:
    rows = await session.scalars(
        select(ScheduleTemplate)
        .where(ScheduleTemplate.doctor_id == doctor_id)
        .order_by(ScheduleTemplate.weekday, ScheduleTemplate.period)
    )
    return sorted(rows, key=lambda t: (t.weekday, list(Period).index(Period(t.period))))


def _cell_summary(t: ScheduleTemplate) -> dict[str, Any]:
    return {"capacity": t.capacity, "onsite_quota": t.onsite_quota, "slot_minutes": t.slot_minutes, "active": t.active}


@dataclass(frozen=True)
class DoctorWeek:
    """A doctor of the hospital and the sessions of their weekly template, for the templates overview."""

    doctor: Doctor
    department: Department
    templates: list[ScheduleTemplate]


async def hospital_weeks(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, department_id: int | None = None
) -> list[DoctorWeek]:
    """Every doctor of the hospital (those who left last) with their weekly template."""
    require_role(staff, *EDIT_ROLES, StaffRole.PLATFORM_ADMIN)
    scope = staff_hospital(staff, hospital_id)
    query = (
        select(Doctor, Department)
        .join(Department, Department.id == Doctor.department_id)
        .where(Doctor.hospital_id == scope)
        .order_by(Doctor.active.desc(), Department.sort_order, Department.id, Doctor.id)
    )
    if department_id is not None:
        query = query.where(or_(Department.id == department_id, Department.parent_id == department_id))
    pairs = list((await session.execute(query)).tuples())
    by_doctor: dict[int, list[ScheduleTemplate]] = defaultdict(list)
    if pairs:
        templates = await session.scalars(
            select(ScheduleTemplate).where(ScheduleTemplate.doctor_id.in_([d.id for d, _ in pairs]))
        )
        for t in templates:
            by_doctor[t.doctor_id].append(t)
    order = list(Period)
    return [
        DoctorWeek(d, dept, sorted(by_doctor[d.id], key=lambda t: (t.weekday, order.index(Period(t.period)))))
        for d, dept in pairs
    ]


# --- the schedules list -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleFilter:
    start: date | None = None
    end: date | None = None
    department_id: int | None = None
    """A clinic (科室), or a top-level department (大科室) for all its clinics."""
    doctor_id: int | None = None


@dataclass(frozen=True)
class ScheduleRow:
    """A schedule as the hospital sees it: who, when, how full, and its state now."""

    schedule: Schedule
    doctor: Doctor
    department: Department
    counts: dict[str, int] = field(default_factory=dict)
    """Slots by state (``available``, ``held``, ``booked``, ``onsite``)."""
    state: str = rules.ScheduleState.OPEN

    @property
    def taken(self) -> int:
        return self.counts.get(SlotStatus.HELD, 0) + self.counts.get(SlotStatus.BOOKED, 0)

    @property
    def available(self) -> int:
        return self.counts.get(SlotStatus.AVAILABLE, 0)

    @property
    def onsite_free(self) -> int:
        return self.counts.get(SlotStatus.ONSITE, 0)


def date_range(filters: ScheduleFilter, *, today: date, release_days: int) -> tuple[date, date]:
    """The dates a list covers: by default today to the end of the booking window, at most 31 days."""
    start = filters.start or today
    end = filters.end or start + timedelta(days=min(max(release_days, 0), MAX_RANGE_DAYS - 1))
    if end < start or (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidScheduleRange()
    return start, end


async def list_schedules(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    filters: ScheduleFilter,
    offset: int,
    limit: int,
    now: datetime,
) -> tuple[list[ScheduleRow], int, tuple[date, date]]:
    """The hospital's schedules over a date range (by default from today through its booking window), in
    visiting order; a doctor sees only their own. Returns a page, the total and the range covered."""
    scope = staff_hospital(staff, hospital_id)
    hospital = await session.get(Hospital, scope)
    if hospital is None:
        raise HospitalNotFound()
    start, end = date_range(filters, today=local_today(now), release_days=hospital.release_days)
    conditions = [Schedule.hospital_id == scope, Schedule.visit_date >= start, Schedule.visit_date <= end]
    if staff.role == StaffRole.DOCTOR:
        conditions.append(Schedule.doctor_id == staff.doctor_id)
    if filters.doctor_id is not None:
        conditions.append(Schedule.doctor_id == filters.doctor_id)
    if filters.department_id is not None:
        conditions.append(
            or_(Schedule.department_id == filters.department_id, Department.parent_id == filters.department_id)
        )
    base = (
        select(Schedule, Doctor, Department)
        .join(Doctor, Doctor.id == Schedule.doctor_id)
        .join(Department, Department.id == Schedule.department_id)
        .where(*conditions)
    )
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    page = list(
        (
            await session.execute(
                base.order_by(Schedule.visit_date, Schedule.starts_at, Department.sort_order, Department.id, Doctor.id)
                .offset(offset)
                .limit(limit)
            )
        ).tuples()
    )
    counts = await _slot_counts(session, [s.id for s, _, _ in page])
    rows = [
        ScheduleRow(s, doctor, dept, counts.get(s.id, {}), rules.schedule_state(s, now=now)) for s, doctor, dept in page
    ]
    return rows, int(total or 0), (start, end)


async def schedule_row(session: AsyncSession, *, staff: StaffUser, schedule_id: int, now: datetime) -> ScheduleRow:
    """One schedule of the staff user's hospital (a doctor: their own), with its slot counts."""
    found = (
        (
            await session.execute(
                select(Schedule, Doctor, Department)
                .join(Doctor, Doctor.id == Schedule.doctor_id)
                .join(Department, Department.id == Schedule.department_id)
                .where(Schedule.id == schedule_id)
                .execution_options(populate_existing=True)  # as stored (UTC), also right after a change
            )
        )
        .tuples()
        .first()
    )
    if found is None:
        raise service.ScheduleNotFound()
    schedule, doctor, department = found
    require_hospital(staff, schedule.hospital_id, not_found=service.ScheduleNotFound)
    if staff.role == StaffRole.DOCTOR and staff.doctor_id != schedule.doctor_id:
        raise service.ScheduleNotFound()
    counts = (await _slot_counts(session, [schedule.id])).get(schedule.id, {})
    return ScheduleRow(schedule, doctor, department, counts, rules.schedule_state(schedule, now=now))


async def _slot_counts(session: AsyncSession, schedule_ids: list[int]) -> dict[int, dict[str, int]]:
    if not schedule_ids:
        return {}
    rows = await session.execute(
        select(Slot.schedule_id, Slot.status, func.count())
        .where(Slot.schedule_id.in_(schedule_ids))
        .group_by(Slot.schedule_id, Slot.status)
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for schedule_id, status, n in rows.tuples():
        counts[schedule_id][status] = int(n)
    return counts


# --- one-off sessions and changes ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    doctor_id: int
    visit_date: date
    period: Period
    capacity: int
    onsite_quota: int = 0
    slot_minutes: int | None = None
    release_mode: str | None = None
    """``fcfs`` / ``window`` (抽签放号); None follows the hospital's setting."""


async def add_schedule(session: AsyncSession, *, staff: StaffUser, new: NewSession, now: datetime) -> ScheduleRow:
    """A one-off session (临时加诊) for an active doctor of the hospital: for a period not yet begun, at
    most four weeks past the booking window. It opens at the hospital's release time for its date (at
    once when that has passed). Refused when the doctor has a session then already."""
    require_role(staff, *EDIT_ROLES)
    doctor = await doctor_in_scope(session, staff, new.doctor_id)
    if not doctor.active:
        raise DoctorInactive()
    hospital = await session.get_one(Hospital, doctor.hospital_id)
    rules.check_session(new.capacity, new.onsite_quota, new.slot_minutes)
    rules.check_visit_date(
        new.visit_date, new.period, now=now, today=local_today(now), release_days=hospital.release_days
    )
    await begin_write(session)
    schedule = await service.create_schedule(
        session,
        hospital=hospital,
        doctor=doctor,
        visit_date=new.visit_date,
        period=new.period,
        capacity=new.capacity,
        onsite_quota=new.onsite_quota,
        slot_minutes=new.slot_minutes,
    )
    schedule.release_mode = new.release_mode
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.create",
        subject=f"schedule:{schedule.id}",
        at=now,
        hospital_id=hospital.id,
        detail={
            "doctor_id": doctor.id,
            "date": new.visit_date.isoformat(),
            "period": new.period.value,
            "capacity": new.capacity,
            "onsite_quota": new.onsite_quota,
            "slot_minutes": new.slot_minutes,
            "release_mode": new.release_mode,
        },
    )
    return await schedule_row(session, staff=staff, schedule_id=schedule.id, now=now)


async def set_release_mode(
    session: AsyncSession, *, staff: StaffUser, schedule_id: int, mode: str | None, now: datetime
) -> ScheduleRow:
    """Sets how a session is released (issue 9 A): ``fcfs`` 先到先得, ``window`` 抽签放号, or None (the
    hospital's setting). Only before its release: changing the rules once patients queue is not fair."""
    require_role(staff, *EDIT_ROLES)
    if mode is not None and mode not in rules.RELEASE_MODES:
        raise rules.InvalidSession(f"放号方式无效：{mode}")
    await begin_write(session)
    schedule = await service.lock_for_suspension(session, schedule_id)
    require_hospital(staff, schedule.hospital_id, not_found=service.ScheduleNotFound)
    if schedule.status == ScheduleStatus.SUSPENDED or schedule.ends_at <= now:
        raise ScheduleClosed()
    if schedule.release_at <= now:
        raise ReleaseModeLocked()
    before = schedule.release_mode
    schedule.release_mode = mode
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.release_mode",
        subject=f"schedule:{schedule.id}",
        at=now,
        hospital_id=schedule.hospital_id,
        detail={"before": before, "after": mode},
    )
    return await schedule_row(session, staff=staff, schedule_id=schedule.id, now=now)


async def change_numbers(
    session: AsyncSession,
    *,
    staff: StaffUser,
    schedule_id: int,
    capacity: int | None,
    onsite_quota: int | None,
    now: datetime,
) -> ScheduleRow:
    """Changes a session's numbers (号源数) and on-site numbers (现场号); either left None stays.

    Before release: never below the highest number already taken; appended numbers follow the last,
    shrinking removes free numbers at the end, the on-site numbers are the last ones again and the free
    slots' time windows are laid out anew for the count.
    After release the numbers only grow (现场号 only with them) and the slots kept keep their time
    windows; new ones get windows of the session's slot length. Bookings of the session wait for the
    change (its row is locked); free numbers go first to the patients waiting for the session
    (``on_numbers_added``: the waitlist), and the booking gate reopens it for the rest once the change
    commits."""
    require_role(staff, *EDIT_ROLES)
    await begin_write(session)
    schedule = await service.lock_for_suspension(session, schedule_id)  # bookings wait for the change
    require_hospital(staff, schedule.hospital_id, not_found=service.ScheduleNotFound)
    if schedule.status == ScheduleStatus.SUSPENDED or schedule.ends_at <= now:
        raise ScheduleClosed()
    capacity = schedule.capacity if capacity is None else capacity
    onsite_quota = schedule.onsite_quota if onsite_quota is None else onsite_quota
    before = {"capacity": schedule.capacity, "onsite_quota": schedule.onsite_quota}
    slots = list(await session.scalars(select(Slot).where(Slot.schedule_id == schedule.id).order_by(Slot.number)))
    released = schedule.release_at <= now
    plan = rules.plan_resize(
        {s.number: s.status for s in slots},
        capacity=capacity,
        onsite_quota=onsite_quota,
        old_quota=schedule.onsite_quota,
        released=released,
    )
    windows = {
        w.number: w for w in rules.slot_windows(schedule.starts_at, schedule.ends_at, capacity, _slot_minutes(slots))
    }
    if plan.remove:
        await session.execute(
            delete(Slot)
            .where(Slot.schedule_id == schedule.id, Slot.number.in_(plan.remove), Slot.status.not_in(rules.TAKEN))
            .execution_options(synchronize_session=False)
        )
    if not released:  # free numbers laid out again: on-site ones last, time windows for the new count
        kept = [s for s in slots if s.number in plan.statuses and s.number not in plan.add]
        if kept:
            await session.execute(
                update(Slot),
                [
                    {
                        "id": s.id,
                        "status": plan.statuses[s.number],
                        "starts_at": windows[s.number].starts_at,
                        "ends_at": windows[s.number].ends_at,
                    }
                    for s in kept
                ],
            )
    if plan.add:
        await session.execute(
            insert(Slot),
            [
                {
                    "schedule_id": schedule.id,
                    "number": n,
                    "starts_at": windows[n].starts_at,
                    "ends_at": windows[n].ends_at,
                    "status": plan.statuses[n],
                }
                for n in plan.add
            ],
        )
    schedule.capacity = capacity
    schedule.onsite_quota = onsite_quota
    await session.flush()
    # The members' share (会员预留号源) follows the new numbers: the last of the online ones again.
    hospital = await session.get_one(Hospital, schedule.hospital_id)
    await service.mark_member_share(session, schedule_id=schedule.id, hospital=hospital)
    if SlotStatus.AVAILABLE in plan.statuses.values():
        await _numbers_added(session, schedule.id, now)
    after = {"capacity": capacity, "onsite_quota": onsite_quota}
    if before != after:
        audit.record(
            session,
            actor=actor(staff),
            action="schedule.update",
            subject=f"schedule:{schedule.id}",
            at=now,
            hospital_id=schedule.hospital_id,
            detail={"before": before, "after": after, "released": released},
        )
    return await schedule_row(session, staff=staff, schedule_id=schedule.id, now=now)


NumbersAdded = Callable[[AsyncSession, int, datetime], Awaitable[None]]
"""What a layer above wants done, inside ``change_numbers``'s unit of work, with a session that may have new
bookable numbers: ``(session, schedule_id, now)``."""
_on_numbers_added: list[NumbersAdded] = []


def on_numbers_added(hook: NumbersAdded) -> None:
    """Registers ``hook`` to run inside the unit of work of every change of numbers that leaves free online
    slots, in place of reopening the booking gate: booking's waitlist (``booking.waitlist``) holds them for
    the patients waiting before anyone else can book them (scheduling cannot import booking; an outbox
    event would come after the commit, with the numbers in the open pool meanwhile). The hook then tells
    the gate of what is left. Registering the same hook twice keeps one."""
    if hook not in _on_numbers_added:
        _on_numbers_added.append(hook)


async def _numbers_added(session: AsyncSession, schedule_id: int, now: datetime) -> None:
    if not _on_numbers_added:  # a gate that marked it sold out opens it again
        publish_after_commit(session, service.SLOTS_ADDED, schedule_id)
    for hook in _on_numbers_added:
        await hook(session, schedule_id, now)


def _slot_minutes(slots: list[Slot]) -> int | None:
    """The slot length a session was made with (its first window), for numbers appended later."""
    if not slots:
        return None
    return max(1, int((slots[0].ends_at - slots[0].starts_at).total_seconds() // 60))


# --- 放号 on demand -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Released:
    made: int
    first: date
    last: date


async def release_now(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, days: int, now: datetime
) -> Released:
    """放号 now: the next ``days`` days (1..the hospital's release period) get their schedules from the
    weekly templates at once, as the release job would make them; sessions that exist are kept, so
    asking twice makes nothing the second time. Each opens at its date's release time (at once when
    that has passed)."""
    require_role(staff, *EDIT_ROLES)
    scope = staff_hospital(staff, hospital_id)
    hospital = await session.get(Hospital, scope)
    if hospital is None:
        raise HospitalNotFound()
    rules.check_release_days(days, release_days=hospital.release_days)
    today = local_today(now)
    wanted = [today + timedelta(days=i) for i in range(1, days + 1)]
    await begin_write(session)
    made = await service.make_from_templates(session, hospital=hospital, days=wanted)
    if hospital.released_through is None or hospital.released_through < wanted[-1]:
        hospital.released_through = wanted[-1]
    audit.record(
        session,
        actor=actor(staff),
        action="schedule.release",
        subject=f"hospital:{hospital.id}",
        at=now,
        hospital_id=hospital.id,
        detail={"first": wanted[0].isoformat(), "last": wanted[-1].isoformat(), "made": made},
    )
    return Released(made=made, first=wanted[0], last=wanted[-1])


# --- choices for forms ----------------------------------------------------------------------------------


async def doctors_by_clinic(
    session: AsyncSession, *, staff: StaffUser, hospital_id: int | None, active_only: bool = False
) -> list[tuple[Department, list[Doctor]]]:
    """The hospital's clinics (科室) that have doctors, each with its doctors, in the catalog's order."""
    scope = staff_hospital(staff, hospital_id)
    query = (
        select(Doctor, Department)
        .join(Department, Department.id == Doctor.department_id)
        .where(Doctor.hospital_id == scope)
        .order_by(Department.sort_order, Department.id, Doctor.id)
    )
    if active_only:
        query = query.where(Doctor.active.is_(True), Department.active.is_(True))
    if staff.role == StaffRole.DOCTOR:
        query = query.where(Doctor.id == staff.doctor_id)
    groups: dict[int, tuple[Department, list[Doctor]]] = {}
    for doctor, clinic in (await session.execute(query)).tuples():
        groups.setdefault(clinic.id, (clinic, []))[1].append(doctor)
    return list(groups.values())
