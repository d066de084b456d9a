"""The staff API's own part: log in, and who am I (managing accounts: ``hospitals.staff_accounts_endpoints``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yiyue.accounts import tokens
from yiyue.accounts.staff import service
from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import (
    STAFF_AUTH_ERRORS,
    InvalidCredentials,
    StaffDisabled,
    StaffOnly,
)
from yiyue.accounts.staff.models import STAFF_ROLES, StaffUser
from yiyue.accounts.staff.schemas import (
    StaffLoginIn,
    StaffLogoutIn,
    StaffOut,
    StaffRefreshIn,
    StaffTokenOut,
)
from yiyue.core.deps import ClockDep, RevocationsDep, SessionDep, SettingsDep
from yiyue.core.errors import BODY_ERRORS, RateLimited, responses
from yiyue.core.ratelimit import LoginGuard, LoginLocked, client_ip, rate_limit

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
    description="连续输错密码后，该用户名（及该地址）被暂时锁定：1 分钟起，每再错一次加倍，最长 1 小时；"
    "锁定期间直接返回 429 LOGIN_LOCKED（带 Retry-After）。返回的 refresh_token 每次刷新都会轮换。",
    responses=responses(*BODY_ERRORS, InvalidCredentials, StaffDisabled, LoginLocked),
)
async def login(
    request: Request, body: StaffLoginIn, session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> StaffTokenOut:
    guard: LoginGuard = request.app.state.login_guard
    result = await service.login(
        session,
        username=body.username,
        password=body.password,
        ip=client_ip(request, settings),
        guard=guard,
        settings=settings,
        now=clock.now(),
    )
    return _token_out(result)


def _token_out(result: service.StaffLogin) -> StaffTokenOut:
    return StaffTokenOut(
        access_token=result.tokens.access_token,
        refresh_token=result.tokens.refresh_token,
        expires_in=result.tokens.expires_in,
        refresh_expires_in=result.tokens.refresh_expires_in,
        staff=staff_out(result.staff),
    )


@router.post(
    "/auth/refresh",
    summary="工作人员刷新令牌（轮换）",
    description="返回新的一对令牌，旧的 refresh_token 随即作废；已用过的再次出现时注销整个登录会话。",
    dependencies=[rate_limit("refresh", per="ip")],
    responses=responses(RateLimited, *BODY_ERRORS, *tokens.REFRESH_ERRORS, StaffDisabled),
)
async def refresh(
    body: StaffRefreshIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, revocations: RevocationsDep
) -> StaffTokenOut:
    result = await service.refresh(
        session, refresh_token=body.refresh_token, settings=settings, now=clock.now(), revocations=revocations
    )
    return _token_out(result)


_logout_bearer = HTTPBearer(auto_error=False, scheme_name="StaffBearer", description="工作人员的 access_token")


@router.post(
    "/auth/logout",
    status_code=204,
    summary="工作人员退出登录（注销本次登录的所有令牌）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS),
)
async def logout(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    revocations: RevocationsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_logout_bearer)],
    body: StaffLogoutIn | None = None,
) -> Response:
    await tokens.logout(
        session,
        tokens_in=request.app.state.tokens,
        refresh_token=body.refresh_token if body else None,
        credentials=credentials,
        roles=STAFF_ROLES,
        wrong_role=StaffOnly,
        now=clock.now(),
        revocations=revocations,
    )
    return Response(status_code=204)


@router.get("/me", summary="当前工作人员", responses=responses(*STAFF_AUTH_ERRORS))
async def me(staff: CurrentStaff) -> StaffOut:
    return staff_out(staff)
