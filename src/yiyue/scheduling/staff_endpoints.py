"""The scheduling staff API (排班管理): doctors' weekly templates, the hospital's schedules, one-off
sessions and changes of numbers, 放号 on demand.

Every endpoint takes ``CurrentStaff``; ``staff_service`` applies the role and hospital scope, so another
hospital's doctor or schedule is answered 404 and a role that may not act 403 ``FORBIDDEN_ROLE``.
停诊 and 替诊 are the front desk's (``frontdesk/staff_endpoints.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.params import IdPath, IsoDate, OptionalId
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.service import DoctorNotFound, HospitalNotFound
from yiyue.hospitals.staff_service import HospitalIdRequired
from yiyue.scheduling import rules
from yiyue.scheduling import staff_service as service
from yiyue.scheduling.models import PERIOD_LABELS, Period, ScheduleTemplate
from yiyue.scheduling.service import ScheduleExists, ScheduleNotFound
from yiyue.scheduling.staff_schemas import (
    NewScheduleIn,
    ReleaseIn,
    ReleaseModeIn,
    ReleaseOut,
    ScheduleChangeIn,
    StaffScheduleList,
    StaffScheduleOut,
    TemplateCellOut,
    WeekIn,
    WeekOut,
)

router = APIRouter(prefix="/api/v1/staff", tags=["排班管理（工作人员）"])


def week_out(doctor: Doctor, templates: list[ScheduleTemplate]) -> WeekOut:
    return WeekOut(
        doctor_id=doctor.id,
        doctor_name=doctor.name,
        department_id=doctor.department_id,
        cells=[
            TemplateCellOut(
                weekday=t.weekday,
                weekday_label=rules.WEEKDAY_LABELS[t.weekday],
                period=t.period,
                period_label=PERIOD_LABELS[Period(t.period)],
                capacity=t.capacity,
                onsite_quota=t.onsite_quota,
                slot_minutes=t.slot_minutes,
                active=t.active,
            )
            for t in templates
        ],
    )


def schedule_out(row: service.ScheduleRow) -> StaffScheduleOut:
    s = row.schedule
    return StaffScheduleOut(
        id=s.id,
        hospital_id=s.hospital_id,
        visit_date=s.visit_date,
        period=s.period,
        period_label=PERIOD_LABELS[Period(s.period)],
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        department_id=row.department.id,
        department_name=row.department.name,
        doctor_id=row.doctor.id,
        doctor_name=row.doctor.name,
        doctor_title=row.doctor.title,
        capacity=s.capacity,
        onsite_quota=s.onsite_quota,
        taken=row.taken,
        available=row.available,
        onsite_free=row.onsite_free,
        fee_fen=s.fee_fen,
        status=s.status,
        state=row.state,
        state_label=rules.STATE_LABELS[rules.ScheduleState(row.state)],
        release_at=s.release_at,
        release_mode=s.release_mode,
    )


# --- weekly templates -------------------------------------------------------------------------------


@router.get(
    "/doctors/{doctor_id}/templates",
    summary="医生的每周排班模板",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, DoctorNotFound),
)
async def get_week(doctor_id: IdPath, session: SessionDep, staff: CurrentStaff) -> WeekOut:
    doctor, templates = await service.week_of(session, staff=staff, doctor_id=doctor_id)
    return week_out(doctor, templates)


@router.put(
    "/doctors/{doctor_id}/templates",
    summary="保存医生的每周排班模板（整周一次保存；未列出的格子不出诊）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, DoctorNotFound, service.InvalidTemplate, service.DoctorInactive
    ),
)
async def save_week(
    doctor_id: IdPath, body: WeekIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> WeekOut:
    cells = [service.TemplateCell(**cell.model_dump()) for cell in body.cells]
    doctor, templates = await service.save_week(session, staff=staff, doctor_id=doctor_id, cells=cells, now=clock.now())
    return week_out(doctor, templates)


# --- schedules --------------------------------------------------------------------------------------


@router.get(
    "/schedules",
    summary="本院排班列表（默认今天起至放号周期末；医生仅见本人）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *INPUT_ERRORS, service.InvalidScheduleRange, HospitalIdRequired, HospitalNotFound
    ),
)
async def list_schedules(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    start: Annotated[IsoDate | None, Query(description="开始日期，默认今天")] = None,
    end: Annotated[IsoDate | None, Query(description="结束日期，跨度不超过31天")] = None,
    department_id: Annotated[OptionalId, Query(description="科室，或大科室（含其下科室）")] = None,
    doctor_id: OptionalId = None,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员必填")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StaffScheduleList:
    filters = service.ScheduleFilter(start=start, end=end, department_id=department_id, doctor_id=doctor_id)
    rows, total, (first, last) = await service.list_schedules(
        session,
        staff=staff,
        hospital_id=hospital_id,
        filters=filters,
        offset=(page - 1) * page_size,
        limit=page_size,
        now=clock.now(),
    )
    return StaffScheduleList(
        items=[schedule_out(r) for r in rows], total=total, page=page, page_size=page_size, start=first, end=last
    )


@router.get(
    "/schedules/{schedule_id}",
    summary="一个排班（号源使用情况）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ScheduleNotFound),
)
async def get_schedule(
    schedule_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffScheduleOut:
    return schedule_out(await service.schedule_row(session, staff=staff, schedule_id=schedule_id, now=clock.now()))


@router.post(
    "/schedules",
    status_code=201,
    summary="临时加诊：为医生新增一个出诊时段",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        DoctorNotFound,
        rules.InvalidSession,
        rules.VisitDateOutOfWindow,
        service.DoctorInactive,
        ScheduleExists,
    ),
)
async def add_schedule(
    body: NewScheduleIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffScheduleOut:
    new = service.NewSession(**body.model_dump())
    return schedule_out(await service.add_schedule(session, staff=staff, new=new, now=clock.now()))


@router.patch(
    "/schedules/{schedule_id}",
    summary="修改号源数与现场号（放号前可增减，放号后只能增加）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        ScheduleNotFound,
        rules.InvalidSession,
        service.ScheduleClosed,
        rules.CapacityBelowTaken,
        rules.OnsiteSlotsTaken,
        rules.ReleasedCapacityOnlyGrows,
        rules.ReleasedOnsiteQuota,
    ),
)
async def change_schedule(
    schedule_id: IdPath, body: ScheduleChangeIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffScheduleOut:
    row = await service.change_numbers(
        session,
        staff=staff,
        schedule_id=schedule_id,
        capacity=body.capacity,
        onsite_quota=body.onsite_quota,
        now=clock.now(),
    )
    return schedule_out(row)


@router.put(
    "/schedules/{schedule_id}/release-mode",
    summary="设置排班的放号方式（先到先得 / 抽签放号 / 跟随医院；仅放号前）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        ScheduleNotFound,
        rules.InvalidSession,
        service.ScheduleClosed,
        service.ReleaseModeLocked,
    ),
)
async def set_release_mode(
    schedule_id: IdPath, body: ReleaseModeIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffScheduleOut:
    row = await service.set_release_mode(
        session, staff=staff, schedule_id=schedule_id, mode=body.release_mode, now=clock.now()
    )
    return schedule_out(row)


@router.post(
    "/schedules/release",
    summary="立即放号：按排班模板生成未来几天的排班（已有的不重复生成）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, rules.InvalidReleaseDays),
)
async def release_now(body: ReleaseIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep) -> ReleaseOut:
    released = await service.release_now(session, staff=staff, hospital_id=None, days=body.days, now=clock.now())
    return ReleaseOut(made=released.made, first=released.first, last=released.last)
