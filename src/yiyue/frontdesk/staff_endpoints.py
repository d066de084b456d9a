"""The front desk's staff API: the hospital's appointment list, check-in, completion and 停诊.

Every endpoint takes ``CurrentStaff``; the services apply the role and hospital scope, so another
hospital's record is answered 404 and a role that may not act 403 ``FORBIDDEN_ROLE``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.schemas import InvalidStatusFilter, parse_statuses
from yiyue.booking.views import STATUS_LABELS
from yiyue.core.crypto import mask_name
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import MAX_ID, IdPath
from yiyue.frontdesk import service
from yiyue.frontdesk.errors import (
    CheckInClosed,
    CheckInCodeAmbiguous,
    CheckInCodeNotFound,
    CheckInNotOpen,
    HospitalRequired,
    NotCheckable,
    NotCompletable,
    ScheduleAlreadyOver,
    ScheduleAlreadySuspended,
)
from yiyue.frontdesk.schemas import (
    CheckInByCodeIn,
    StaffAppointmentOut,
    StaffDepartmentRef,
    StaffDoctorRef,
    StaffPatientRef,
    SuspendIn,
    SuspendOut,
)
from yiyue.hospitals.service import HospitalNotFound
from yiyue.scheduling.models import PERIOD_LABELS, Period
from yiyue.scheduling.service import ScheduleNotFound

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])

OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


def staff_appointment_out(a: Appointment) -> StaffAppointmentOut:
    """What staff see of an appointment (read model): the patient's name masked, never their ID number,
    phone or check-in code."""
    return StaffAppointmentOut(
        id=a.id,
        status=a.status,
        status_label=STATUS_LABELS[AppointmentStatus(a.status)],
        queue_number=a.queue_number,
        visit_date=a.visit_date,
        period=a.schedule.period,
        period_label=PERIOD_LABELS[Period(a.schedule.period)],
        starts_at=a.slot.starts_at,
        ends_at=a.slot.ends_at,
        hospital_id=a.hospital_id,
        schedule_id=a.schedule_id,
        department=StaffDepartmentRef(id=a.department_id, name=a.department.name),
        doctor=StaffDoctorRef(id=a.doctor_id, name=a.doctor.name, title=a.doctor.title),
        patient=StaffPatientRef(name_masked=mask_name(a.visit_person.name), sex=a.visit_person.sex),
        updated_at=a.updated_at,
    )


@router.get(
    "/appointments",
    summary="本院预约列表（患者姓名脱敏；医生仅见本人）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, InvalidStatusFilter, HospitalRequired, HospitalNotFound),
)
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
    filters = service.AppointmentFilter(
        visit_date=visit_date, department_id=department_id, doctor_id=doctor_id, statuses=parse_statuses(status)
    )
    rows, total = await service.list_appointments(
        session,
        staff=staff,
        hospital_id=hospital_id,
        filters=filters,
        offset=page.offset,
        limit=page.page_size,
        now=clock.now(),
    )
    return Page.of([staff_appointment_out(r) for r in rows], total, page)


@router.post(
    "/appointments/{appointment_id}/check-in",
    summary="签到（按预约）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *INPUT_ERRORS,
        ForbiddenRole,
        AppointmentNotFound,
        NotCheckable,
        CheckInNotOpen,
        CheckInClosed,
    ),
)
async def check_in(
    appointment_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    appointment = await service.check_in(session, staff=staff, appointment_id=appointment_id, now=clock.now())
    return staff_appointment_out(appointment)


@router.post(
    "/check-in",
    summary="签到（按患者出示的签到码）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        CheckInCodeNotFound,
        CheckInCodeAmbiguous,
        CheckInNotOpen,
        CheckInClosed,
    ),
)
async def check_in_by_code(
    body: CheckInByCodeIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    appointment = await service.check_in_by_code(
        session, staff=staff, code=body.code, schedule_id=body.schedule_id, now=clock.now()
    )
    return staff_appointment_out(appointment)


@router.post(
    "/appointments/{appointment_id}/complete",
    summary="完成就诊",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, AppointmentNotFound, NotCompletable),
)
async def complete(
    appointment_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAppointmentOut:
    appointment = await service.complete(session, staff=staff, appointment_id=appointment_id, now=clock.now())
    return staff_appointment_out(appointment)


@router.post(
    "/schedules/{schedule_id}/suspend",
    summary="停诊：预约全部转为停诊、已付全额退款、逐一通知",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        ScheduleNotFound,
        ScheduleAlreadySuspended,
        ScheduleAlreadyOver,
    ),
)
async def suspend(
    schedule_id: IdPath, body: SuspendIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> SuspendOut:
    schedule, affected = await service.suspend(
        session, staff=staff, schedule_id=schedule_id, reason=body.reason, now=clock.now()
    )
    return SuspendOut(schedule_id=schedule.id, status=schedule.status, suspended_appointments=len(affected))
