"""Pure front-desk rules: when check-in (签到) is open, who may move appointments on. No database."""

from __future__ import annotations

from datetime import datetime, timedelta

from yiyue.accounts.staff.models import StaffRole
from yiyue.core.clock import local
from yiyue.frontdesk.errors import CheckInClosed, CheckInNotOpen
from yiyue.scheduling.models import Schedule

CHECK_IN_OPENS_BEFORE = timedelta(minutes=60)
"""Check-in opens this long before a session starts, and stays open until the session ends."""
CHECK_IN_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.DOCTOR)
"""Who moves appointments on; a platform admin only reads (and every read is audited)."""
SUSPEND_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who may suspend a session (停诊)."""


def check_in_window(schedule: Schedule, *, now: datetime) -> None:
    """签到 is open from 60 minutes before the session starts until the session ends."""
    opens_at = schedule.starts_at - CHECK_IN_OPENS_BEFORE
    if now < opens_at:
        raise CheckInNotOpen(
            f"尚未到签到时间，{local(opens_at):%m月%d日 %H:%M}起可签到", detail={"opens_at": opens_at.isoformat()}
        )
    if now >= schedule.ends_at:
        raise CheckInClosed()
