"""The front desk's staff API: the hospital's appointment list and sessions, check-in, completion,
no-shows, 停诊, walk-in registration (现场挂号), bans (爽约限制) and revealing a patient's full details.

Every endpoint takes ``CurrentStaff``; the services apply the role and hospital scope, so another
hospital's record is answered 404 and a role that may not act 403 ``FORBIDDEN_ROLE``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from yiyue.accounts.service import InvalidIdNumber, InvalidPhone
from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.booking.errors import AppointmentNotFound, DuplicateBooking
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.booking.schemas import InvalidStatusFilter, parse_statuses
from yiyue.booking.views import STATUS_LABELS, payment_view
from yiyue.core.clock import local_today
from yiyue.core.crypto import mask_name
from yiyue.core.deps import CipherDep, ClockDep, SessionDep, SettingsDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import IdPath, IsoDate, OptionalId
from yiyue.frontdesk import bans, no_shows, service, walk_in
from yiyue.frontdesk.errors import (
    BanNotFound,
    BanNotInForce,
    CheckInClosed,
    CheckInCodeAmbiguous,
    CheckInCodeNotFound,
    CheckInNotOpen,
    HospitalRequired,
    IdNumberNameMismatch,
    InvalidSearch,
    NoShowTooEarly,
    NotCheckable,
    NotCompletable,
    NotNoShowable,
    OnsiteSoldOut,
    ScheduleAlreadyOver,
    ScheduleAlreadySuspended,
    SessionNotOpen,
)
from yiyue.frontdesk.reveal import reveal as reveal_details
from yiyue.frontdesk.rules import parse_search
from yiyue.frontdesk.schemas import (
    BanOut,
    CheckInByCodeIn,
    LiftBanIn,
    LiftedBanOut,
    RevealedOut,
    RevealIn,
    SessionCountsOut,
    StaffAppointmentOut,
    StaffDepartmentRef,
    StaffDoctorRef,
    StaffPatientRef,
    StaffSessionOut,
    SuspendIn,
    SuspendOut,
    WalkInIn,
    WalkInOut,
)
from yiyue.frontdesk.substitute import (
    SessionOverForSubstitute,
    SubstituteBusy,
    SubstituteInactive,
    SubstituteOtherDepartment,
    SubstitutePatientClash,
    SubstituteSameDoctor,
    substitute,
)
from yiyue.hospitals.service import DoctorNotFound, HospitalNotFound
from yiyue.scheduling.models import PERIOD_LABELS, Period
from yiyue.scheduling.service import ScheduleNotFound
from yiyue.scheduling.staff_schemas import SubstituteIn, SubstituteOut

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])


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
        channel=a.channel,
        updated_at=a.updated_at,
        payment=payment_view(a),
        status_reason=a.status_reason,
    )


def staff_session_out(s: service.DaySession) -> StaffSessionOut:
    c = s.counts
    return StaffSessionOut(
        schedule_id=s.schedule.id,
        visit_date=s.schedule.visit_date,
        period=s.schedule.period,
        period_label=PERIOD_LABELS[Period(s.schedule.period)],
        starts_at=s.schedule.starts_at,
        ends_at=s.schedule.ends_at,
        status=s.schedule.status,
        department=StaffDepartmentRef(id=s.department.id, name=s.department.name),
        doctor=StaffDoctorRef(id=s.doctor.id, name=s.doctor.name, title=s.doctor.title),
        capacity=s.schedule.capacity,
        fee_fen=s.schedule.fee_fen,
        counts=SessionCountsOut(
            booked=c.booked,
            pending_payment=c.pending_payment,
            checked_in=c.checked_in,
            completed=c.completed,
            no_show=c.no_show,
            cancelled=c.cancelled,
        ),
        online_left=s.online_left,
        onsite_left=s.onsite_left,
    )


@router.get(
    "/appointments",
    summary="本院预约列表（患者姓名脱敏；医生仅见本人）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *INPUT_ERRORS, InvalidStatusFilter, InvalidSearch, HospitalRequired, HospitalNotFound
    ),
)
async def list_appointments(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    visit_date: Annotated[IsoDate | None, Query(alias="date", description="就诊日期")] = None,
    department_id: OptionalId = None,
    doctor_id: OptionalId = None,
    status: Annotated[str | None, Query(max_length=200, description="状态，可用逗号分隔多个")] = None,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员必填")] = None,
    q: Annotated[
        str | None, Query(max_length=30, description="搜索：8位签到码、手机号后4位或就诊人姓名（可部分匹配）")
    ] = None,
) -> Page[StaffAppointmentOut]:
    filters = service.AppointmentFilter(
        visit_date=visit_date,
        department_id=department_id,
        doctor_id=doctor_id,
        statuses=parse_statuses(status),
        search=parse_search(q),
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


@router.get(
    "/sessions",
    summary="某日各排班（时段 × 医生）的待就诊、已签到、已就诊、爽约人数与剩余号源",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, HospitalRequired, HospitalNotFound),
)
async def list_sessions(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    visit_date: Annotated[IsoDate | None, Query(alias="date", description="就诊日期，默认今天")] = None,
    department_id: OptionalId = None,
    doctor_id: OptionalId = None,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员必填")] = None,
) -> list[StaffSessionOut]:
    found = await service.day_sessions(
        session,
        staff=staff,
        hospital_id=hospital_id,
        day=visit_date or local_today(clock.now()),
        department_id=department_id,
        doctor_id=doctor_id,
    )
    return [staff_session_out(s) for s in found]


@router.post(
    "/appointments/{appointment_id}/no-show",
    summary="记录爽约（就诊时段结束后仍未签到）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, AppointmentNotFound, NotNoShowable, NoShowTooEarly
    ),
)
async def record_no_show(
    appointment_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep, settings: SettingsDep
) -> StaffAppointmentOut:
    appointment = await no_shows.record_no_show(
        session,
        staff=staff,
        appointment_id=appointment_id,
        rule=no_shows.BanRule.from_settings(settings),
        now=clock.now(),
    )
    return staff_appointment_out(appointment)


@router.get(
    "/walk-in/sessions",
    summary="可现场挂号的排班（本院，某日，含剩余现场号）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole),
)
async def walk_in_sessions(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    visit_date: Annotated[IsoDate | None, Query(alias="date", description="就诊日期，默认今天")] = None,
    department_id: OptionalId = None,
) -> list[StaffSessionOut]:
    now = clock.now()
    found = await walk_in.onsite_sessions(
        session, staff=staff, day=visit_date or local_today(now), now=now, department_id=department_id
    )
    return [staff_session_out(s) for s in found]


@router.post(
    "/walk-ins",
    status_code=201,
    summary="现场挂号：占用一个现场号，生成预约（窗口收费）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        InvalidIdNumber,
        InvalidPhone,
        ScheduleNotFound,
        SessionNotOpen,
        IdNumberNameMismatch,
        DuplicateBooking,
        OnsiteSoldOut,
    ),
)
async def register_walk_in(
    body: WalkInIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep, cipher: CipherDep
) -> WalkInOut:
    registered = await walk_in.register(
        session,
        staff=staff,
        schedule_id=body.schedule_id,
        patient=walk_in.WalkInPatient(name=body.name, id_number=body.id_number, phone=body.phone),
        cipher=cipher,
        now=clock.now(),
    )
    a = registered.appointment
    return WalkInOut(
        **staff_appointment_out(a).model_dump(),
        check_in_code=a.check_in_code,
        fee_fen=a.fee_fen,
        new_patient=registered.new_person,
    )


@router.get(
    "/bans",
    summary="本院预约限制中的账号：爽约或反复占号（就诊人姓名脱敏）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, HospitalRequired, HospitalNotFound),
)
async def list_bans(
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    page: PageDep,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员必填")] = None,
) -> Page[BanOut]:
    lines, total = await bans.list_bans(
        session, staff=staff, hospital_id=hospital_id, now=clock.now(), offset=page.offset, limit=page.page_size
    )
    items = [
        BanOut(
            id=line.ban.id,
            account_id=line.ban.account_id,
            kind=line.ban.kind,
            kind_label=line.kind_label,
            patients_masked=line.names_masked,
            no_shows_here=line.no_shows_here,
            last_no_show=line.last_no_show,
            holds_let_go_here=line.holds_let_go_here,
            reason=line.ban.reason,
            starts_at=line.ban.starts_at,
            ends_at=line.ban.ends_at,
        )
        for line in lines
    ]
    return Page.of(items, total, page)


@router.post(
    "/bans/{ban_id}/lift",
    summary="提前解除爽约限制（须填写原因）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, BanNotFound, BanNotInForce),
)
async def lift_ban(
    ban_id: IdPath, body: LiftBanIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> LiftedBanOut:
    ban = await bans.lift_ban(session, staff=staff, ban_id=ban_id, reason=body.reason, now=clock.now())
    assert ban.lifted_at is not None
    return LiftedBanOut(
        id=ban.id,
        account_id=ban.account_id,
        ends_at=ban.ends_at,
        lifted_at=ban.lifted_at,
        lifted_by=ban.lifted_by,
        lift_reason=ban.lift_reason,
    )


@router.post(
    "/appointments/{appointment_id}/reveal",
    summary="查看就诊人完整身份证号与手机号（仅医院管理员，须填写原因，记入操作日志）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, AppointmentNotFound),
)
async def reveal(
    appointment_id: IdPath,
    body: RevealIn,
    response: Response,
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
    cipher: CipherDep,
) -> RevealedOut:
    shown = await reveal_details(
        session, staff=staff, appointment_id=appointment_id, reason=body.reason, cipher=cipher, now=clock.now()
    )
    response.headers["Cache-Control"] = "no-store"
    person = shown.appointment.visit_person
    return RevealedOut(
        appointment_id=shown.appointment.id,
        visit_person_id=person.id,
        name=person.name,
        sex=person.sex,
        birth_date=person.birth_date,
        id_number=shown.id_number,
        phone=shown.phone,
    )


@router.post(
    "/schedules/{schedule_id}/substitute",
    summary="替诊：把该时段及其未就诊的预约转给同科室另一位医生（序号、时间不变，逐一通知患者）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        ScheduleNotFound,
        DoctorNotFound,
        ScheduleAlreadySuspended,
        SessionOverForSubstitute,
        SubstituteSameDoctor,
        SubstituteOtherDepartment,
        SubstituteInactive,
        SubstituteBusy,
        SubstitutePatientClash,
    ),
)
async def substitute_doctor(
    schedule_id: IdPath, body: SubstituteIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> SubstituteOut:
    done = await substitute(
        session, staff=staff, schedule_id=schedule_id, doctor_id=body.doctor_id, reason=body.reason, now=clock.now()
    )
    return SubstituteOut(
        schedule_id=done.schedule.id,
        from_doctor_id=done.from_doctor.id,
        doctor_id=done.to_doctor.id,
        doctor_name=done.to_doctor.name,
        moved_appointments=len(done.moved),
    )
