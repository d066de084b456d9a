"""Managing staff accounts (工作人员账号) through the staff API: the platform manages hospital
administrators, a hospital administrator their hospital's staff (rules: ``accounts.staff.management``).

The routes sit here, not in ``accounts``, because creating or re-linking an account checks that its
hospital and doctor exist (``staff_accounts.check_workplace``), which only this package can see.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from yiyue.accounts.staff import management
from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import (
    STAFF_AUTH_ERRORS,
    WORKPLACE_ERRORS,
    DoctorHasAccount,
    ForbiddenRole,
    InvalidDisplayName,
    InvalidRole,
    InvalidStaffScope,
    InvalidUsername,
    StaffNotFound,
    UsernameTaken,
    WeakPassword,
)
from yiyue.accounts.staff.models import ROLE_LABELS, StaffRole, StaffUser
from yiyue.accounts.staff.schemas import StaffAccountCreateIn, StaffAccountOut, StaffAccountUpdateIn, StaffPasswordIn
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import IdPath, OptionalId
from yiyue.hospitals.staff_accounts import check_workplace

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])

ACCOUNT_ERRORS = (*STAFF_AUTH_ERRORS, ForbiddenRole, StaffNotFound)


def account_out(staff: StaffUser) -> StaffAccountOut:
    return StaffAccountOut(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        role_label=ROLE_LABELS[StaffRole(staff.role)],
        hospital_id=staff.hospital_id,
        doctor_id=staff.doctor_id,
        active=staff.active,
        created_at=staff.created_at,
        last_login_at=staff.last_login_at,
    )


@router.get(
    "/accounts",
    summary="工作人员账号列表（平台管理员：各院医院管理员；医院管理员：本院人员）",
    responses=responses(*ACCOUNT_ERRORS, *INPUT_ERRORS, management.HospitalOutOfScope),
)
async def list_accounts(
    session: SessionDep,
    staff: CurrentStaff,
    page: PageDep,
    hospital_id: OptionalId = None,
    role: Annotated[StaffRole | None, Query(description="角色")] = None,
    active: Annotated[bool | None, Query(description="是否在用")] = None,
    q: Annotated[str | None, Query(max_length=32, description="用户名或姓名的一部分")] = None,
) -> Page[StaffAccountOut]:
    filters = management.StaffFilter(hospital_id=hospital_id, role=role, active=active, q=q)
    rows, total = await management.list_accounts(
        session, staff=staff, filters=filters, offset=page.offset, limit=page.page_size
    )
    return Page.of([account_out(r) for r in rows], total, page)


@router.post(
    "/accounts",
    status_code=201,
    summary="新建工作人员账号",
    responses=responses(
        *STAFF_AUTH_ERRORS,
        *BODY_ERRORS,
        ForbiddenRole,
        management.RoleNotAssignable,
        management.HospitalOutOfScope,
        InvalidUsername,
        WeakPassword,
        InvalidDisplayName,
        InvalidRole,
        InvalidStaffScope,
        *WORKPLACE_ERRORS,
        UsernameTaken,
        DoctorHasAccount,
    ),
)
async def create_account(
    body: StaffAccountCreateIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAccountOut:
    created = await management.create_account(
        session,
        staff=staff,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        hospital_id=body.hospital_id,
        doctor_id=body.doctor_id,
        now=clock.now(),
        check_workplace=check_workplace,
    )
    return account_out(created)


@router.get("/accounts/{staff_id}", summary="工作人员账号", responses=responses(*ACCOUNT_ERRORS, *INPUT_ERRORS))
async def get_account(staff_id: IdPath, session: SessionDep, staff: CurrentStaff) -> StaffAccountOut:
    return account_out(await management.get_account(session, staff=staff, staff_id=staff_id))


@router.patch(
    "/accounts/{staff_id}",
    summary="修改姓名或角色（改角色会结束其所有登录会话）",
    responses=responses(
        *ACCOUNT_ERRORS,
        *BODY_ERRORS,
        management.RoleNotAssignable,
        management.NotOnYourself,
        management.LastHospitalAdmin,
        InvalidDisplayName,
        InvalidRole,
        InvalidStaffScope,
        *WORKPLACE_ERRORS,
        DoctorHasAccount,
    ),
)
async def update_account(
    staff_id: IdPath,
    body: StaffAccountUpdateIn,
    session: SessionDep,
    staff: CurrentStaff,
    clock: ClockDep,
) -> StaffAccountOut:
    updated = await management.update_account(
        session,
        staff=staff,
        staff_id=staff_id,
        display_name=body.display_name,
        role=body.role,
        doctor_id=body.doctor_id,
        now=clock.now(),
        check_workplace=check_workplace,
    )
    return account_out(updated)


@router.post(
    "/accounts/{staff_id}/password",
    status_code=204,
    summary="重置密码（结束其所有登录会话）",
    responses=responses(*ACCOUNT_ERRORS, *BODY_ERRORS, WeakPassword),
)
async def reset_password(
    staff_id: IdPath, body: StaffPasswordIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> Response:
    await management.reset_password(session, staff=staff, staff_id=staff_id, password=body.password, now=clock.now())
    return Response(status_code=204)


@router.post(
    "/accounts/{staff_id}/disable",
    summary="停用账号（立即结束其所有登录会话）",
    responses=responses(*ACCOUNT_ERRORS, *INPUT_ERRORS, management.NotOnYourself, management.LastHospitalAdmin),
)
async def disable_account(
    staff_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAccountOut:
    return account_out(
        await management.set_active(session, staff=staff, staff_id=staff_id, active=False, now=clock.now())
    )


@router.post(
    "/accounts/{staff_id}/enable",
    summary="启用账号",
    responses=responses(*ACCOUNT_ERRORS, *INPUT_ERRORS),
)
async def enable_account(
    staff_id: IdPath, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffAccountOut:
    return account_out(
        await management.set_active(session, staff=staff, staff_id=staff_id, active=True, now=clock.now())
    )
