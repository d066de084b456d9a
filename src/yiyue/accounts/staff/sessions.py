"""Console logins (工作人员会话): a random token in an HttpOnly cookie, its hash in ``staff_sessions``.

A session ends at logout, after ``idle`` without a request, or ``lifetime`` after login, whichever
comes first; a disabled account or a changed role ends every session at its next request. Each session
has its own CSRF token, which every form and htmx request must send back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.errors import StaffDisabled
from yiyue.accounts.staff.models import StaffSession, StaffUser
from yiyue.core.db import begin_write
from yiyue.core.errors import Unauthenticated

TOUCH_EVERY = timedelta(minutes=1)
"""``last_seen_at`` is written at most this often (a page with ten htmx requests is one write)."""


class SessionEnded(Unauthenticated):
    code = "SESSION_ENDED"
    message = "登录已过期，请重新登录"


@dataclass(frozen=True)
class ConsoleLogin:
    staff: StaffUser
    record: StaffSession
    token: str
    """The cookie's value; only its hash is stored."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start(
    session: AsyncSession, *, staff: StaffUser, ip: str, user_agent: str, lifetime: timedelta, now: datetime
) -> ConsoleLogin:
    """A new console session for a staff user whose credentials were just checked."""
    await begin_write(session)
    token = secrets.token_urlsafe(32)
    record = StaffSession(
        token_hash=token_hash(token),
        staff_id=staff.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        ended_at=None,
        ip=ip[:45],
        user_agent=user_agent[:200],
    )
    session.add(record)
    await session.flush()
    return ConsoleLogin(staff=staff, record=record, token=token)


async def resume(
    session: AsyncSession, *, token: str, idle: timedelta, now: datetime
) -> tuple[StaffUser, StaffSession]:
    """The staff user and session behind a cookie, if the session is still alive: ``SESSION_ENDED`` for
    one ended, idle for ``idle`` or past its lifetime, ``STAFF_DISABLED`` for a disabled account. (The
    refusal rolls the request back, so nothing is written: a dead session simply stays dead.)"""
    record = await session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    if record is None or record.ended_at is not None:
        raise SessionEnded()
    if now >= record.expires_at or now - record.last_seen_at >= idle:
        raise SessionEnded()
    staff = await session.get(StaffUser, record.staff_id)
    if staff is None:
        raise SessionEnded()
    if not staff.active:
        raise StaffDisabled()
    if now - record.last_seen_at >= TOUCH_EVERY:
        await begin_write(session)
        record.last_seen_at = now
    return staff, record


async def end(session: AsyncSession, *, token: str, now: datetime) -> None:
    """Logout: the session ends now (an unknown or ended token changes nothing)."""
    record = await session.scalar(select(StaffSession).where(StaffSession.token_hash == token_hash(token)))
    if record is not None and record.ended_at is None:
        await begin_write(session)
        record.ended_at = now


async def end_all(session: AsyncSession, *, staff_id: int, now: datetime) -> int:
    """Ends every session of a staff user (disabled, password or role changed). Returns how many."""
    await begin_write(session)
    result = await session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
