from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.core.cache import NOT_MODIFIED, ReadsDep, Region
from yiyue.core.clock import local_today
from yiyue.core.deps import ClockDep, ReadSessionDep
from yiyue.core.errors import DATE_RANGE_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import PageDep
from yiyue.core.params import IdPath, IsoDate, check_day, date_range
from yiyue.hospitals import service as hospitals
from yiyue.hospitals.endpoints import CATALOG
from yiyue.hospitals.models import Doctor, Hospital
from yiyue.hospitals.schemas import DoctorBrief
from yiyue.members import service as members
from yiyue.scheduling import rules, service
from yiyue.scheduling.models import PERIOD_LABELS, Period, Schedule, ScheduleStatus, SlotStatus
from yiyue.scheduling.schemas import (
    DayAvailability,
    DayAvailabilityList,
    DoctorOnDay,
    DoctorsOnDay,
    ScheduleList,
    ScheduleOut,
    SlotList,
    SlotOut,
)

router = APIRouter(prefix="/api/v1", tags=["排班与号源"])

AVAILABILITY = Region("availability", tables=CATALOG.tables | {"schedules", "slots", "member_levels"}, shared=False)
"""Sessions and remaining numbers: kept at most ``read_cache_availability_seconds`` (1 s) in each process,
dropped at once when this process writes a slot, a schedule or the catalog (``core.cache``)."""

MAX_RANGE_DAYS = 31
PAST_DAYS = 30
"""How far back a patient may look at a doctor's or a clinic's days (the release window is ahead)."""


STATUS_LABELS = {ScheduleStatus.OPEN: "出诊", ScheduleStatus.SUSPENDED: "停诊"}


def schedule_out(
    schedule: Schedule,
    hospital: Hospital,
    remaining: int,
    now: datetime,
    *,
    member_only: int = 0,
    early_minutes: int = 0,
) -> ScheduleOut:
    """``member_only``: of the ``remaining`` free slots, those of the members' share; ``early_minutes``:
    the most minutes any member level books before the release (提前预约)."""
    closes_at = rules.booking_closes_at(schedule.starts_at, stop_minutes_before=hospital.stop_minutes_before)
    released = schedule.release_at <= now
    suspended = schedule.status == ScheduleStatus.SUSPENDED
    if suspended:
        remaining = 0  # its slots were given back when it was suspended, but nobody can take them
    share_opens_at = rules.member_share_opens_at(schedule.starts_at, opens_hours=hospital.member_share_opens_hours)
    member_reserved = min(member_only, remaining) if now < share_opens_at else 0
    deadline = rules.cancel_deadline(schedule.starts_at, cancel_minutes_before=hospital.cancel_minutes_before)
    pay_first = hospital.payment_required and schedule.fee_fen > 0
    mode = rules.release_mode(schedule.release_mode, hospital.release_mode)
    window_closes_at = (
        rules.release_window_closes_at(schedule.release_at, window_seconds=hospital.release_window_seconds)
        if mode == rules.RELEASE_WINDOW
        else None
    )
    drawing = window_closes_at is not None and now < window_closes_at  # booked through the draw, not directly
    return ScheduleOut(
        id=schedule.id,
        doctor_id=schedule.doctor_id,
        visit_date=schedule.visit_date,
        period=schedule.period,
        period_label=PERIOD_LABELS[Period(schedule.period)],
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        capacity=schedule.capacity,
        remaining=remaining,
        member_reserved=member_reserved,
        member_share_opens_at=share_opens_at if member_reserved else None,
        member_release_at=schedule.release_at - timedelta(minutes=early_minutes)
        if early_minutes and window_closes_at is None
        else None,
        fee_fen=schedule.fee_fen,
        status=schedule.status,
        status_label=STATUS_LABELS[ScheduleStatus(schedule.status)],
        released=released,
        release_at=schedule.release_at,
        booking_closes_at=closes_at,
        bookable=hospital.booking_open is not False
        and schedule.status == ScheduleStatus.OPEN
        and released
        and now < closes_at
        and remaining > 0
        and not drawing,
        cancel_deadline=deadline,
        booking_notice=None
        if suspended
        else rules.late_booking_notice(starts_at=schedule.starts_at, deadline=deadline, pay_first=pay_first, at=now),
        release_mode=mode,
        release_mode_label=rules.RELEASE_MODE_LABELS[mode],
        release_window_closes_at=window_closes_at,
        release_window_open=drawing and released and schedule.status == ScheduleStatus.OPEN,
    )


