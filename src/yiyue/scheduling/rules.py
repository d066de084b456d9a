"""Pure scheduling rules: session hours, slot time windows, release and cut-off times. No database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from yiyue.core.clock import at_local
from yiyue.scheduling.models import Period

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


def slot_windows(starts_at: datetime, ends_at: datetime, capacity: int) -> list[SlotWindow]:
    """Numbers 1..capacity spread evenly over time windows (分时段), e.g. 08:00-08:15 holds numbers 1-3.

    Windows are 15 minutes, or 30 when there are many windows' worth of patients; a number's window is
    when the patient should arrive, its number is the queue order within the session.
    """
    if capacity < 1:
        raise ValueError("capacity must be at least 1")
    total_minutes = int((ends_at - starts_at).total_seconds() // 60)
    window = 15 if total_minutes // 15 <= capacity else 30
    window = min(window, total_minutes)
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
