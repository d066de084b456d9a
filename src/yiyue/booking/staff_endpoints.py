"""The staff API (医院工作人员): login, the hospital's appointment list, check-in and completion.

Every endpoint but login takes ``CurrentStaff``; the services apply the role and hospital scope, so
another hospital's record is answered 404 and a role that may not act 403 ``FORBIDDEN_ROLE``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.accounts import staff as staff_accounts
from yiyue.accounts.staff import StaffUser
from yiyue.accounts.staff_deps import CurrentStaff
from yiyue.booking import staff_service as service
from yiyue.booking.endpoints import GateDep, parse_statuses
from yiyue.booking.models import AppointmentStatus
from yiyue.booking.staff_schemas import (
    CheckInByCodeIn,
    StaffAppointmentOut,
    StaffDepartmentRef,
    StaffDoctorRef,
    StaffLoginIn,
    StaffOut,
    StaffPatientRef,
    StaffTokenOut,
    SuspendIn,
    SuspendOut,
)
from yiyue.booking.views import STATUS_LABELS
from yiyue.core.deps import ClockDep, SessionDep, SettingsDep
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import MAX_ID, IdPath
from yiyue.scheduling.models import PERIOD_LABELS, Period

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])

OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def staff_out(staff: StaffUser) -> StaffOut:
    return StaffOut(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        hospital_id=staff.hospital_id,
        doctor_id=staff.doctor_id,
    )


def staff_appointment_out(row: service.StaffAppointmentRow) -> StaffAppointmentOut:
    a = row.appointment
    return StaffAppointmentOut(
        id=a.id,
        status=a.status,
        status_label=STATUS_LABELS[AppointmentStatus(a.status)],
        queue_number=a.queue_number,
        visit_date=a.visit_date,
        period=row.period,
        period_label=PERIOD_LABELS[Period(row.period)],
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        hospital_id=a.hospital_id,
        schedule_id=a.schedule_id,
        department=StaffDepartmentRef(id=a.department_id, name=row.department_name),
        doctor=StaffDoctorRef(id=a.doctor_id, name=row.doctor_name, title=row.doctor_title),
        patient=StaffPatientRef(name_masked=row.patient_name_masked, sex=row.patient_sex),
        updated_at=a.updated_at,
    )


@router.post("/auth/login", summary="工作人员登录（用户名 + 密码）")
async def login(body: StaffLoginIn, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> StaffTokenOut:
    result = await staff_accounts.login(
        session, username=body.username, password=body.password, settings=settings, now=clock.now()
    )
    return StaffTokenOut(
        access_token=result.tokens.access_token, expires_in=result.tokens.expires_in, staff=staff_out(result.staff)
    )


@router.get("/me", summary="当前工作人员")
async def me(staff: CurrentStaff) -> StaffOut:
    return staff_out(staff)


@router.get("/appointments", summary="本院预约列表（患者姓名脱敏；医生仅见本人）")
async def list_appointments(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    visit_date: Annotated[date | None, Query(alias="date", description="就诊日期")] = None,
    department_id: OptionalId = None,
    doctor_id: OptionalId = None,
    status: Annotated[str | None, Query(max_length=200, description="状态，可用逗号分隔多个")] = None,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员必填")] = None,
) -> Page[StaffAppointmentOut]:
    filters = service.StaffAppointmentFilter(
        visit_date=visit_date, department_id=department_id, doctor_id=doctor_id, statuses=parse_statuses(status)
    )
    rows, total = await service.staff_list(
        session,
        staff=staff,
        hospital_id=hospital_id,
        filters=filters,
        offset=page.offset,
        limit=page.page_size,
        now=clock.now(),
    )
    return Page.of([staff_appointment_out(r) for r in rows], total, page)


@router.post("/appointments/{appointment_id}/check-in", summary="签到（按预约）")
async def check_in(
    appointment_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    row = await service.staff_check_in(session, staff=staff, appointment_id=appointment_id, now=clock.now())
    return staff_appointment_out(row)


@router.post("/check-in", summary="签到（按患者出示的签到码）")
async def check_in_by_code(
    body: CheckInByCodeIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    row = await service.staff_check_in_by_code(
        session, staff=staff, code=body.code, schedule_id=body.schedule_id, now=clock.now()
    )
    return staff_appointment_out(row)


@router.post("/appointments/{appointment_id}/complete", summary="完成就诊")
async def complete(
    appointment_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    row = await service.staff_complete(session, staff=staff, appointment_id=appointment_id, now=clock.now())
    return staff_appointment_out(row)


@router.post("/schedules/{schedule_id}/suspend", summary="停诊：预约全部转为停诊、已付全额退款、逐一通知")
async def suspend(
    schedule_id: IdPath, body: SuspendIn, session: SessionDep, staff: CurrentStaff, gate: GateDep, clock: ClockDep
) -> SuspendOut:
    schedule, affected = await service.staff_suspend(
        session, staff=staff, schedule_id=schedule_id, reason=body.reason, now=clock.now(), gate=gate
    )
    return SuspendOut(schedule_id=schedule.id, status=schedule.status, suspended_appointments=len(affected))