StartDate = Annotated[IsoDate | None, Query(description="开始日期，默认今天；最早30天前")]
EndDate = Annotated[
    IsoDate | None,
    Query(
        description="结束日期，默认放号周期末；不晚于放号周期末后31天（可看到即将放号的出诊及放号时间），跨度不超过31天"
    ),
]


def _shown(now: datetime, hospital: Hospital) -> tuple[date, date, str]:
    """The days a patient may ask about: from 30 days ago to 31 days past the last day of the hospital's
    release window (今天+放号天数): sessions not released yet are shown with their release time, so that
    patients know when to come back. And how to say so."""
    today = local_today(now)
    latest = today + timedelta(days=max(hospital.release_days, 0) + MAX_RANGE_DAYS)
    return (
        today - timedelta(days=PAST_DAYS),
        latest,
        f"（放号周期为{hospital.release_days}天，可查询至其后{MAX_RANGE_DAYS}天）",
    )


def _date_range(start: date | None, end: date | None, now: datetime, hospital: Hospital) -> tuple[date, date]:
    earliest, latest, window = _shown(now, hospital)
    return date_range(
        start,
        end,
        today=local_today(now),
        earliest=earliest,
        latest=latest,
        default_days=hospital.release_days + 1,
        max_days=MAX_RANGE_DAYS,
        window=window,
    )


@router.get(
    "/departments/{department_id}/doctors",
    summary="科室某日出诊医生及余号",
    response_model=DoctorsOnDay,
    responses={**responses(*DATE_RANGE_ERRORS, hospitals.DepartmentNotFound), **NOT_MODIFIED},
)
async def doctors_on_day(
    department_id: IdPath,
    session: ReadSessionDep,
    reads: ReadsDep,
    clock: ClockDep,
    page: PageDep,
    day: Annotated[IsoDate | None, Query(alias="date", description="就诊日期，默认今天")] = None,
) -> Response:
    async def build() -> DoctorsOnDay:
        department = await hospitals.get_department(session, department_id)
        hospital = await hospitals.get_hospital(session, department.hospital_id)
        now = clock.now()
        earliest, latest, window = _shown(now, hospital)
        on = check_day(day or local_today(now), earliest=earliest, latest=latest, window=window)
        by_doctor: dict[int, list[ScheduleOut]] = defaultdict(list)
        early = await _early_minutes(session)
        for a in await service.department_schedules_on(session, department_id=department_id, visit_date=on, now=now):
            by_doctor[a.schedule.doctor_id].append(
                schedule_out(a.schedule, hospital, a.remaining, now, member_only=a.member_only, early_minutes=early)
            )
        doctor_ids = sorted(by_doctor)
        doctors = await _doctors(session, doctor_ids[page.offset : page.offset + page.page_size])
        items = [
            DoctorOnDay(
                **DoctorBrief.model_validate(d).model_dump(),
                remaining=sum(s.remaining for s in by_doctor[d.id]),
                schedules=by_doctor[d.id],
            )
            for d in doctors
        ]
        return DoctorsOnDay(items=items, total=len(doctor_ids), page=page.page, page_size=page.page_size, date=on)

    return await reads.answer(AVAILABILITY, build)


