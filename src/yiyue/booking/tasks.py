"""Jobs of the booking domain: unpaid holds run out (未支付过期) at their deadline, and a sweep catches
any whose delayed event was late; 停诊 rebooking offers give back their slots when they end."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import lifecycle, rebook, waitlist
from yiyue.core.db import Database
from yiyue.core.events import AppointmentHoldEnds, RebookOfferEnds, WaitlistOfferEnds
from yiyue.core.tasks import Tasks

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
