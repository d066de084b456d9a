"""Demo staff accounts (development only): a platform administrator and, for each hospital, a hospital
administrator and a front-desk clerk, so the console can be tried at once.

Their passwords are derived from this machine's development secret key, so they are the same at every
start (the banner can print them) and differ from every other machine's.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import ROLE_LABELS, StaffRole, StaffUser
from yiyue.hospitals.models import Hospital
from yiyue.hospitals.staff_accounts import create_staff_account


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: StaffRole
    hospital: str

    @property
    def label(self) -> str:
        return f"{ROLE_LABELS[self.role]}{'（' + self.hospital + '）' if self.hospital else ''}"


def demo_password(secret_key: str, username: str) -> str:
    digest = hmac.new(secret_key.encode(), f"yiyue-demo-staff:{username}".encode(), hashlib.sha256).hexdigest()
    return f"demo-{digest[:10]}"


async def ensure_demo_staff(session: AsyncSession, *, secret_key: str, now: datetime) -> list[DemoLogin]:
    """Creates the demo staff accounts that do not exist yet; returns every demo login."""
    wanted: list[tuple[str, StaffRole, Hospital | None]] = [("platform", StaffRole.PLATFORM_ADMIN, None)]
    for hospital in await session.scalars(select(Hospital).order_by(Hospital.id)):
        wanted.append((f"h{hospital.id}-admin", StaffRole.HOSPITAL_ADMIN, hospital))
        wanted.append((f"h{hospital.id}-desk", StaffRole.FRONT_DESK, hospital))
    existing = set(await session.scalars(select(StaffUser.username)))
    logins = []
    for username, role, place in wanted:
        password = demo_password(secret_key, username)
        if username not in existing:
            await create_staff_account(
                session,
                username=username,
                password=password,
                role=role,
                display_name=f"{ROLE_LABELS[role]}（{place.name[:16]}）" if place else "平台管理员",
                hospital_id=place.id if place else None,
                now=now,
            )
        logins.append(DemoLogin(username, password, role, place.name if place else ""))
    return logins
