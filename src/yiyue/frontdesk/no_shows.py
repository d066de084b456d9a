"""No-shows (爽约) and the bans they bring: a timed sweep after each session ends."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.lifecycle import transition
from yiyue.booking.models import Appointment, AppointmentStatus, BookingBan
from yiyue.booking.service import active_ban
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.events import AppointmentNoShow
from yiyue.scheduling.models import Schedule


async def mark_no_shows(
    session: AsyncSession,
    *,
    now: datetime,
    threshold: int = 3,
    window: timedelta = timedelta(days=90),
    ban_for: timedelta = timedelta(days=90),
) -> list[int]:
    """Booked appointments not checked in by the end of their session become ``no_show`` (爽约);
    ``threshold`` no-shows within ``window`` ban the account from booking for ``ban_for``."""
    await begin_write(session)
    missed = list(
        await session.scalars(
            select(Appointment)
            .join(Schedule, Schedule.id == Appointment.schedule_id)
            .where(Appointment.status == AppointmentStatus.BOOKED, Schedule.ends_at <= now)
            .order_by(Appointment.id)
            .limit(500)
            .with_for_update(of=Appointment, skip_locked=True)
        )
    )
    for appointment in missed:
        transition(session, appointment, AppointmentStatus.NO_SHOW, now=now, reason="未按时签到")
        outbox.add(session, AppointmentNoShow(appointment_id=appointment.id), now=now)
    await session.flush()
    for account_id in sorted({a.account_id for a in missed}):
        await _ban_if_over(session, account_id=account_id, now=now, threshold=threshold, window=window, ban_for=ban_for)
    return [a.id for a in missed]


async def _ban_if_over(
    session: AsyncSession, *, account_id: int, now: datetime, threshold: int, window: timedelta, ban_for: timedelta
) -> None:
    recent = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .where(
            Appointment.account_id == account_id,
            Appointment.status == AppointmentStatus.NO_SHOW,
            Schedule.ends_at > now - window,
        )
    )
    if (recent or 0) >= threshold and not await active_ban(session, account_id=account_id, now=now):
        session.add(
            BookingBan(
                account_id=account_id, starts_at=now, ends_at=now + ban_for, reason=f"{window.days}天内爽约{recent}次"
            )
        )
        await session.flush()
