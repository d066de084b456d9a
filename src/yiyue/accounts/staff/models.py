"""The staff account table and its roles."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class StaffRole(StrEnum):
    PLATFORM_ADMIN = "platform_admin"  # 平台管理员: every hospital
    HOSPITAL_ADMIN = "hospital_admin"  # 医院管理员: one hospital
    DOCTOR = "doctor"  # 医生: one hospital, their own schedules
    FRONT_DESK = "front_desk"  # 导诊台/挂号窗口: one hospital, check-in and walk-ins


STAFF_ROLES = frozenset(role.value for role in StaffRole)

ROLE_LABELS = {
    StaffRole.PLATFORM_ADMIN: "平台管理员",
    StaffRole.HOSPITAL_ADMIN: "医院管理员",
    StaffRole.DOCTOR: "医生",
    StaffRole.FRONT_DESK: "导诊/挂号",
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
            " OR (role IN ('hospital_admin', 'front_desk') AND hospital_id IS NOT NULL AND doctor_id IS NULL)"
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


class StaffSession(Base):
    """A console login (工作人员会话): the browser holds a random token in an HttpOnly cookie; only its
    hash is stored. It ends at logout, after ``idle`` without a request, or at ``expires_at``."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    """Sent back in every form and htmx request of this session (double submit, checked server-side)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ip: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
