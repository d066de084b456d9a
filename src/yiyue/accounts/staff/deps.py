"""FastAPI dependency for the staff API: the calling staff user (scope checks: ``accounts.staff.scope``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from yiyue.accounts.staff.errors import StaffDisabled, StaffOnly
from yiyue.accounts.staff.models import STAFF_ROLES, StaffUser
from yiyue.core import audit
from yiyue.core.clock import Clock
from yiyue.core.deps import SessionDep
from yiyue.core.errors import InvalidToken, Unauthenticated
from yiyue.core.security import RevokedFamilies, TokenVerifier

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="StaffBearer",
    description="工作人员登录（/api/v1/staff/auth/login）后获得的 access_token",
)


async def _current_staff(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffUser:
    """The staff user behind the bearer token, loaded fresh: a disabled account or a changed role stops
    its tokens at once, without waiting for them to expire."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    verifier: TokenVerifier = request.app.state.tokens
    clock: Clock = request.app.state.clock
    revocations: RevokedFamilies = request.app.state.revocations
    principal = await revocations.check(verifier.verify(credentials.credentials, kind="access", now=clock.now()))
    if principal.role not in STAFF_ROLES:  # a patient's token: the subject is an account, not a staff user
        raise StaffOnly()
    staff = await session.get(StaffUser, principal.subject_id)
    if staff is None or staff.role != principal.role:
        raise InvalidToken()
    if not staff.active:
        raise StaffDisabled()
    session.info[audit.CLIENT_IP] = request.client.host if request.client is not None else ""
    return staff


CurrentStaff = Annotated[StaffUser, Depends(_current_staff)]
