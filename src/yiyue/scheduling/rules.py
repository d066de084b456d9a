"""Pure scheduling rules: session hours, slot time windows, on-site numbers (现场号), what a session may
hold and how its slots change with its capacity, release and cut-off times. No database."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from yiyue.core.clock import HOSPITAL_TZ, at_local
from yiyue.core.errors import Conflict, InvalidInput
from yiyue.scheduling.models import Period, Schedule, ScheduleStatus, SlotStatus

MAX_CAPACITY = 200
"""The most numbers one session may have."""
MIN_SLOT_MINUTES = 10
MAX_SLOT_MINUTES = 60
"""A chosen slot length (分时段时长) lies between these; none chosen: 15 or 30 minutes by the crowd."""
TAKEN = frozenset({SlotStatus.HELD, SlotStatus.BOOKED})
"""Slot states that belong to an appointment; ``available`` and ``onsite`` slots are free."""
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

SESSION_HOURS: dict[Period, tuple[time, time]] = {
    Period.MORNING: (time(8, 0), time(12, 0)),
    Period.AFTERNOON: (time(13, 30), time(17, 30)),
    Period.EVENING: (time(18, 0), time(21, 0)),
}


@dataclass(frozen=True)
class SlotWindow:
    number: int
    starts_at: datetime
    ends_at: datetime


def session_bounds(visit_date: date, period: Period) -> tuple[datetime, datetime]:
    start, end = SESSION_HOURS[period]
    return at_local(visit_date, start), at_local(visit_date, end)


def slot_windows(starts_at: datetime, ends_at: datetime, capacity: int, minutes: int | None = None) -> list[SlotWindow]:
    """Numbers 1..capacity spread evenly over time windows (分时段), e.g. 08:00-08:15 holds numbers 1-3.

    Windows are ``minutes`` long when the hospital chose a length; otherwise 15 minutes, or 30 when there
    are many windows' worth of patients. A number's window is when the patient should arrive, its number
    is the queue order within the session.
    """
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    total_minutes = int((ends_at - starts_at).total_seconds() // 60)
    auto = 15 if total_minutes // 15 <= capacity else 30
    window = max(1, min(auto if minutes is None else minutes, total_minutes))
    n_windows = max(1, total_minutes // window)
    slots = []
    for i in range(capacity):
        w = min(i * n_windows // capacity, n_windows - 1)
        start = starts_at + timedelta(minutes=w * window)
        slots.append(SlotWindow(number=i + 1, starts_at=start, ends_at=start + timedelta(minutes=window)))
    return slots


def release_at(visit_date: date, *, release_days: int, release_time: time) -> datetime:
    """Slots for ``visit_date`` open ``release_days`` days before, at the hospital's release time (放号)."""
    return at_local(visit_date - timedelta(days=release_days), release_time)


def booking_closes_at(starts_at: datetime, *, stop_minutes_before: int) -> datetime:
    return starts_at - timedelta(minutes=stop_minutes_before)


def cancel_deadline(starts_at: datetime, *, cancel_minutes_before: int) -> datetime:
    return starts_at - timedelta(minutes=cancel_minutes_before)


def late_booking_notice(*, starts_at: datetime, deadline: datetime, pay_first: bool, at: datetime) -> str | None:
    """What a patient must read before booking (or paying) at ``at`` when the appointment could then no
    longer be cancelled: the refund deadline (退号截止) has passed, or passes while the payment is made.
    None when cancelling stays possible."""
    if at <= deadline:
        return None
    local_start, local_deadline = starts_at.astimezone(HOSPITAL_TZ), deadline.astimezone(HOSPITAL_TZ)
    consequence = "支付后不可取消退款" if pay_first else "预约后不可取消"
    if local_start.date() == at.astimezone(HOSPITAL_TZ).date():
        return f"就诊当日预约，{consequence}"
    return f"已过退号截止时间（{local_deadline:%m月%d日 %H:%M}），{consequence}"


def describe_minutes(minutes: int) -> str:
    """120 -> 2小时, 90 -> 1小时30分钟, 30 -> 30分钟, 1440 -> 1天."""
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{mins}分钟" if mins else ""]
    return "".join(parts) or "0分钟"


# --- what a session holds: numbers, on-site numbers, slot length --------------------------------------


class InvalidSession(InvalidInput):
    code = "INVALID_SESSION"
    message = "号源设置有误"


class VisitDateOutOfWindow(InvalidInput):
    code = "VISIT_DATE_OUT_OF_WINDOW"
    message = "出诊日期不在可排班的范围内"


