"""The one place that knows what time it is, so tests can move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

HOSPITAL_TZ: tzinfo = ZoneInfo("Asia/Shanghai")


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock tests set and advance by hand."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, by: timedelta) -> None:
        self._at += by


def local(dt: datetime) -> datetime:
    """The same instant in hospital local time (Asia/Shanghai)."""
    return dt.astimezone(HOSPITAL_TZ)


def local_today(now: datetime) -> date:
    return local(now).date()


def at_local(day: date, at: time) -> datetime:
    """A hospital-local wall-clock time on a day, as an aware datetime."""
    return datetime.combine(day, at, tzinfo=HOSPITAL_TZ)
