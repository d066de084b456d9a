"""The release window (放号窗口) as booking sees it: which sessions release by a draw, when their window
closes, the errors of the draw, and the one check ``booking.service.book`` makes.

A session releases in a window when its own ``release_mode`` (or, None, its hospital's) is ``window``:
from ``release_at`` for ``hospital.release_window_seconds`` requests are entered in a draw
(``booking.release_service``) instead of racing for slots; at the close the draw allocates the free
online slots. Until the draw has run, no one books such a session directly (a member's early window
included: the draw is the release); afterwards whatever slots are left are booked as usual.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.models import ReleaseDraw, ReleaseEntry
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.errors import Conflict, NotFound
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import rules as scheduling_rules
from yiyue.scheduling.models import Schedule


class ReleaseWindowOpen(Conflict):
    code = "RELEASE_WINDOW_OPEN"
    message = "该时段为抽签放号，放号窗口内请参加抽签，窗口结束后统一抽签分配号源"


class ReleaseDrawPending(Conflict):
    code = "RELEASE_DRAW_PENDING"
    message = "该时段放号窗口已结束，正在抽签，请稍后查看结果或再预约剩余号源"


class ReleaseNotOpen(Conflict):
    code = "RELEASE_NOT_OPEN"
    message = "该时段尚未放号，请在放号窗口内参加抽签"


class ReleaseWindowClosed(Conflict):
    code = "RELEASE_WINDOW_CLOSED"
    message = "该时段的抽签放号窗口已结束"


class NotReleaseWindow(Conflict):
    code = "NOT_RELEASE_WINDOW"
    message = "该时段为先到先得放号，请直接预约"


class ReleaseEntryNotFound(NotFound):
    code = "RELEASE_ENTRY_NOT_FOUND"
    message = "抽签记录不存在"


class ReleaseDrawNotFound(NotFound):
    code = "RELEASE_DRAW_NOT_FOUND"
    message = "该时段尚未抽签"


def is_window(schedule: Schedule, hospital: Hospital) -> bool:
    mode = scheduling_rules.release_mode(schedule.release_mode, hospital.release_mode)
    return mode == scheduling_rules.RELEASE_WINDOW


def closes_at(schedule: Schedule, hospital: Hospital) -> datetime:
    seconds = hospital.release_window_seconds
    return scheduling_rules.release_window_closes_at(schedule.release_at, window_seconds=seconds)


def window_words(schedule: Schedule, hospital: Hospital) -> str:
    """``03月02日 08:00:00–08:00:30`` in hospital local time."""
    opens = schedule.release_at.astimezone(HOSPITAL_TZ)
    ends = closes_at(schedule, hospital).astimezone(HOSPITAL_TZ)
    return f"{opens:%m月%d日 %H:%M:%S}–{ends:%H:%M:%S}"


async def refuse_while_drawing(session: AsyncSession, *, schedule: Schedule, hospital: Hospital, now: datetime) -> None:
    """A direct booking of a session that releases by a draw: refused before its window (a member's early
    window does not apply), during it (``RELEASE_WINDOW_OPEN``: enter the draw) and after it until the
    draw of its entries has run (``RELEASE_DRAW_PENDING``). Nothing for other sessions, and no query."""
    if not is_window(schedule, hospital):
        return
    ends = closes_at(schedule, hospital)
    if now < schedule.release_at:
        raise ReleaseNotOpen(
            f"该时段为抽签放号，请于{window_words(schedule, hospital)}参加抽签",
            detail={"release_at": schedule.release_at.isoformat(), "window_closes_at": ends.isoformat()},
        )
    if now < ends:
        raise ReleaseWindowOpen(
            f"该时段为抽签放号（{window_words(schedule, hospital)}），请在窗口内参加抽签，窗口结束后统一抽签",
            detail={"window_closes_at": ends.isoformat()},
        )
    drawn = await session.scalar(select(ReleaseDraw.id).where(ReleaseDraw.schedule_id == schedule.id))
    if drawn is not None:
        return
    entered = await session.scalar(select(ReleaseEntry.id).where(ReleaseEntry.schedule_id == schedule.id).limit(1))
    if entered is not None:
        raise ReleaseDrawPending()
