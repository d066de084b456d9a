"""The catalog's staff API (医院资料): hospitals and their booking rules (platform administrators),
departments and doctors (hospital administrators; every staff role of the hospital may read them).

Every endpoint takes ``CurrentStaff``; ``staff_service`` applies the role and hospital scope, so another
hospital's department or doctor is answered 404 and a role that may not act 403 ``FORBIDDEN_ROLE``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import IdPath, OptionalId
from yiyue.hospitals import staff_service as service
from yiyue.hospitals.endpoints import booking_rules
from yiyue.hospitals.models import Department, Doctor, DoctorTitle, Hospital
from yiyue.hospitals.service import DepartmentNotFound, DoctorNotFound, HospitalNotFound
from yiyue.hospitals.staff_schemas import (
    DepartmentCreate,
    DepartmentIn,
    DoctorCreate,
    DoctorIn,
    HospitalIn,
    MoveIn,
    StaffDepartmentNode,
    StaffDepartmentOut,
    StaffDepartmentRef,
    StaffDepartmentTree,
    StaffDoctorOut,
    StaffHospitalOut,
)

router = APIRouter(prefix="/api/v1/staff", tags=["医院资料（工作人员）"])

HospitalQuery = Annotated[OptionalId, Query(description="医院 id：平台管理员必填")]


def hospital_out(hospital: Hospital) -> StaffHospitalOut:
    return StaffHospitalOut(
        id=hospital.id,
        name=hospital.name,
        level=hospital.level,
        city=hospital.city,
        district=hospital.district,
        address=hospital.address,
        phone=hospital.phone,
        intro=hospital.intro,
        booking_rules=booking_rules(hospital),
        booking_open=hospital.booking_open,
        waitlist_hold_minutes=hospital.waitlist_hold_minutes,
        waitlist_max_entries=hospital.waitlist_max_entries,
        member_share_percent=hospital.member_share_percent,
        member_share_opens_hours=hospital.member_share_opens_hours,
        release_mode=hospital.release_mode,
        release_window_seconds=hospital.release_window_seconds,
        max_unpaid_holds=hospital.max_unpaid_holds,
        hold_abuse_threshold=hospital.hold_abuse_threshold,
        hold_abuse_window_days=hospital.hold_abuse_window_days,
        hold_abuse_ban_days=hospital.hold_abuse_ban_days,
        created_at=hospital.created_at,
    )


def doctor_out(doctor: Doctor, department: Department) -> StaffDoctorOut:
    return StaffDoctorOut(
        id=doctor.id,
        hospital_id=doctor.hospital_id,
        department=StaffDepartmentRef.model_validate(department),
        name=doctor.name,
        gender=doctor.gender,
        title=doctor.title,
        specialty=doctor.specialty,
        intro=doctor.intro,
        fee_fen=doctor.fee_fen,
        active=doctor.active,
    )


# --- hospitals --------------------------------------------------------------------------------------


@router.get(
    "/hospitals",
    summary="医院列表（平台管理员，含已暂停网上预约的医院）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole),
)
async def list_hospitals(
    session: SessionDep,
    staff: CurrentStaff,
    page: PageDep,
    q: Annotated[str | None, Query(max_length=50, description="中文名称或拼音首字母")] = None,
    city: Annotated[str | None, Query(max_length=30)] = None,
) -> Page[StaffHospitalOut]:
    rows, total = await service.list_hospitals(
        session, staff=staff, q=q, city=city, offset=page.offset, limit=page.page_size
    )
    return Page.of([hospital_out(h) for h in rows], total, page)


@router.post(
    "/hospitals",
    status_code=201,
    summary="新增医院（平台管理员）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, service.HospitalNameTaken),
)
async def create_hospital(
    body: HospitalIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffHospitalOut:
    return hospital_out(await service.create_hospital(session, staff=staff, data=body, now=clock.now()))


@router.get(
    "/hospitals/{hospital_id}",
    summary="医院资料与预约规则（平台管理员：任一医院；其他工作人员：本院）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, HospitalNotFound),
)
async def get_hospital(hospital_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StaffHospitalOut:
    return hospital_out(await service.get_hospital(session, staff=staff, hospital_id=hospital_id))


@router.put(
    "/hospitals/{hospital_id}",
    summary="修改医院资料与预约规则（平台管理员）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, HospitalNotFound, service.HospitalNameTaken),
)
async def update_hospital(
    hospital_id: IdPath, body: HospitalIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffHospitalOut:
    hospital = await service.update_hospital(session, staff=staff, hospital_id=hospital_id, data=body, now=clock.now())
    return hospital_out(hospital)


@router.post(
    "/hospitals/{hospital_id}/close-booking",
    summary="暂停网上预约（平台管理员；已有预约不受影响）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, HospitalNotFound),
)
async def close_booking(
    hospital_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffHospitalOut:
    hospital = await service.set_booking_open(
        session, staff=staff, hospital_id=hospital_id, booking_open=False, now=clock.now()
    )
    return hospital_out(hospital)


@router.post(
    "/hospitals/{hospital_id}/open-booking",
    summary="恢复网上预约（平台管理员）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, HospitalNotFound),
)
async def open_booking(
    hospital_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffHospitalOut:
    hospital = await service.set_booking_open(
        session, staff=staff, hospital_id=hospital_id, booking_open=True, now=clock.now()
    )
    return hospital_out(hospital)


# --- departments ------------------------------------------------------------------------------------


@router.get(
    "/departments",
    summary="本院两级科室（含已关闭）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, service.HospitalIdRequired, HospitalNotFound),
)
async def list_departments(
    session: SessionDep, staff: CurrentStaff, hospital_id: HospitalQuery = None
) -> StaffDepartmentTree:
    _, tree = await service.department_tree(session, staff=staff, hospital_id=hospital_id)
    items = [
        StaffDepartmentNode(
            **StaffDepartmentOut.model_validate(top).model_dump(),
            children=[StaffDepartmentOut.model_validate(c) for c in children],
        )
        for top, children in tree
    ]
    return StaffDepartmentTree(items=items, total=len(items))


DEPARTMENT_WRITE_ERRORS = (
    service.InvalidParentDepartment,
    service.DepartmentNameTaken,
)


@router.post(
    "/departments",
    status_code=201,
    summary="新增科室（不填 parent_id 为大科室）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        service.HospitalIdRequired,
        HospitalNotFound,
        *DEPARTMENT_WRITE_ERRORS,
    ),
)
async def create_department(
    body: DepartmentCreate, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDepartmentOut:
    department = await service.create_department(
        session,
        staff=staff,
        hospital_id=body.hospital_id,
        data=DepartmentIn.model_validate(body.model_dump(exclude={"hospital_id"})),
        now=clock.now(),
    )
    return StaffDepartmentOut.model_validate(department)


@router.get(
    "/departments/{department_id}",
    summary="科室详情（含已关闭）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, DepartmentNotFound),
)
async def get_department(department_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StaffDepartmentOut:
    department = await service.get_department(session, staff=staff, department_id=department_id)
    return StaffDepartmentOut.model_validate(department)


@router.put(
    "/departments/{department_id}",
    summary="修改科室（名称、上级、位置、简介）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        DepartmentNotFound,
        *DEPARTMENT_WRITE_ERRORS,
        service.DepartmentHasClinics,
        service.DepartmentHasDoctors,
    ),
)
async def update_department(
    department_id: IdPath, body: DepartmentIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDepartmentOut:
    department = await service.update_department(
        session, staff=staff, department_id=department_id, data=body, now=clock.now()
    )
    return StaffDepartmentOut.model_validate(department)


@router.post(
    "/departments/{department_id}/move",
    summary="在同级科室中上移或下移一位",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, DepartmentNotFound),
)
async def move_department(
    department_id: IdPath, body: MoveIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDepartmentOut:
    department = await service.move_department(
        session, staff=staff, department_id=department_id, direction=body.direction, now=clock.now()
    )
    return StaffDepartmentOut.model_validate(department)


@router.post(
    "/departments/{department_id}/close",
    summary="关闭科室（对患者隐藏；排班与已有预约不变）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, DepartmentNotFound),
)
async def close_department(
    department_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDepartmentOut:
    department = await service.set_department_active(
        session, staff=staff, department_id=department_id, active=False, now=clock.now()
    )
    return StaffDepartmentOut.model_validate(department)


@router.post(
    "/departments/{department_id}/reopen",
    summary="恢复科室",
    responses=responses(
        *STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, DepartmentNotFound, service.ParentDepartmentClosed
    ),
)
async def reopen_department(
    department_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDepartmentOut:
    department = await service.set_department_active(
        session, staff=staff, department_id=department_id, active=True, now=clock.now()
    )
    return StaffDepartmentOut.model_validate(department)


# --- doctors ----------------------------------------------------------------------------------------


@router.get(
    "/doctors",
    summary="本院医生（含已离开）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, service.HospitalIdRequired, HospitalNotFound),
)
async def list_doctors(
    session: SessionDep,
    staff: CurrentStaff,
    page: PageDep,
    hospital_id: HospitalQuery = None,
    department_id: Annotated[OptionalId, Query(description="科室或大科室（含其下科室）")] = None,
    title: Annotated[DoctorTitle | None, Query(description="职称")] = None,
    active: Annotated[bool | None, Query(description="true：在职；false：已离开")] = None,
    q: Annotated[str | None, Query(max_length=30, description="姓名或拼音首字母")] = None,
) -> Page[StaffDoctorOut]:
    filters = service.DoctorFilter(department_id=department_id, title=title, active=active, q=q)
    rows, total = await service.list_doctors(
        session, staff=staff, hospital_id=hospital_id, filters=filters, offset=page.offset, limit=page.page_size
    )
    return Page.of([doctor_out(d, dept) for d, dept in rows], total, page)


@router.post(
    "/doctors",
    status_code=201,
    summary="新增医生（挂号费以分计）",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        service.HospitalIdRequired,
        HospitalNotFound,
        service.InvalidDoctorDepartment,
    ),
)
async def create_doctor(
    body: DoctorCreate, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDoctorOut:
    doctor, department = await service.create_doctor(
        session,
        staff=staff,
        hospital_id=body.hospital_id,
        data=DoctorIn.model_validate(body.model_dump(exclude={"hospital_id"})),
        now=clock.now(),
    )
    return doctor_out(doctor, department)


@router.get(
    "/doctors/{doctor_id}",
    summary="医生详情（含已离开）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, DoctorNotFound),
)
async def get_doctor(doctor_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StaffDoctorOut:
    return doctor_out(*await service.get_doctor(session, staff=staff, doctor_id=doctor_id))


@router.put(
    "/doctors/{doctor_id}",
    summary="修改医生资料（新挂号费只用于之后生成的排班）",
    responses=responses(
        *STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, DoctorNotFound, service.InvalidDoctorDepartment
    ),
)
async def update_doctor(
    doctor_id: IdPath, body: DoctorIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffDoctorOut:
    doctor, department = await service.update_doctor(
        session, staff=staff, doctor_id=doctor_id, data=body, now=clock.now()
    )
    return doctor_out(doctor, department)


@router.post(
    "/doctors/{doctor_id}/leave",
    summary="医生离开本院（对患者隐藏；未来排班须另行停诊）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, DoctorNotFound),
)
async def leave(doctor_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep) -> StaffDoctorOut:
    return doctor_out(
        *await service.set_doctor_active(session, staff=staff, doctor_id=doctor_id, active=False, now=clock.now())
    )


@router.post(
    "/doctors/{doctor_id}/rejoin",
    summary="医生重新回到本院",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, DoctorNotFound),
)
async def rejoin(doctor_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep) -> StaffDoctorOut:
    return doctor_out(
        *await service.set_doctor_active(session, staff=staff, doctor_id=doctor_id, active=True, now=clock.now())
    )
