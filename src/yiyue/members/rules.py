"""Pure membership rules (会员规则): what each level allows, how points are earned and lapse, which level
points reach, and how a discount turns a fee into what the patient pays. No database.

The rules as the patient reads them (``earning_rules``, ``EXPIRY_RULE``, ``describe``) are made from the
same numbers the code uses, so what is shown is what is enforced.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from yiyue.core.clock import HOSPITAL_TZ

EARNED_POINTS = {"visit": 100, "first_booking": 50, "review": 20}
"""Points per fact: a completed visit (就诊完成), the account's first confirmed booking, a review."""
EARNING_KINDS = frozenset(EARNED_POINTS)
KINDS = frozenset({*EARNING_KINDS, "adjust", "spend", "expire"})
KIND_LABELS = {
    "visit": "就诊完成",
    "first_booking": "首次预约",
    "review": "评价医生",
    "adjust": "人工调整",
    "spend": "积分使用",
    "expire": "积分过期",
}
EXPIRY_MONTHS = 24
"""Earned points lapse this many months after they were earned, the oldest first."""
LEVEL_MONTHS = 12
"""The level follows the points earned in this many months up to now."""
MAX_ADJUST = 100_000
"""The most points one manual adjustment may add or take."""

EXPIRY_RULE = (
    f"积分自获得之日起{EXPIRY_MONTHS}个月内有效，到期按先获得先过期的顺序失效；使用积分时优先抵扣最早获得的积分"
)
LEVEL_RULE = f"会员等级按近{LEVEL_MONTHS}个月内获得的积分确定，积分变动时即时调整"
ROUNDING_RULE = "折后挂号费按分向下取整，不足1分的零头让利给患者"


@dataclass(frozen=True)
class Privileges:
    """What an account's level allows (会员权益); the regular level's when it has no standing yet."""

    level_code: str = "regular"
    level_name: str = "普通会员"
    booking_priority: int = 0
    early_booking_minutes: int = 0
    member_share: bool = False
    can_cancel_late: bool = False
    discount_percent: int = 100


REGULAR = Privileges()


@dataclass(frozen=True)
class EarlyWindow:
    """A level that books before the public release (提前预约), and how long before."""

    level_name: str
    minutes: int


def describe_early(windows: Sequence[EarlyWindow]) -> str:
    """金卡会员提前30分钟、钻石会员提前1小时 ("" when no level books early)."""
    return "、".join(f"{w.level_name}提前{_minutes(w.minutes)}" for w in windows)


class LevelLike(Protocol):
    """A level as the rules read it (``members.models.MemberLevel`` is one)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def min_points(self) -> int: ...
    @property
    def booking_priority(self) -> int: ...
    @property
    def early_booking_minutes(self) -> int: ...
    @property
    def member_share(self) -> bool: ...
    @property
    def can_cancel_late(self) -> bool: ...
    @property
    def discount_percent(self) -> int: ...


L = TypeVar("L", bound=LevelLike)


def privileges_of(level: LevelLike) -> Privileges:
    return Privileges(
        level_code=level.code,
        level_name=level.name,
        booking_priority=level.booking_priority,
        early_booking_minutes=level.early_booking_minutes,
        member_share=level.member_share,
        can_cancel_late=level.can_cancel_late,
        discount_percent=level.discount_percent,
    )


# --- money ---------------------------------------------------------------------------------------------


def discounted(fee_fen: int, discount_percent: int) -> tuple[int, int]:
    """(payable_fen, discount_fen) of a registration fee at ``discount_percent`` (95 = 九五折).

    Rounding: the patient pays ``floor(fee_fen * discount_percent / 100)`` fen, so a fraction of a fen
    always falls in the patient's favour; the discount is the rest. 3 fen at 95% is 2 fen payable, 1 off.
    """
    if fee_fen < 0:
        raise ValueError("a fee is never negative")
    if not 1 <= discount_percent <= 100:
        raise ValueError("discount_percent must be 1-100")
    payable = fee_fen * discount_percent // 100
    return payable, fee_fen - payable


_DIGITS = "〇一二三四五六七八九"


def discount_name(discount_percent: int) -> str:
    """95 -> 九五折, 90 -> 九折, 88 -> 八八折; 100 -> 无折扣."""
    if discount_percent >= 100:
        return "无折扣"
    if discount_percent < 10:
        return f"{discount_percent}%"
    tens, ones = divmod(discount_percent, 10)
    return f"{_DIGITS[tens]}{_DIGITS[ones] if ones else ''}折"


def describe(p: Privileges) -> list[str]:
    """The privileges in the patient's words, one line each (empty: the level has none)."""
    lines: list[str] = []
    if p.early_booking_minutes > 0:
        lines.append(f"提前预约：比公开放号时间提前{_minutes(p.early_booking_minutes)}预约")
    if p.member_share:
        lines.append("会员预留号源：可预约医院为会员预留的号源")
    if p.booking_priority > 0:
        lines.append(f"候补优先：候补时优先获得释放的号源（优先级{p.booking_priority}）")
    if p.can_cancel_late:
        lines.append("延时退号：过退号截止时间后、就诊开始前仍可取消，已付挂号费全额退回")
    if p.discount_percent < 100:
        lines.append(f"挂号费{discount_name(p.discount_percent)}（{ROUNDING_RULE}）")
    return lines


