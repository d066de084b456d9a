"""Managing staff accounts (工作人员账号): who may create, rename, re-role, reset and disable whom.

- The platform administrator manages the hospital administrators of every hospital (and only them).
- A hospital administrator manages their own hospital's staff: hospital administrators, the front desk
  and doctors (each linked to one of the hospital's doctors).
- Front desk and doctors manage no one (403). Another hospital's account, or one outside the caller's
  remit, is answered as not found (404).
- No one disables or re-roles themselves; a hospital always keeps one active hospital administrator.
- A new password, a new role or a disabled account ends the person's console sessions at once.

Every change is audited (never a password). Whether a hospital or a doctor exists is the hospitals
package's to say (``check_workplace``, as for ``service.create_staff``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import tokens
from yiyue.accounts.staff import passwords, service, sessions
from yiyue.accounts.staff.errors import (
    DoctorHasAccount,
    InvalidDisplayName,
    InvalidRole,
    InvalidStaffScope,
    StaffNotFound,
)
from yiyue.accounts.staff.models import MAX_DISPLAY_NAME, ROLE_LABELS, StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_role
from yiyue.core import audit
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, Forbidden, NotFound

MANAGERS = (StaffRole.PLATFORM_ADMIN, StaffRole.HOSPITAL_ADMIN)
HOSPITAL_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.FRONT_DESK, StaffRole.DOCTOR)
"""The roles a hospital administrator gives."""


class RoleNotAssignable(Forbidden):
    code = "ROLE_NOT_ASSIGNABLE"
    message = "无权授予该角色：平台管理员只管理医院管理员，医院管理员只管理本院人员"


class HospitalOutOfScope(NotFound):
    code = "HOSPITAL_NOT_FOUND"
    message = "医院不存在"


class NotOnYourself(Conflict):
    code = "NOT_ON_YOURSELF"
    message = "不能停用自己的账号或修改自己的角色"


class LastHospitalAdmin(Conflict):
    code = "LAST_HOSPITAL_ADMIN"
    message = "这是该院最后一位在用的医院管理员，不能停用或改为其他角色"


@dataclass(frozen=True)
class StaffFilter:
    hospital_id: int | None = None
    role: str | None = None
    active: bool | None = None
    q: str | None = None
    """Part of the username or display name."""


async def list_accounts(
    session: AsyncSession, *, staff: StaffUser, filters: StaffFilter, offset: int, limit: int
) -> tuple[list[StaffUser], int]:
    """The accounts the caller manages, by hospital, then role, then username."""
    require_role(staff, *MANAGERS)
    conditions = _remit(staff)
    if filters.hospital_id is not None:
        if staff.role != StaffRole.PLATFORM_ADMIN and filters.hospital_id != staff.hospital_id:
            raise HospitalOutOfScope()
        conditions.append(StaffUser.hospital_id == filters.hospital_id)
    if filters.role:
        conditions.append(StaffUser.role == filters.role)
    if filters.active is not None:
        conditions.append(StaffUser.active == filters.active)
    if filters.q:
        pattern = f"%{filters.q.strip().lower()}%"
        conditions.append(or_(StaffUser.username.like(pattern), StaffUser.display_name.like(f"%{filters.q.strip()}%")))
    total = await session.scalar(select(func.count()).select_from(StaffUser).where(*conditions))
    rows = await session.scalars(
        select(StaffUser)
        .where(*conditions)
        .order_by(StaffUser.hospital_id, StaffUser.role, StaffUser.username)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total or 0)


async def get_account(session: AsyncSession, *, staff: StaffUser, staff_id: int) -> StaffUser:
    """An account the caller manages; any other is not found."""
    require_role(staff, *MANAGERS)
    target = await session.get(StaffUser, staff_id)
    if target is None or not _manages(staff, target):
        raise StaffNotFound()
    return target


async def create_account(
    session: AsyncSession,
    *,
    staff: StaffUser,
    username: str,
    password: str,
    role: str,
    display_name: str | None,
    hospital_id: int | None,
    doctor_id: int | None,
    now: datetime,
    check_workplace: service.WorkplaceCheck,
) -> StaffUser:
    """A new account in the caller's remit: the platform makes hospital administrators of a hospital it
    names; a hospital administrator makes staff of their own hospital."""
    require_role(staff, *MANAGERS)
    hospital_id = _hospital_for_new(staff, role, hospital_id)
    created = await service.create_staff(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        hospital_id=hospital_id,
        doctor_id=doctor_id,
        now=now,
        check_workplace=check_workplace,
    )
    audit.record(
        session,
        actor=actor(staff),
        action="staff.create",
        subject=f"staff:{created.id}",
        at=now,
        hospital_id=created.hospital_id,
        detail={"after": _summary(created)},
    )
    return created


async def update_account(
    session: AsyncSession,
    *,
    staff: StaffUser,
    staff_id: int,
    display_name: str | None = None,
    role: str | None = None,
    doctor_id: int | None = None,
    now: datetime,
    check_workplace: service.WorkplaceCheck,
) -> StaffUser:
    """Changes the display name and/or the role (a doctor account names its doctor). A new role ends
    the person's console sessions. The platform changes names only (its accounts stay hospital
    administrators)."""
    target = await get_account(session, staff=staff, staff_id=staff_id)
    name = target.display_name if display_name is None else display_name.strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise InvalidDisplayName()
    new_role = _role(role) if role is not None else StaffRole(target.role)
    if doctor_id is not None and new_role != StaffRole.DOCTOR:
        raise InvalidStaffScope(f"{ROLE_LABELS[new_role]}不能关联医生")
    new_doctor = doctor_id if new_role == StaffRole.DOCTOR else None
    if new_role == StaffRole.DOCTOR and new_doctor is None:
        new_doctor = target.doctor_id
    if new_role == StaffRole.DOCTOR and new_doctor is None:
        raise InvalidStaffScope("医生账号必须关联医生")
    role_changes = new_role != target.role or new_doctor != target.doctor_id
    if role_changes:
        if target.id == staff.id:
            raise NotOnYourself()
        if staff.role == StaffRole.PLATFORM_ADMIN or new_role not in HOSPITAL_ROLES:
            raise RoleNotAssignable()
    await begin_write(session)
    if role_changes:
        if target.role == StaffRole.HOSPITAL_ADMIN and target.active and new_role != StaffRole.HOSPITAL_ADMIN:
            await _keep_an_admin(session, target)
        if new_doctor is not None and new_doctor != target.doctor_id:
            await check_workplace(session, target.hospital_id, new_doctor)
            if await session.scalar(select(StaffUser.id).where(StaffUser.doctor_id == new_doctor)) is not None:
                raise DoctorHasAccount()
    before = _summary(target)
    target.display_name = name
    target.role = new_role
    target.doctor_id = new_doctor
    await session.flush()
    ended = await sessions.end_all(session, staff_id=target.id, now=now) if role_changes else 0
    if role_changes:
        await _end_api_logins(session, target, reason="role_changed", now=now)
    if before != _summary(target):
        audit.record(
            session,
            actor=actor(staff),
            action="staff.update",
            subject=f"staff:{target.id}",
            at=now,
            hospital_id=target.hospital_id,
            detail={"before": before, "after": _summary(target), "sessions_ended": ended},
        )
    return target


async def reset_password(
    session: AsyncSession, *, staff: StaffUser, staff_id: int, password: str, now: datetime
) -> StaffUser:
    """Sets a new password (the rules of ``service.validate_password``) and ends the person's console
    sessions. Neither password is stored or audited, only that it changed."""
    target = await get_account(session, staff=staff, staff_id=staff_id)
    service.validate_password(password)
    password_hash = await asyncio.to_thread(passwords.hasher.hash, password)
    await begin_write(session)
    target.password_hash = password_hash
    ended = await sessions.end_all(session, staff_id=target.id, now=now)
    await _end_api_logins(session, target, reason="password_reset", now=now)
    audit.record(
        session,
        actor=actor(staff),
        action="staff.reset_password",
        subject=f"staff:{target.id}",
        at=now,
        hospital_id=target.hospital_id,
        detail={"sessions_ended": ended},
    )
    await session.flush()
    return target


async def set_active(
    session: AsyncSession, *, staff: StaffUser, staff_id: int, active: bool, now: datetime
) -> StaffUser:
    """Disables (停用) or enables (启用) an account. Disabling ends every console session of the person at
    once; no one disables themselves, and a hospital keeps one active hospital administrator."""
    target = await get_account(session, staff=staff, staff_id=staff_id)
    if target.active == active:
        return target
    if not active and target.id == staff.id:
        raise NotOnYourself()
    await begin_write(session)
    ended = 0
    if not active:
        if target.role == StaffRole.HOSPITAL_ADMIN:
            await _keep_an_admin(session, target)
        ended = await sessions.end_all(session, staff_id=target.id, now=now)
        await _end_api_logins(session, target, reason="disabled", now=now)
    target.active = active
    audit.record(
        session,
        actor=actor(staff),
        action="staff.enable" if active else "staff.disable",
        subject=f"staff:{target.id}",
        at=now,
        hospital_id=target.hospital_id,
        detail={"username": target.username, "sessions_ended": ended},
    )
    await session.flush()
    return target


def _remit(staff: StaffUser) -> list[ColumnElement[bool]]:
    """The accounts a manager may see, as query conditions."""
    if staff.role == StaffRole.PLATFORM_ADMIN:
        return [StaffUser.role == StaffRole.HOSPITAL_ADMIN]
    return [StaffUser.hospital_id == staff.hospital_id, StaffUser.role.in_(HOSPITAL_ROLES)]


def _manages(staff: StaffUser, target: StaffUser) -> bool:
    if staff.role == StaffRole.PLATFORM_ADMIN:
        return target.role == StaffRole.HOSPITAL_ADMIN
    return (
        staff.role == StaffRole.HOSPITAL_ADMIN
        and target.hospital_id is not None
        and target.hospital_id == staff.hospital_id
    )


def _role(raw: str) -> StaffRole:
    try:
        return StaffRole(raw)
    except ValueError:
        raise InvalidRole() from None


def _hospital_for_new(staff: StaffUser, role: str, hospital_id: int | None) -> int | None:
    wanted = _role(role)
    if staff.role == StaffRole.PLATFORM_ADMIN:
        if wanted != StaffRole.HOSPITAL_ADMIN:
            raise RoleNotAssignable()
        return hospital_id  # required and checked by create_staff and the workplace check
    if wanted not in HOSPITAL_ROLES:
        raise RoleNotAssignable()
    if hospital_id is not None and hospital_id != staff.hospital_id:
        raise HospitalOutOfScope()
    return staff.hospital_id


async def _keep_an_admin(session: AsyncSession, leaving: StaffUser) -> None:
    """Refuses when ``leaving`` is its hospital's last active administrator (the others are locked until
    commit, so two admins cannot each remove the other at the same time)."""
    others = await session.scalars(
        select(StaffUser.id)
        .where(
            StaffUser.hospital_id == leaving.hospital_id,
            StaffUser.role == StaffRole.HOSPITAL_ADMIN,
            StaffUser.active.is_(True),
            StaffUser.id != leaving.id,
        )
        .with_for_update()
    )
    if not list(others):
        raise LastHospitalAdmin()


def _summary(target: StaffUser) -> dict[str, Any]:
    return {
        "username": target.username,
        "display_name": target.display_name,
        "role": str(target.role),
        "doctor_id": target.doctor_id,
        "active": target.active,
    }


async def _end_api_logins(session: AsyncSession, target: StaffUser, *, reason: str, now: datetime) -> None:
    """Ends the staff user's API logins (token families) with their console sessions: a stolen refresh
    token must not outlive a password reset, a disabling or a change of role. Every process refuses
    their access tokens within ``revoked_family_recheck_seconds`` (docs/decisions/0014)."""
    await tokens.revoke_all(session, subject_kind=tokens.STAFF, subject_id=target.id, reason=reason, now=now)