@router.get(
    "/departments/{department_id}/availability",
    summary="科室逐日余号（日期条）",
    response_model=DayAvailabilityList,
    responses={**responses(*DATE_RANGE_ERRORS, hospitals.DepartmentNotFound), **NOT_MODIFIED},
)
async def department_availability(
    department_id: IdPath,
    session: ReadSessionDep,
    reads: ReadsDep,
    clock: ClockDep,
    start: StartDate = None,
    end: EndDate = None,
) -> Response:
    async def build() -> DayAvailabilityList:
        department = await hospitals.get_department(session, department_id)
        hospital = await hospitals.get_hospital(session, department.hospital_id)
        now = clock.now()
        first, last = _date_range(start, end, now, hospital)
        days = await service.department_days(session, department_id=department_id, start=first, end=last, now=now)
        return DayAvailabilityList(
            items=[
                DayAvailability(
                    date=d.visit_date,
                    capacity=d.capacity,
                    remaining=d.remaining,
                    released=d.release_at <= now,
                    release_at=d.release_at,
                )
                for d in days
            ]
        )

    return await reads.answer(AVAILABILITY, build)


@router.get(
    "/doctors/{doctor_id}/schedules",
    summary="医生排班",
    response_model=ScheduleList,
    responses={**responses(*DATE_RANGE_ERRORS, hospitals.DoctorNotFound), **NOT_MODIFIED},
)
async def doctor_schedules(
    doctor_id: IdPath,
    session: ReadSessionDep,
    reads: ReadsDep,
    clock: ClockDep,
    start: StartDate = None,
    end: EndDate = None,
) -> Response:
    async def build() -> ScheduleList:
        doctor, hospital, _ = await hospitals.get_doctor(session, doctor_id)
        now = clock.now()
        first, last = _date_range(start, end, now, hospital)
        found = await service.doctor_schedules(session, doctor_id=doctor.id, start=first, end=last, now=now)
        early = await _early_minutes(session)
        items = [
            schedule_out(a.schedule, hospital, a.remaining, now, member_only=a.member_only, early_minutes=early)
            for a in found
        ]
        return ScheduleList(items=items, total=len(items))

    return await reads.answer(AVAILABILITY, build)


REOPENING_NOTE = "号源将随机回流"
"""Said of a slot freed by a let-go unpaid hold, bookable again after a random delay (not shown when)."""


@router.get(
    "/schedules/{schedule_id}/slots",
    summary="排班的号源",
    response_model=SlotList,
    responses={**responses(*INPUT_ERRORS, service.ScheduleNotFound), **NOT_MODIFIED},
)
async def schedule_slots(schedule_id: IdPath, session: ReadSessionDep, reads: ReadsDep, clock: ClockDep) -> Response:
    async def build() -> SlotList:
        schedule = await service.get(session, schedule_id)
        hospital = await hospitals.get_hospital(session, schedule.hospital_id)
        slots = await service.list_slots(session, schedule_id)
        now = clock.now()
        reopening = {s.id for s in slots if s.status == SlotStatus.AVAILABLE and s.reopens_at and s.reopens_at > now}
        free = [s for s in slots if s.status == SlotStatus.AVAILABLE and s.id not in reopening]
        return SlotList(
            items=[
                SlotOut(
                    id=s.id,
                    number=s.number,
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    status=SlotStatus.HELD if s.id in reopening else s.status,
                    member_only=s.member_only,
                    reopening=s.id in reopening,
                    reopening_note=REOPENING_NOTE if s.id in reopening else None,
                )
                for s in slots
            ],
            total=len(slots),
            schedule=schedule_out(
                schedule,
                hospital,
                len(free),
                now,
                member_only=sum(1 for s in free if s.member_only),
                early_minutes=await _early_minutes(session),
            ),
        )

    return await reads.answer(AVAILABILITY, build)


async def _early_minutes(session: AsyncSession) -> int:
    """The most minutes any member level books before a release (0: none does)."""
    return max((w.minutes for w in await members.early_windows(session)), default=0)


async def _doctors(session: AsyncSession, ids: list[int]) -> list[Doctor]:
    if not ids:
        return []
    return list(await session.scalars(select(Doctor).where(Doctor.id.in_(ids)).order_by(Doctor.id)))