def _minutes(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return "".join([f"{hours}小时" if hours else "", f"{mins}分钟" if mins else ""]) or "0分钟"


def earning_rules() -> list[str]:
    return [
        f"完成一次就诊：+{EARNED_POINTS['visit']}积分",
        f"首次成功预约：+{EARNED_POINTS['first_booking']}积分",
        f"评价就诊医生：+{EARNED_POINTS['review']}积分",
        LEVEL_RULE,
    ]


# --- levels ----------------------------------------------------------------------------------------------


def level_for(points_12m: int, levels: Sequence[L]) -> L:
    """The highest level whose ``min_points`` the points earned in the last 12 months reach."""
    reached = [level for level in levels if level.min_points <= points_12m]
    if not reached:
        raise ValueError("the lowest level must start at 0 points")
    return max(reached, key=lambda level: level.min_points)


def next_level(points_12m: int, levels: Sequence[L]) -> tuple[L, int] | None:
    """The next level up and the points still needed for it; None at the top."""
    above = [level for level in levels if level.min_points > points_12m]
    if not above:
        return None
    nearest = min(above, key=lambda level: level.min_points)
    return nearest, nearest.min_points - points_12m


@dataclass(frozen=True)
class LevelChange:
    """A level as the administrator would save it (the fields they may change)."""

    code: str
    name: str
    min_points: int
    booking_priority: int
    early_booking_minutes: int
    member_share: bool
    can_cancel_late: bool
    discount_percent: int


MAX_EARLY_MINUTES = 24 * 60


def level_problems(changed: LevelChange, others: Iterable[LevelLike]) -> dict[str, str]:
    """What is wrong with a level beside the other levels, by field, in Chinese (empty: nothing).

    Some level starts at 0 points (every account has a level); names and thresholds are unique. A higher
    level offering less than a lower one is the administrator's choice, so it is not refused."""
    problems: dict[str, str] = {}
    rest = [o for o in others if o.code != changed.code]
    name = changed.name.strip()
    if not 1 <= len(name) <= 20:
        problems["name"] = "等级名称须为1-20个字"
    elif any(o.name == name for o in rest):
        problems["name"] = "等级名称已被其他等级使用"
    thresholds = [o.min_points for o in rest]
    if not 0 <= changed.min_points <= 10_000_000:
        problems["min_points"] = "所需积分须为0-10000000"
    elif changed.min_points in thresholds:
        problems["min_points"] = "所需积分与其他等级相同"
    elif min([*thresholds, changed.min_points]) != 0:
        problems["min_points"] = "最低等级的所需积分须为0（每位患者都有一个等级）"
    if not 0 <= changed.booking_priority <= 100:
        problems["booking_priority"] = "候补优先级须为0-100"
    if not 0 <= changed.early_booking_minutes <= MAX_EARLY_MINUTES:
        problems["early_booking_minutes"] = f"提前预约分钟数须为0-{MAX_EARLY_MINUTES}"
    if not 1 <= changed.discount_percent <= 100:
        problems["discount_percent"] = "挂号费折扣须为1-100（100为不打折，95为九五折）"
    return problems


# --- points in time ----------------------------------------------------------------------------------------


def add_months(at: datetime, months: int) -> datetime:
    """The same hospital-local wall-clock time ``months`` later (or earlier); the 31st falls on the last
    day of a shorter month."""
    here = at.astimezone(HOSPITAL_TZ)
    index = here.year * 12 + here.month - 1 + months
    year, month = divmod(index, 12)
    day = min(here.day, calendar.monthrange(year, month + 1)[1])
    return here.replace(year=year, month=month + 1, day=day)


def expires_at(earned_at: datetime) -> datetime:
    return add_months(earned_at, EXPIRY_MONTHS)


def level_window_start(now: datetime) -> datetime:
    """Points earned at or after this count for the level now."""
    return add_months(now, -LEVEL_MONTHS)


class EntryLike(Protocol):
    @property
    def delta(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


def counts_for_level(kind: str) -> bool:
    """Earned points and manual adjustments (either way) count for the level; spending and expiry do not:
    using points never costs a patient their level."""
    return kind in EARNING_KINDS or kind == "adjust"


def points_12m(entries: Iterable[EntryLike], *, now: datetime) -> int:
    """Points earned in the last 12 months (adjustments included), never below 0."""
    since = level_window_start(now)
    return max(0, sum(e.delta for e in entries if counts_for_level(e.kind) and since <= e.created_at <= now))


def expiring(entries: Iterable[EntryLike], *, now: datetime) -> int:
    """How many points lapse now, oldest first (FIFO): the points whose expiry has come, less every point
    taken out so far (spent, expired, adjusted down), which used the oldest points first; never below 0.

    Taking out what has already lapsed leaves 0 the next time, so the expiry can run any number of times."""
    entries = list(entries)
    due = sum(e.delta for e in entries if e.delta > 0 and e.expires_at is not None and e.expires_at <= now)
    debits = -sum(e.delta for e in entries if e.delta < 0)
    return max(0, due - debits)
