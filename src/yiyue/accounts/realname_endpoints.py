"""实名认证 of a visit person, on request: after a rename, a failed check, or a provider that could not answer."""

from __future__ import annotations

from fastapi import APIRouter

from yiyue.accounts import service
from yiyue.accounts.endpoints import visit_person_out
from yiyue.accounts.realname import RealNameUnavailable
from yiyue.accounts.realname_deps import RealNameDep
from yiyue.accounts.schemas import VisitPersonOut
from yiyue.core.clock import local_today
from yiyue.core.deps import CipherDep, ClockDep, CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, RateLimited, responses
from yiyue.core.params import IdPath
from yiyue.core.ratelimit import rate_limit

router = APIRouter(prefix="/api/v1", tags=["账号与就诊人"])


@router.post(
    "/me/patients/{patient_id}/verify",
    summary="就诊人实名认证（重新认证）",
    description="核验就诊人的姓名与身份证号。已认证的就诊人直接返回；认证服务暂不可用时返回 503，就诊人保持未认证。",
    dependencies=[rate_limit("realname", per="account"), rate_limit("realname", per="ip")],
    responses=responses(RateLimited, *AUTH_ERRORS, service.VisitPersonNotFound, RealNameUnavailable),
)
async def verify_patient(
    patient_id: IdPath,
    session: SessionDep,
    account: CurrentAccount,
    cipher: CipherDep,
    realname_provider: RealNameDep,
    clock: ClockDep,
) -> VisitPersonOut:
    now = clock.now()
    checked = await service.verify_visit_person(
        session,
        account_id=account.subject_id,
        visit_person_id=patient_id,
        cipher=cipher,
        realname_provider=realname_provider,
        now=now,
    )
    return visit_person_out(checked.person, local_today(now))
