"""Hospital staff accounts (医院工作人员) for the web console and the staff API: who they are, what they may do.

Three roles: a platform admin (平台管理员) sees every hospital; a hospital admin (医院管理员) and a doctor
(医生) belong to one hospital, and a doctor is one row of the doctors table, acting only on their own
schedules. Passwords are argon2id hashes; staff tokens are our usual JWTs with the staff role as
``role`` and the staff id as subject, so a patient token (role ``patient``) never passes for staff.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, column, select, table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.config import Settings
from yiyue.core.db import Base, BigId, UtcDateTime, begin_write
from yiyue.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated
from yiyue.core.security import TokenPair, issue_pair


class StaffRole(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # 平台管理员: every hospital
    HOSPITAL_ADMIN = "hospital_admin"  # 医院管理员: one hospital
    DOCTOR = "doctor"  # 医生: one hospital, their own schedules


STAFF_ROLES = frozenset(role.value for role in StaffRole)

ROLE_LABELS = {
    StaffRole.PLATFORM_ADMIN: "平台管理员",
    StaffRole.HOSPITAL_ADMIN: "医院管理员",
    StaffRole.DOCTOR: "医生",
}

USERNAME = re.compile(r"[a-z0-9_.-]{3,32}")
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a login request from costing more than a login
MAX_DISPLAY_NAME = 32  # room for the username, the default display name


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (
        # The database holds the role/scope rule too, so no path around create_staff can break it.
        CheckConstraint(
            "(role = 'platform_admin' AND hospital_id IS NULL AND doctor_id IS NULL)"
            " OR (role = 'hospital_admin' AND hospital_id IS NOT NULL AND doctor_id IS NULL)"
            " OR (role = 'doctor' AND hospital_id IS NOT NULL AND doctor_id IS NOT NULL)",
            name="role_scope",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(MAX_DISPLAY_NAME))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    """None only for a platform admin."""
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctors.id"), unique=True)
    """The doctor this account is (role ``doctor`` only); one account per doctor."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- errors -----------------------------------------------------------------------------------------


class InvalidCredentials(Unauthenticated):
    code = "INVALID_CREDENTIALS"
    message = "用户名或密码错误"


class StaffDisabled(Forbidden):
    code = "STAFF_DISABLED"
    message = "该工作人员账号已停用"


class StaffOnly(Forbidden):
    code = "STAFF_ONLY"
    message = "仅限医院工作人员访问"


class ForbiddenRole(Forbidden):
    code = "FORBIDDEN_ROLE"
    message = "当前角色无权执行此操作"


class StaffNotFound(NotFound):
    code = "STAFF_NOT_FOUND"
    message = "工作人员不存在"


class InvalidUsername(InvalidInput):
    code = "INVALID_USERNAME"
    message = "用户名须为3-32位小写字母、数字或 _ . -"


class WeakPassword(InvalidInput):
    code = "WEAK_PASSWORD"
    message = f"密码长度须为{MIN_PASSWORD}-{MAX_PASSWORD}个字符"


class InvalidDisplayName(InvalidInput):
    code = "INVALID_DISPLAY_NAME"
    message = f"显示名称不能为空，且不超过{MAX_DISPLAY_NAME}个字符"


class InvalidRole(InvalidInput):
    code = "INVALID_ROLE"
    message = "角色无效，可选：platform_admin、hospital_admin、doctor"


class InvalidStaffScope(InvalidInput):
    code = "INVALID_STAFF_SCOPE"
    message = "角色与所属医院、医生不匹配"


class UnknownHospital(InvalidInput):
    code = "UNKNOWN_HOSPITAL"
    message = "所属医院不存在"


class UnknownDoctor(InvalidInput):
    code = "UNKNOWN_DOCTOR"
    message = "医生不存在或不属于该医院"


class UsernameTaken(Conflict):
    code = "USERNAME_TAKEN"
    message = "该用户名已被使用"


class DoctorHasAccount(Conflict):
    code = "DOCTOR_HAS_ACCOUNT"
    message = "该医生已有工作人员账号"


# --- passwords --------------------------------------------------------------------------------------

# Module state on purpose: tests swap in cheap parameters, and a change of parameters here is picked up
# by every stored hash at its owner's next login (rehash on login).
hasher = PasswordHasher()
_dummy_hashes: dict[tuple[int, int, int, int, int], str] = {}