class InvalidReleaseDays(InvalidInput):
    code = "INVALID_RELEASE_DAYS"
    message = "放号天数超出本院放号周期"


class CapacityBelowTaken(Conflict):
    code = "CAPACITY_BELOW_TAKEN"
    message = "号源数不能少于已被预约的最大序号"


class OnsiteSlotsTaken(Conflict):
    code = "ONSITE_SLOTS_TAKEN"
    message = "现场号须是末尾未被预约的号源"


class ReleasedCapacityOnlyGrows(Conflict):
    code = "RELEASED_CAPACITY_ONLY_GROWS"
    message = "已放号的排班只能增加号源，不能减少"


class ReleasedOnsiteQuota(Conflict):
    code = "RELEASED_ONSITE_QUOTA"
    message = "已放号的排班，现场号只能在新增的号源中增加"


PLAN_AHEAD_DAYS = 28
"""How far past its booking window a hospital may add a one-off session (临时加诊)."""


def slot_status(number: int, capacity: int, onsite_quota: int) -> SlotStatus:
    """The last ``onsite_quota`` numbers are kept for walk-ins at the hospital (现场号) and never booked
    online; the others are open to online booking."""
    return SlotStatus.ONSITE if number > capacity - onsite_quota else SlotStatus.AVAILABLE


def member_share(online_numbers: Iterable[int], share_percent: int) -> frozenset[int]:
    """The members' share (会员预留号源): of a session's online numbers, the last
    ``floor(len × share_percent / 100)``; members with the privilege book them, everyone once the share
    opens (``member_share_opens_at``). Regular numbers come first, so members take those first too."""
    online = sorted(online_numbers)
    reserved = len(online) * max(0, min(share_percent, 100)) // 100
    return frozenset(online[len(online) - reserved :])


def member_share_opens_at(starts_at: datetime, *, opens_hours: int) -> datetime:
    """When the members' share opens to everyone: ``opens_hours`` before the session starts."""
    return starts_at - timedelta(hours=opens_hours)


def session_problems(capacity: int, onsite_quota: int, slot_minutes: int | None) -> dict[str, str]:
    """What is wrong with a session's numbers, by field, in Chinese (empty: nothing)."""
    problems: dict[str, str] = {}
    if not 1 <= capacity <= MAX_CAPACITY:
        problems["capacity"] = f"号源数须为1-{MAX_CAPACITY}"
    if slot_minutes is not None and not MIN_SLOT_MINUTES <= slot_minutes <= MAX_SLOT_MINUTES:
        problems["slot_minutes"] = f"每号时长须为{MIN_SLOT_MINUTES}-{MAX_SLOT_MINUTES}分钟，留空为自动"
    if onsite_quota < 0:
        problems["onsite_quota"] = "现场号不能小于0"
    elif "capacity" not in problems and onsite_quota > capacity:
        problems["onsite_quota"] = "现场号不能多于号源数"
    return problems


def template_cell_problems(capacity: int, onsite_quota: int, slot_minutes: int | None) -> dict[str, str]:
    """A cell of a doctor's weekly template: capacity 0 means no session (then nothing else may be set)."""
    if capacity == 0:
        if onsite_quota or slot_minutes is not None:
            return {"capacity": "请填写号源数，或清空本格"}
        return {}
    return session_problems(capacity, onsite_quota, slot_minutes)


def check_session(capacity: int, onsite_quota: int, slot_minutes: int | None) -> None:
    problems = session_problems(capacity, onsite_quota, slot_minutes)
    if problems:
        raise InvalidSession("；".join(problems.values()), detail=problems)


def last_plannable_day(today: date, *, release_days: int) -> date:
    """The furthest date a one-off session may be added for."""
    return today + timedelta(days=release_days + PLAN_AHEAD_DAYS)


def check_visit_date(visit_date: date, period: Period, *, now: datetime, today: date, release_days: int) -> None:
    """A one-off session is added for a period not yet begun, at most ``PLAN_AHEAD_DAYS`` past the window."""
    starts_at, _ = session_bounds(visit_date, period)
    latest = last_plannable_day(today, release_days=release_days)
    if starts_at <= now or visit_date > latest:
        raise VisitDateOutOfWindow(
            f"出诊日期须在今天（尚未开始的时段）至{latest:%Y-%m-%d}之间", detail={"latest": latest.isoformat()}
        )


