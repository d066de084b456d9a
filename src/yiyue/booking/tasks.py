"""Jobs of the booking domain: unpaid holds run out (未支付过期) at their deadline, and a sweep catches
any whose delayed event was late."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import lifecycle
from yiyue.core.db import Database
from yiyue.core.events import AppointmentHoldEnds
from yiyue.core.tasks import Tasks

tasks = Tasks("booking")


class BookingContext(Protocol):
    @property
    def db(self) -> Database: ...


@tasks.on(AppointmentHoldEnds)
async def hold_ends(ctx: BookingContext, session: AsyncSession, event: AppointmentHoldEnds, now: datetime) -> None:
    await lifecycle.expire_unpaid(session, now=now, appointment_id=event.appointment_id)


@tasks.every(name="expire_unpaid")
async def expire_unpaid(ctx: BookingContext, now: datetime) -> list[int]:
    async with ctx.db.session() as session:
        return await lifecycle.expire_unpaid(session, now=now)
