"""Jobs of the booking domain: unpaid holds run out (未支付过期) at their deadline, and a sweep catches
any whose delayed event was late; 停诊 rebooking offers give back their slots when they end; waitlist
offers pass on when they run out, and entries still waiting end when their session stops taking bookings;
a confirmed booking and a completed visit earn their points (会员积分), and the hourly members job lapses
points past their 24 months and moves levels whose 12 months have lost earnings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import lifecycle, rebook, release_service, waitlist
from yiyue.booking.models import Appointment
from yiyue.core.config import Settings
from yiyue.core.db import Database, begin_write
from yiyue.core.events import (
    AppointmentBooked,
    AppointmentCompleted,
    AppointmentHoldEnds,
    RebookOfferEnds,
    ReleaseWindowCloses,
    SlotReopens,
    WaitlistBookingCloses,
    WaitlistOfferEnds,
)
from yiyue.core.tasks import Tasks
from yiyue.members import service as members

tasks = Tasks("booking")


class BookingContext(Protocol):
    @property
    def db(self) -> Database: ...


@tasks.on(AppointmentHoldEnds)
async def hold_ends(ctx: BookingContext, session: AsyncSession, event: AppointmentHoldEnds, now: datetime) -> None:
    await lifecycle.expire_unpaid(session, now=now, appointment_id=event.appointment_id)


@tasks.on(RebookOfferEnds)
async def rebook_offer_ends(ctx: BookingContext, session: AsyncSession, event: RebookOfferEnds, now: datetime) -> None:
    await rebook.end_offer(session, appointment_id=event.appointment_id, now=now)


@tasks.on(WaitlistOfferEnds)
async def waitlist_offer_ends(
    ctx: BookingContext, session: AsyncSession, event: WaitlistOfferEnds, now: datetime
) -> None:
    await waitlist.offer_ends(session, entry_id=event.entry_id, now=now)


@tasks.every(name="expire_unpaid")
async def expire_unpaid(ctx: BookingContext, now: datetime) -> list[int]:
    async with ctx.db.session() as session:
        return await lifecycle.expire_unpaid(session, now=now)


@tasks.on(WaitlistBookingCloses)
async def waitlist_booking_closes(
    ctx: BookingContext, session: AsyncSession, event: WaitlistBookingCloses, now: datetime
) -> None:
    await waitlist.booking_closes(session, entry_id=event.entry_id, now=now)


@tasks.on(AppointmentBooked)
async def first_booking_points(
    ctx: BookingContext, session: AsyncSession, event: AppointmentBooked, now: datetime
) -> None:
    """The account's first confirmed online booking earns ``first_booking`` once (cause ``account:{id}``);
    the unique cause makes every later booking, and this event handled again, credit nothing."""
    appointment = await session.get(Appointment, event.appointment_id)
    if appointment is None or appointment.channel != "online":
        return
    await begin_write(session)
    await members.credit(
        session,
        account_id=appointment.account_id,
        kind="first_booking",
        cause=f"account:{appointment.account_id}",
        note="首次成功预约",
        now=now,
    )


@tasks.on(AppointmentCompleted)
async def visit_points(ctx: BookingContext, session: AsyncSession, event: AppointmentCompleted, now: datetime) -> None:
    """A completed visit (已就诊) earns ``visit`` points for the account that booked it, once per appointment."""
    appointment = await session.get(Appointment, event.appointment_id)
    if appointment is None:
        return
    await begin_write(session)
    await members.credit(
        session,
        account_id=appointment.account_id,
        kind="visit",
        cause=f"appointment:{appointment.id}",
        note=f"就诊完成（{appointment.visit_date:%Y-%m-%d}）",
        now=now,
    )


@tasks.every(minute="7", name="members_points")
async def members_points(ctx: BookingContext, now: datetime) -> tuple[int, int]:
    """Hourly (the clock's minute 7): points past their 24 months lapse, then the accounts whose
    12-month window has lost earnings get their level again. Both only write what changed, so the
    job may run late, twice, or after a gap. Returns (entries lapsed, levels changed)."""
    async with ctx.db.session() as session:
        lapsed = await members.expire_due(session, now=now)
    async with ctx.db.session() as session:
        changed = await members.refresh_levels(session, now=now)
    return len(lapsed), changed


# --- issue 9 (B): a let-go unpaid hold's slot re-opens ------------------------------------------------


@tasks.on(SlotReopens)
async def slot_reopens(ctx: BookingContext, session: AsyncSession, event: SlotReopens, now: datetime) -> None:
    """A slot freed by a cancelled or expired unpaid hold reached its ``reopens_at``: the waitlist (someone
    may have joined meanwhile) gets it first, then the gate reopens the schedule."""
    await begin_write(session)
    await waitlist.slots_freed(session, [event.schedule_id], now=now)


# --- the release window's draw (抽签放号, issue 9 part A) ------------------------------------------------


class ReleaseContext(Protocol):
    @property
    def db(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...


@tasks.on(ReleaseWindowCloses)
async def release_window_closes(
    ctx: ReleaseContext, session: AsyncSession, event: ReleaseWindowCloses, now: datetime
) -> None:
    """The window closed: its entries are drawn (once: a draw already made is left as it is)."""
    hold = timedelta(minutes=ctx.settings.payment_hold_minutes)
    await release_service.run_draw(session, schedule_id=event.schedule_id, now=now, payment_hold=hold)


@tasks.every(name="release_draws")
async def release_draws(ctx: ReleaseContext, now: datetime) -> list[int]:
    """Every minute: draws any closed window whose entries are still queued (the job at the close was
    lost, or the process was down then). Each draw is its own unit of work. Returns the sessions drawn."""
    async with ctx.db.session() as session:
        due = await release_service.undrawn(session, now=now)
    hold = timedelta(minutes=ctx.settings.payment_hold_minutes)
    drawn: list[int] = []
    for schedule_id in due:
        async with ctx.db.session() as session:
            if await release_service.run_draw(session, schedule_id=schedule_id, now=now, payment_hold=hold) is not None:
                drawn.append(schedule_id)
    return drawn
