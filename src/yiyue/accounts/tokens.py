"""Token families: one login and the refresh tokens rotated from it (decision 0014).

A login starts a family and stores its first refresh token (by ``jti``). Refreshing marks the presented
token used — a conditional ``UPDATE … WHERE used_at IS NULL``, so of two refreshes with the same token
exactly one wins — and issues a new pair in the same family. A used token presented again (later than
``refresh_reuse_grace_seconds``: a stolen copy, or the thief's copy after the owner refreshed) revokes
the whole family. Logout revokes it too. Access tokens carry the family: ``core.security.RevokedFamilies``
refuses those of a revoked family. Patients and staff (API) work alike; the subject is checked by the caller.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import RefreshToken, TokenFamily
from yiyue.core.db import Database, after_commit, begin_write
from yiyue.core.errors import DomainError, InvalidToken, SessionRevoked, TokenExpired, Unauthenticated
from yiyue.core.security import (
    FamilyLookup,
    Principal,
    RevokedFamilies,
    TokenPair,
    TokenVerifier,
    issue_pair,
    new_token_id,
)

PATIENT = "patient"
STAFF = "staff"


class RefreshTokenReused(Unauthenticated):
    code = "REFRESH_TOKEN_REUSED"
    message = "登录凭证已被使用过，为保护账号安全已退出登录，请重新登录"


REFRESH_ERRORS = (TokenExpired, InvalidToken, RefreshTokenReused, SessionRevoked)
"""What a refresh can answer (401) besides the body's errors."""


async def start(
    session: AsyncSession,
    *,
    subject_kind: str,
    subject_id: int,
    role: str,
    secret: str,
    now: datetime,
    access_ttl: timedelta,
    refresh_ttl: timedelta,
) -> TokenPair:
    """A new family (one login) and its first pair. Call within the login's write."""
    family = TokenFamily(subject_kind=subject_kind, subject_id=subject_id, created_at=now, revoked_reason="")
    session.add(family)
    await session.flush()
    return _issue(session, family.id, subject_id, role, secret=secret, now=now, access=access_ttl, refresh=refresh_ttl)


def _issue(
    session: AsyncSession,
    family_id: int,
    subject_id: int,
    role: str,
    *,
    secret: str,
    now: datetime,
    access: timedelta,
    refresh: timedelta,
) -> TokenPair:
    jti = new_token_id()
    session.add(RefreshToken(jti=jti, family_id=family_id, issued_at=now, expires_at=now + refresh))
    return issue_pair(
        secret=secret,
        subject_id=subject_id,
        role=role,
        now=now,
        access_ttl=access,
        refresh_ttl=refresh,
        family_id=family_id,
        refresh_id=jti,
    )


async def rotate(
    session: AsyncSession,
    *,
    principal: Principal,
    subject_kind: str,
    secret: str,
    now: datetime,
    access_ttl: timedelta,
    refresh_ttl: timedelta,
    revocations: RevokedFamilies,
    reuse_grace: timedelta,
    max_age: timedelta | None = None,
) -> TokenPair:
    """Exchanges the verified refresh token ``principal`` for a new pair of its family.

    ``INVALID_TOKEN`` for a token without a family (made before families existed) or not ours;
    ``SESSION_REVOKED`` when the family is revoked; ``REFRESH_TOKEN_REUSED`` when the token was used
    already — and then, unless that use was within ``reuse_grace`` (two refreshes racing), the family is
    revoked and that is committed before the refusal.
    """
    family_id, jti = principal.family_id, principal.token_id
    if family_id is None or not jti:
        raise InvalidToken()
    await begin_write(session)
    family = await session.get(TokenFamily, family_id)
    if family is None or family.subject_kind != subject_kind or family.subject_id != principal.subject_id:
        raise InvalidToken()
    if family.revoked_at is not None:
        revocations.revoked(family_id)
        raise SessionRevoked()
    if max_age is not None:  # the login's whole life, however often it is refreshed (staff: one working day)
        left = family.created_at + max_age - now
        if left <= timedelta(0):
            raise TokenExpired()
        refresh_ttl = min(refresh_ttl, left)
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.family_id == family_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount == 1:
        return _issue(
            session,
            family_id,
            principal.subject_id,
            principal.role,
            secret=secret,
            now=now,
            access=access_ttl,
            refresh=refresh_ttl,
        )
    used_at = await session.scalar(
        select(RefreshToken.used_at).where(RefreshToken.jti == jti, RefreshToken.family_id == family_id)
    )
    if used_at is None:  # no such row: not a token we issued
        raise InvalidToken()
    if now - used_at < reuse_grace:
        # Two refreshes of the owner racing (two tabs, a retry): refused, but the login lives on.
        raise RefreshTokenReused("登录凭证已更新，请使用最新的登录凭证", detail={"family_revoked": False})
    await _revoke(session, family_id, reason="reuse", now=now)
    await session.commit()  # the revocation stands although the request is refused
    revocations.revoked(family_id)
    raise RefreshTokenReused(detail={"family_revoked": True})


