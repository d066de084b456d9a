"""Staff account use cases: create, authenticate, log in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import tokens
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff.errors import (
    DoctorHasAccount,
    InvalidCredentials,
    InvalidDisplayName,
    InvalidRole,
    InvalidStaffScope,
    InvalidUsername,
    StaffDisabled,
    StaffNotFound,
    UsernameTaken,
    WeakPassword,
)
from yiyue.accounts.staff.models import (
    MAX_DISPLAY_NAME,
    MAX_PASSWORD,
    MIN_PASSWORD,
    ROLE_LABELS,
    USERNAME,
    StaffRole,
    StaffUser,
)
from yiyue.core.config import Settings
from yiyue.core.db import begin_write
from yiyue.core.errors import InvalidToken
from yiyue.core.ratelimit import LoginGuard
from yiyue.core.security import RevokedFamilies, TokenPair, verify

WorkplaceCheck = Callable[[AsyncSession, int | None, int | None], Awaitable[None]]
"""Raises when the hospital (or the doctor of that hospital) of a new staff account does not exist."""


@dataclass(frozen=True)
class StaffLogin:
    staff: StaffUser
    tokens: TokenPair


def validate_username(raw: str) -> str:
    username = raw.strip()
    if not USERNAME.fullmatch(username):
        raise InvalidUsername()
    return username


def validate_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise WeakPassword()
    return password


async def create_staff(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None = None,
    hospital_id: int | None = None,
    doctor_id: int | None = None,
    now: datetime,
    check_workplace: WorkplaceCheck | None = None,
) -> StaffUser:
    """Creates a staff account.

    Rules: a username of 3-32 characters ``[a-z0-9_.-]`` no one else has; a password of at least 10
    characters; a platform admin has no hospital and no doctor; a hospital admin has a hospital and no
    doctor; a doctor has a hospital and is one of that hospital's doctors, with no other account.
    Whether the hospital and the doctor exist is ``check_workplace``'s to say (``yiyue.hospitals``
    knows them: ``hospitals.staff_accounts.create_staff_account`` passes it).
    """
    username = validate_username(username)
    validate_password(password)
    name = (display_name if display_name is not None else username).strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise InvalidDisplayName()
    try:
        staff_role = StaffRole(role)
    except ValueError:
        raise InvalidRole() from None
    _check_scope(staff_role, hospital_id, doctor_id)
    # Hashing takes a tenth of a second of CPU: off the event loop, and before taking the writer's turn.
    password_hash = await asyncio.to_thread(passwords.hasher.hash, password)
    await begin_write(session)
    if check_workplace is not None:
        await check_workplace(session, hospital_id, doctor_id)
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise UsernameTaken()
    if doctor_id is not None and await session.scalar(select(StaffUser.id).where(StaffUser.doctor_id == doctor_id)):
        raise DoctorHasAccount()
    staff = StaffUser(
        username=username,
        display_name=name,
        password_hash=password_hash,
        role=staff_role,
        hospital_id=hospital_id,
        doctor_id=doctor_id,
        active=True,
        created_at=now,
    )
    session.add(staff)
    try:
        await session.flush()
    except IntegrityError:  # the same username (or doctor) created by someone else at the same instant
        raise UsernameTaken() from None
    return staff


async def authenticate(session: AsyncSession, *, username: str, password: str, now: datetime) -> StaffUser:
    """The staff user these credentials belong to, or ``INVALID_CREDENTIALS``.

    An unknown username and a wrong password fail alike and take the same time (a hash is verified
    either way), so the answer does not tell which usernames exist. A disabled account is refused only
    after its password was right. A hash made with older parameters is replaced at a successful login.
    """
    staff = await session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
    current = passwords.hasher
    if staff is None:
        await asyncio.to_thread(passwords.verify, current, passwords.dummy_hash(current), password)
        raise InvalidCredentials()
    if not await asyncio.to_thread(passwords.verify, current, staff.password_hash, password):
        raise InvalidCredentials()
    new_hash = None
    if current.check_needs_rehash(staff.password_hash):
        new_hash = await asyncio.to_thread(current.hash, password)
    await begin_write(session)
    await session.refresh(staff)  # disabled while the password was being checked?
    if not staff.active:
        raise StaffDisabled()
    if new_hash is not None:
        staff.password_hash = new_hash
    staff.last_login_at = now
    await session.flush()
    return staff


async def guarded_authenticate(
    session: AsyncSession, *, username: str, password: str, ip: str, guard: LoginGuard, now: datetime
) -> StaffUser:
    """``authenticate`` behind the login guard (API and console alike): ``LOGIN_LOCKED`` (429, with
    ``Retry-After``) while the user name or the address is locked out — checked before any password work —
    and at most a few password verifications at once in the process."""

    async def work() -> StaffUser:
        return await authenticate(session, username=username, password=password, now=now)

    return await guard.attempt(username, ip, now=now, work=work, failure=InvalidCredentials)


async def login(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    ip: str,
    guard: LoginGuard,
    settings: Settings,
    now: datetime,
) -> StaffLogin:
    """Checks the credentials and starts a token family (``accounts.tokens``): an access token for the
    staff role and a refresh token that rotates, lasting a working day (``staff_session_max_hours``)."""
    staff = await guarded_authenticate(session, username=username, password=password, ip=ip, guard=guard, now=now)
    pair = await tokens.start(
        session,
        subject_kind=tokens.STAFF,
        subject_id=staff.id,
        role=staff.role,
        secret=settings.secret_key,
        now=now,
        **_ttls(settings),
    )
    return StaffLogin(staff=staff, tokens=pair)


def _ttls(settings: Settings) -> dict[str, timedelta]:
    return {
        "access_ttl": timedelta(minutes=settings.access_token_minutes),
        "refresh_ttl": timedelta(hours=settings.staff_session_max_hours),
    }


async def refresh(
    session: AsyncSession, *, refresh_token: str, settings: Settings, now: datetime, revocations: RevokedFamilies
) -> StaffLogin:
    """A new pair in the same family for a staff refresh token (rotation, reuse revokes the family); a
    disabled account or a changed role gets none."""
    principal = verify(refresh_token, secret=settings.secret_key, kind="refresh", now=now)
    staff = await session.get(StaffUser, principal.subject_id)
    if staff is None or staff.role != principal.role:
        raise InvalidToken()
    if not staff.active:
        raise StaffDisabled()
    pair = await tokens.rotate(
        session,
        principal=principal,
        subject_kind=tokens.STAFF,
        secret=settings.secret_key,
        now=now,
        revocations=revocations,
        reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
        max_age=timedelta(hours=settings.staff_session_max_hours),
        **_ttls(settings),
    )
    return StaffLogin(staff=staff, tokens=pair)


async def get(session: AsyncSession, staff_id: int) -> StaffUser:
    staff = await session.get(StaffUser, staff_id)
    if staff is None:
        raise StaffNotFound()
    return staff


def _check_scope(role: StaffRole, hospital_id: int | None, doctor_id: int | None) -> None:
    if role == StaffRole.PLATFORM_ADMIN and (hospital_id is not None or doctor_id is not None):
        raise InvalidStaffScope("平台管理员不属于任何医院，不能指定医院或医生")
    if role != StaffRole.PLATFORM_ADMIN and hospital_id is None:
        raise InvalidStaffScope(f"{ROLE_LABELS[role]}必须指定所属医院")
    if role in (StaffRole.HOSPITAL_ADMIN, StaffRole.FRONT_DESK) and doctor_id is not None:
        raise InvalidStaffScope(f"{ROLE_LABELS[role]}不能关联医生")
    if role == StaffRole.DOCTOR and doctor_id is None:
        raise InvalidStaffScope("医生账号必须关联医生")