def _dummy_hash(current: PasswordHasher) -> str:
    """A hash made with the current parameters, verified when the user does not exist, so an unknown
    username costs the same time as a wrong password."""
    key = (current.time_cost, current.memory_cost, current.parallelism, current.hash_len, current.salt_len)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = current.hash("yiyue-no-such-staff-user")
    return _dummy_hashes[key]


def _verify(current: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return current.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- use cases --------------------------------------------------------------------------------------


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
) -> StaffUser:
    """Creates a staff account.

    Rules: a username of 3-32 characters ``[a-z0-9_.-]`` no one else has; a password of at least 10
    characters; a platform admin has no hospital and no doctor; a hospital admin has a hospital and no
    doctor; a doctor has a hospital and is one of that hospital's doctors, with no other account.
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
    password_hash = await asyncio.to_thread(hasher.hash, password)
    await begin_write(session)
    await _check_hospital_and_doctor(session, hospital_id, doctor_id)
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
    current = hasher
    if staff is None:
        await asyncio.to_thread(_verify, current, _dummy_hash(current), password)
        raise InvalidCredentials()
    if not await asyncio.to_thread(_verify, current, staff.password_hash, password):
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


async def login(
    session: AsyncSession, *, username: str, password: str, settings: Settings, now: datetime
) -> StaffLogin:
    """Checks the credentials and issues an access token for the staff role (no refresh token: staff log in
    again when it expires)."""
    staff = await authenticate(session, username=username, password=password, now=now)
    return StaffLogin(staff=staff, tokens=issue_tokens(staff, settings=settings, now=now))


def issue_tokens(staff: StaffUser, *, settings: Settings, now: datetime) -> TokenPair:
    return issue_pair(
        secret=settings.secret_key,
        subject_id=staff.id,
        role=staff.role,
        now=now,
        access_ttl=timedelta(minutes=settings.access_token_minutes),
        refresh_ttl=timedelta(minutes=settings.access_token_minutes),
    )


async def get(session: AsyncSession, staff_id: int) -> StaffUser:
    staff = await session.get(StaffUser, staff_id)
    if staff is None:
        raise StaffNotFound()
    return staff


# --- scope checks (used by every staff endpoint) ----------------------------------------------------


def require_hospital(staff: StaffUser, hospital_id: int, *, not_found: type[DomainError] = NotFound) -> None:
    """Staff act only on their own hospital's data; a platform admin on any.

    Another hospital's object is answered as not found (404), never forbidden, so its ids are not
    confirmed to exist.
    """
    if staff.role == StaffRole.PLATFORM_ADMIN:
        return
    if staff.hospital_id is None or staff.hospital_id != hospital_id:
        raise not_found()


def require_role(staff: StaffUser, *roles: StaffRole) -> None:
    """The staff user's role is one of ``roles``; 403 ``FORBIDDEN_ROLE`` otherwise."""
    if staff.role not in roles:
        raise ForbiddenRole()


def actor(staff: StaffUser) -> str:
    """How the staff user is named in audit rows and appointment events: ``staff:12``."""
    return f"staff:{staff.id}"


# --- helpers ----------------------------------------------------------------------------------------

# accounts sits beside hospitals in the layers and may not import its models: these two lightweight
# tables name just the columns the scope check reads.
_hospitals = table("hospitals", column("id"))
_doctors = table("doctors", column("id"), column("hospital_id"))


def _check_scope(role: StaffRole, hospital_id: int | None, doctor_id: int | None) -> None:
    if role == StaffRole.PLATFORM_ADMIN and (hospital_id is not None or doctor_id is not None):
        raise InvalidStaffScope("平台管理员不属于任何医院，不能指定医院或医生")
    if role != StaffRole.PLATFORM_ADMIN and hospital_id is None:
        raise InvalidStaffScope(f"{ROLE_LABELS[role]}必须指定所属医院")
    if role == StaffRole.HOSPITAL_ADMIN and doctor_id is not None:
        raise InvalidStaffScope("医院管理员不能关联医生")
    if role == StaffRole.DOCTOR and doctor_id is None:
        raise InvalidStaffScope("医生账号必须关联医生")


async def _check_hospital_and_doctor(session: AsyncSession, hospital_id: int | None, doctor_id: int | None) -> None:
    if hospital_id is not None:
        found = await session.scalar(select(_hospitals.c.id).where(_hospitals.c.id == hospital_id))
        if found is None:
            raise UnknownHospital()
    if doctor_id is not None:
        works_at = await session.scalar(select(_doctors.c.hospital_id).where(_doctors.c.id == doctor_id))
        if works_at is None or works_at != hospital_id:
            raise UnknownDoctor()
