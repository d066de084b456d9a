"""No-shows (爽约) and the bans they bring: a timed sweep after each session ends, and the front desk
recording one by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import Account
from yiyue.accounts.staff.models import StaffUser
from yiyue.accounts.staff.scope import require_role
from yiyue.booking import read_model
from yiyue.booking.lifecycle import transition
from yiyue.booking.models import Appointment, AppointmentStatus, BookingBan
from yiyue.booking.rules import NO_SHOW
from yiyue.booking.service import active_ban
from yiyue.core import outbox
from yiyue.core.config import Settings
from yiyue.core.db import begin_write
from yiyue.core.events import AppointmentNoShow
from yiyue.frontdesk.errors import NotNoShowable
from yiyue.frontdesk.rules import CHECK_IN_ROLES, is_onsite_account, no_show_window
from yiyue.frontdesk.service import audit_move, by_staff, for_update
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule


@dataclass(frozen=True)
class BanRule:
    """``threshold`` no-shows within ``window`` ban the account from booking for ``ban_for``."""

    threshold: int = 3
    window: timedelta = timedelta(days=90)
    ban_for: timedelta = timedelta(days=90)

    @classmethod
    def from_settings(cls, settings: Settings) -> BanRule:
        return cls(
            threshold=settings.no_show_threshold,
            window=timedelta(days=settings.no_show_window_days),
            ban_for=timedelta(days=settings.no_show_ban_days),
        )


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
    rule = BanRule(threshold=threshold, window=window, ban_for=ban_for)
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
        await ban_if_over(session, account_id=account_id, now=now, rule=rule)
    return [a.id for a in missed]


async def record_no_show(
    session: AsyncSession, *, staff: StaffUser, appointment_id: int, rule: BanRule, now: datetime
) -> Appointment:
    """The front desk records a no-show by hand once the session has ended (the sweep's counterpart):
    ``booked -> no_show``, and the ban rule applies as after the sweep. Same roles and scope as check-in."""
    require_role(staff, *CHECK_IN_ROLES)
    await begin_write(session)
    appointment = await for_update(session, staff=staff, appointment_id=appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise NotNoShowable()
    no_show_window(await scheduling.get(session, appointment.schedule_id), now=now)
    transition(session, appointment, AppointmentStatus.NO_SHOW, now=now, reason=by_staff(staff, "记录爽约"))
    audit_move(session, staff, appointment, "appointment.no_show", AppointmentStatus.BOOKED, now=now)
    outbox.add(session, AppointmentNoShow(appointment_id=appointment.id), now=now)
    await session.flush()
    await ban_if_over(session, account_id=appointment.account_id, now=now, rule=rule)
    return await read_model.load_one(session, appointment.id)


async def ban_if_over(session: AsyncSession, *, account_id: int, now: datetime, rule: BanRule) -> BookingBan | None:
    """Bans the account when it has reached the rule's no-shows, counting those since the last ban a
    hospital lifted (lifting forgives what came before). A hospital's walk-in account is never banned."""
    openid = await session.scalar(select(Account.openid).where(Account.id == account_id))
    if openid is None or is_onsite_account(openid):
        return None
    since = now - rule.window
    forgiven = await session.scalar(
        select(func.max(BookingBan.lifted_at)).where(
            BookingBan.account_id == account_id, BookingBan.lifted_at.is_not(None), BookingBan.kind == NO_SHOW
        )
    )
    if forgiven is not None and forgiven > since:
        since = forgiven
    recent = await session.scalar(
        select(func.count())
        .select_from(Appointment)
        .join(Schedule, Schedule.id == Appointment.schedule_id)
        .where(
            Appointment.account_id == account_id,
            Appointment.status == AppointmentStatus.NO_SHOW,
            Schedule.ends_at > since,
        )
    )
    if (recent or 0) < rule.threshold or await active_ban(session, account_id=account_id, now=now, kind=NO_SHOW):
        return None
    ban = BookingBan(
        account_id=account_id,
        starts_at=now,
        ends_at=now + rule.ban_for,
        reason=f"{rule.window.days}天内爽约{recent}次",
    )
    session.add(ban)
    await session.flush()
    return ban