def check_release_days(days: int, *, release_days: int) -> None:
    if not 1 <= days <= max(release_days, 1):
        raise InvalidReleaseDays(f"放号天数须为1-{max(release_days, 1)}天")


@dataclass(frozen=True)
class Resize:
    """How a session's slots change with its numbers: free numbers removed at the end, numbers appended,
    and the state each free slot (kept or new) is in afterwards."""

    remove: tuple[int, ...] = ()
    add: tuple[int, ...] = ()
    statuses: Mapping[int, SlotStatus] = field(default_factory=dict)


def plan_resize(
    slots: Mapping[int, str], *, capacity: int, onsite_quota: int, old_quota: int, released: bool
) -> Resize:
    """The change of a session with ``slots`` (number -> state) to ``capacity`` numbers of which
    ``onsite_quota`` are on-site (refusals about the numbers first, then about the quota).

    Before release (放号) the numbers may shrink, but never below the highest number taken, and the
    on-site numbers are laid out again as the last ones, all of them free. After release the numbers
    only grow: appended numbers are booked online, or kept on site when the quota grows with them;
    the numbers that were kept on site stay so.
    """
    old_capacity = max(slots, default=0)
    highest_taken = max((n for n, status in slots.items() if status in TAKEN), default=0)
    added = tuple(range(old_capacity + 1, capacity + 1))
    if released and capacity < old_capacity:
        raise ReleasedCapacityOnlyGrows()
    if capacity < highest_taken:
        raise CapacityBelowTaken(f"号源数不能少于已被预约的最大序号（{highest_taken}号）")
    check_session(capacity, onsite_quota, None)
    if released:
        grown = onsite_quota - old_quota
        if grown < 0 or grown > len(added):
            raise ReleasedOnsiteQuota()
        return Resize(add=added, statuses={n: slot_status(n, capacity, grown) for n in added})
    if capacity - onsite_quota < highest_taken:
        raise OnsiteSlotsTaken(
            f"现场号须是末尾未被预约的号源：{highest_taken}号已被预约，现场号最多{capacity - highest_taken}个"
        )
    kept_free = [n for n, status in slots.items() if n <= capacity and status not in TAKEN]
    return Resize(
        remove=tuple(sorted(n for n in slots if n > capacity)),
        add=added,
        statuses={n: slot_status(n, capacity, onsite_quota) for n in sorted([*kept_free, *added])},
    )


# --- a schedule's state as the hospital sees it ----------------------------------------------------------


class ScheduleState(StrEnum):
    OPEN = "open"  # 开放: released, bookable until its cut-off
    UNRELEASED = "unreleased"  # 未放号: opens at its release time
    IN_SESSION = "in_session"  # 进行中: started, online booking closed, patients being seen
    SUSPENDED = "suspended"  # 停诊
    OVER = "over"  # 已结束


STATE_LABELS = {
    ScheduleState.OPEN: "开放",
    ScheduleState.UNRELEASED: "未放号",
    ScheduleState.IN_SESSION: "进行中",
    ScheduleState.SUSPENDED: "停诊",
    ScheduleState.OVER: "已结束",
}


def schedule_state(schedule: Schedule, *, now: datetime) -> ScheduleState:
    if schedule.status == ScheduleStatus.SUSPENDED:
        return ScheduleState.SUSPENDED
    if schedule.ends_at <= now:
        return ScheduleState.OVER
    if schedule.release_at > now:
        return ScheduleState.UNRELEASED
    if schedule.starts_at <= now:
        return ScheduleState.IN_SESSION
    return ScheduleState.OPEN


# --- issue 9 (A): the release window (放号窗口) ---------------------------------------------------------

RELEASE_FCFS = "fcfs"
RELEASE_WINDOW = "window"
RELEASE_MODES = (RELEASE_FCFS, RELEASE_WINDOW)
"""先到先得 (first come, first served) or 抽签放号 (requests within the window are drawn at its close)."""
RELEASE_MODE_LABELS = {RELEASE_FCFS: "先到先得", RELEASE_WINDOW: "抽签放号"}


def release_mode(schedule_mode: str | None, hospital_mode: str | None) -> str:
    """The session's own mode, or (None) its hospital's; fcfs when neither says."""
    mode = schedule_mode or hospital_mode or RELEASE_FCFS
    return mode if mode in RELEASE_MODES else RELEASE_FCFS


def release_window_closes_at(release_at: datetime, *, window_seconds: int) -> datetime:
    """The end of the release window that opens at ``release_at`` (entries until then, the draw at it)."""
    return release_at + timedelta(seconds=max(window_seconds, 0))
