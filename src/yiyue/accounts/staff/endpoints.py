"""The staff API's own part: log in, and who am I (managing accounts: ``hospitals.staff_accounts_endpoints``)."""

from __future__ import annotations

from fastapi import APIRouter

from yiyue.accounts.staff import service
from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import (
    STAFF_AUTH_ERRORS,
    InvalidCredentials,
    StaffDisabled,
)
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.schemas import (
    StaffLoginIn,
    StaffOut,
    StaffTokenOut,
)
from yiyue.core.deps import ClockDep, SessionDep, SettingsDep
from yiyue.core.errors import BODY_ERRORS, responses

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])


def staff_out(staff: StaffUser) -> StaffOut:
    return StaffOut(
        id=staff.id,
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        hospital_id=staff.hospital_id,
        doctor_id=staff.doctor_id,
    )


@router.post(
    "/auth/login",
    summary="工作人员登录（用户名 + 密码）",
    responses=responses(*BODY_ERRORS, InvalidCredentials, StaffDisabled),
)
async def login(body: StaffLoginIn, session: SessionDep, settings: SettingsDep, clock: ClockDep) -> StaffTokenOut:
    result = await service.login(
        session, username=body.username, password=body.password, settings=settings, now=clock.now()
    )
    return StaffTokenOut(
        access_token=result.tokens.access_token, expires_in=result.tokens.expires_in, staff=staff_out(result.staff)
    )


@router.get("/me", summary="当前工作人员", responses=responses(*STAFF_AUTH_ERRORS))
async def me(staff: CurrentStaff) -> StaffOut:
    return staff_out(staff)