async def revoke(
    session: AsyncSession, *, family_id: int, reason: str, now: datetime, revocations: RevokedFamilies
) -> None:
    """Ends a family (logout): its refresh tokens and the access tokens that carry it stop working."""
    await begin_write(session)
    await _revoke(session, family_id, reason=reason, now=now)

    async def tell() -> None:
        revocations.revoked(family_id)

    after_commit(session, tell)


async def _revoke(session: AsyncSession, family_id: int, *, reason: str, now: datetime) -> None:
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def revoke_all(
    session: AsyncSession, *, subject_kind: str, subject_id: int, reason: str, now: datetime
) -> list[int]:
    """Ends every live family of a subject (e.g. a staff account disabled); the ids revoked."""
    ids = list(
        await session.scalars(
            select(TokenFamily.id).where(
                TokenFamily.subject_kind == subject_kind,
                TokenFamily.subject_id == subject_id,
                TokenFamily.revoked_at.is_(None),
            )
        )
    )
    for family_id in ids:
        await _revoke(session, family_id, reason=reason, now=now)
    return ids


def logout_principal(
    tokens_in: TokenVerifier,
    *,
    refresh_token: str | None,
    credentials: HTTPAuthorizationCredentials | None,
    now: datetime,
) -> Principal | None:
    """Whose session a logout ends: the refresh token's in the body, else the bearer access token's.
    None when the token has expired (nothing left to end); 401 without either, or with a bad one."""
    try:
        if refresh_token:
            return tokens_in.verify(refresh_token, kind="refresh", now=now)
        if credentials is not None and credentials.scheme.lower() == "bearer":
            return tokens_in.verify(credentials.credentials, kind="access", now=now)
    except TokenExpired:
        return None
    raise Unauthenticated()


async def logout(
    session: AsyncSession,
    *,
    tokens_in: TokenVerifier,
    refresh_token: str | None,
    credentials: HTTPAuthorizationCredentials | None,
    roles: Collection[str],
    wrong_role: type[DomainError],
    now: datetime,
    revocations: RevokedFamilies,
) -> None:
    """Logout (patients' and staff's): ends the family of the token given (``logout_principal``), which
    must be of one of ``roles`` (else ``wrong_role``). An expired token or a family revoked already: done."""
    principal = logout_principal(tokens_in, refresh_token=refresh_token, credentials=credentials, now=now)
    if principal is None:
        return
    if principal.role not in roles:
        raise wrong_role()
    if principal.family_id is not None:
        await revoke(session, family_id=principal.family_id, reason="logout", now=now, revocations=revocations)


def family_lookup(db: Database) -> FamilyLookup:
    """``RevokedFamilies``' question to the database: is this family revoked (or unknown)?"""

    async def lookup(family_id: int) -> bool:
        async with db.session() as session:
            row = (await session.execute(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id))).first()
        return row is None or row[0] is not None

    return lookup
