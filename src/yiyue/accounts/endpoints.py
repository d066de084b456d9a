from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, StringConstraints

from yiyue.accounts import service, tokens
from yiyue.accounts.idcard import age_on
from yiyue.accounts.models import Relationship, VisitPerson
from yiyue.accounts.realname import REALNAME_LABELS, REALNAME_MESSAGES, RealNameStatus
from yiyue.accounts.realname_deps import RealNameDep
from yiyue.accounts.schemas import (
    RELATIONSHIP_LABELS,
    AccountBrief,
    RefreshIn,
    TokenOut,
    VisitPersonIn,
    VisitPersonList,
    VisitPersonOut,
    VisitPersonPatch,
    WeChatLoginIn,
)
from yiyue.core.clock import local_today
from yiyue.core.deps import CipherDep, ClockDep, CurrentAccount, RevocationsDep, SessionDep, SettingsDep
from yiyue.core.errors import (
    AUTH_ERRORS,
    BODY_ERRORS,
    Forbidden,
    RateLimited,
    responses,
)
from yiyue.core.params import IdPath
from yiyue.core.ratelimit import rate_limit
from yiyue.wechat.client import WeChatClient
from yiyue.wechat.errors import (
    WeChatCodeInvalid,
    WeChatMisconfigured,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)

router = APIRouter(prefix="/api/v1", tags=["账号与就诊人"])


async def _wechat(request: Request) -> WeChatClient:
    client: WeChatClient = request.app.state.wechat
    return client


WeChatDep = Annotated[WeChatClient, Depends(_wechat)]


def _token_out(login: service.Login) -> TokenOut:
    return TokenOut(
        access_token=login.tokens.access_token,
        refresh_token=login.tokens.refresh_token,
        expires_in=login.tokens.expires_in,
        refresh_expires_in=login.tokens.refresh_expires_in,
        account=AccountBrief(id=login.account.id, is_new=login.is_new),
    )


def visit_person_out(person: VisitPerson, today: date) -> VisitPersonOut:
    relationship = Relationship(person.relationship)
    realname_status = RealNameStatus(person.realname_status)
    return VisitPersonOut(
        id=person.id,
        name=person.name,
        relationship=relationship,
        relationship_label=RELATIONSHIP_LABELS[relationship],
        id_number_masked=person.id_number_masked,
        phone_masked=person.phone_masked,
        birth_date=person.birth_date,
        sex=person.sex,
        age=age_on(person.birth_date, today),
        realname_status=realname_status.value,
        realname_label=REALNAME_LABELS[realname_status],
        realname_message=REALNAME_MESSAGES[realname_status],
    )


@router.post(
    "/auth/wechat-login",
    summary="微信小程序登录（wx.login 的 code 换取令牌）",
    dependencies=[rate_limit("wechat_login", per="ip")],
    responses=responses(
        RateLimited,
        *BODY_ERRORS,
        WeChatCodeInvalid,
        WeChatUserBlocked,
        WeChatRateLimited,
        WeChatUnavailable,
        WeChatMisconfigured,
    ),
)
async def wechat_login(
    body: WeChatLoginIn, session: SessionDep, wechat: WeChatDep, settings: SettingsDep, clock: ClockDep
) -> TokenOut:
    login = await service.login_with_wechat(session, wechat=wechat, code=body.code, settings=settings, now=clock.now())
    return _token_out(login)


@router.post(
    "/auth/refresh",
    summary="刷新令牌（轮换：旧的刷新令牌随即作废）",
    description="返回新的 access_token 与 refresh_token，须保存新的 refresh_token；"
    "已用过的刷新令牌再次出现时，整个登录会话被注销（REFRESH_TOKEN_REUSED）。",
    dependencies=[rate_limit("refresh", per="ip")],
    responses=responses(RateLimited, *BODY_ERRORS, *tokens.REFRESH_ERRORS, service.AccountNotFound),
)
async def refresh(
    body: RefreshIn, session: SessionDep, settings: SettingsDep, clock: ClockDep, revocations: RevocationsDep
) -> TokenOut:
    login = await service.refresh(
        session, refresh_token=body.refresh_token, settings=settings, now=clock.now(), revocations=revocations
    )
    return _token_out(login)


class LogoutIn(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None


_logout_bearer = HTTPBearer(auto_error=False, description="登录后获得的 access_token")


@router.post(
    "/auth/logout",
    status_code=204,
    summary="退出登录（注销本次登录的所有令牌）",
    description="请求体带 refresh_token，或以 Authorization 带 access_token；之后该次登录的令牌均失效。",
    responses=responses(*AUTH_ERRORS, *BODY_ERRORS),
)
async def logout(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    revocations: RevocationsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_logout_bearer)],
    body: LogoutIn | None = None,
) -> Response:
    await tokens.logout(
        session,
        tokens_in=request.app.state.tokens,
        refresh_token=body.refresh_token if body else None,
        credentials=credentials,
        roles={"patient"},
        wrong_role=Forbidden,
        now=clock.now(),
        revocations=revocations,
    )
    return Response(status_code=204)


@router.get("/me/patients", summary="我的就诊人", responses=responses(*AUTH_ERRORS))
async def list_patients(session: SessionDep, account: CurrentAccount, clock: ClockDep) -> VisitPersonList:
    people = await service.list_visit_persons(session, account_id=account.subject_id)
    today = local_today(clock.now())
    return VisitPersonList(items=[visit_person_out(p, today) for p in people], total=len(people))


@router.post(
    "/me/patients",
    status_code=201,
    summary="添加就诊人",
    dependencies=[rate_limit("patients", per="account"), rate_limit("patients", per="ip")],
    responses=responses(
        RateLimited,
        *AUTH_ERRORS,
        *BODY_ERRORS,
        service.AccountNotFound,
        service.InvalidIdNumber,
        service.InvalidPhone,
        service.TooManyVisitPersons,
        service.SelfAlreadyExists,
        service.VisitPersonExists,
    ),
)
async def add_patient(
    body: VisitPersonIn,
    session: SessionDep,
    account: CurrentAccount,
    cipher: CipherDep,
    settings: SettingsDep,
    realname_provider: RealNameDep,
    clock: ClockDep,
) -> VisitPersonOut:
    now = clock.now()
    added = await service.add_visit_person(
        session,
        account_id=account.subject_id,
        data=body,
        cipher=cipher,
        settings=settings,
        realname_provider=realname_provider,
        now=now,
    )
    return visit_person_out(added.person, local_today(now))


@router.patch(
    "/me/patients/{patient_id}",
    summary="修改就诊人",
    responses=responses(
        *AUTH_ERRORS,
        *BODY_ERRORS,
        service.InvalidPhone,
        service.VisitPersonNotFound,
        service.SelfAlreadyExists,
    ),
)
async def update_patient(
    patient_id: IdPath,
    body: VisitPersonPatch,
    session: SessionDep,
    account: CurrentAccount,
    cipher: CipherDep,
    clock: ClockDep,
) -> VisitPersonOut:
    now = clock.now()
    person = await service.update_visit_person(
        session, account_id=account.subject_id, visit_person_id=patient_id, patch=body, cipher=cipher, now=now
    )
    return visit_person_out(person, local_today(now))
