"""Pure front-desk rules: when check-in (签到) is open, when a no-show (爽约) may be recorded, who may do
what, and how the search box is read. No database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from yiyue.accounts.staff.models import StaffRole
from yiyue.core.clock import local
from yiyue.frontdesk.errors import CheckInClosed, CheckInNotOpen, InvalidSearch, NoShowTooEarly
from yiyue.scheduling.models import Schedule

CHECK_IN_OPENS_BEFORE = timedelta(minutes=60)
"""Check-in opens this long before a session starts, and stays open until the session ends."""
CHECK_IN_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.DOCTOR, StaffRole.FRONT_DESK)
"""Who moves appointments on (check-in, completion, no-show); a platform admin only reads (and every read
is audited)."""
SUSPEND_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who may suspend a session (停诊)."""
WALK_IN_ROLES = (StaffRole.HOSPITAL_ADMIN, StaffRole.FRONT_DESK)
"""Who registers walk-in patients at the window (现场挂号)."""
BAN_READ_ROLES = (StaffRole.PLATFORM_ADMIN, StaffRole.HOSPITAL_ADMIN)
"""Who sees the bans (爽约限制) in force; a platform admin names the hospital."""
BAN_LIFT_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who may lift a ban early."""
REVEAL_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who may see a visit person's full ID number and phone (with a reason, audited)."""

ONSITE_OPENID_PREFIX = "onsite:"
"""Walk-in patients have no WeChat account: each hospital has one system account, ``onsite:<hospital id>``,
that holds them as its visit persons. It never logs in and is never banned."""


def onsite_openid(hospital_id: int) -> str:
    return f"{ONSITE_OPENID_PREFIX}{hospital_id}"


def is_onsite_account(openid: str) -> bool:
    return openid.startswith(ONSITE_OPENID_PREFIX)


def check_in_window(schedule: Schedule, *, now: datetime) -> None:
    """签到 is open from 60 minutes before the session starts until the session ends."""
    opens_at = schedule.starts_at - CHECK_IN_OPENS_BEFORE
    if now < opens_at:
        raise CheckInNotOpen(
            f"尚未到签到时间，{local(opens_at):%m月%d日 %H:%M}起可签到", detail={"opens_at": opens_at.isoformat()}
        )
    if now >= schedule.ends_at:
        raise CheckInClosed()


def no_show_window(schedule: Schedule, *, now: datetime) -> None:
    """A no-show is recorded only once the session has ended: until then the patient may still come."""
    if now < schedule.ends_at:
        raise NoShowTooEarly(
            f"就诊时段尚未结束，{local(schedule.ends_at):%m月%d日 %H:%M}后才能记录爽约",
            detail={"ends_at": schedule.ends_at.isoformat()},
        )


class SearchKind(StrEnum):
    CODE = "code"  # the 8-digit check-in code
    PHONE_TAIL = "phone_tail"  # the last 4 digits of the visit person's phone
    NAME = "name"  # the visit person's name, exact or partial


@dataclass(frozen=True)
class Search:
    kind: SearchKind
    value: str


_CODE = re.compile(r"^[0-9]{8}$")
_PHONE_TAIL = re.compile(r"^[0-9]{4}$")


def parse_search(text: str | None) -> Search | None:
    """What the search box holds: 8 digits are a check-in code, 4 digits the end of a phone number,
    anything else (part of) a name. Blank: no search; other numbers are refused (``INVALID_SEARCH``)."""
    value = "".join((text or "").split())
    if not value:
        return None
    if len(value) > 30:
        raise InvalidSearch()
    if _CODE.fullmatch(value):
        return Search(SearchKind.CODE, value)
    if _PHONE_TAIL.fullmatch(value):
        return Search(SearchKind.PHONE_TAIL, value)
    if value.isdigit():
        raise InvalidSearch()
    return Search(SearchKind.NAME, value)
