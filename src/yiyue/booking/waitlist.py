"""候补 (waitlist): patients wait for a sold-out session; a freed slot is held for the head of the line.

Skeleton: the hand-over is being built (issue 11); until then freed slots go straight back to the pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import gate as inventory


async def slots_freed(session: AsyncSession, schedule_ids: Iterable[int], *, now: datetime) -> None:
    """Slots of these schedules went back to the online pool in this unit of work: each is held for the
    head of its schedule's waitlist first; the gate reopens only schedules left with a free slot."""
    inventory.slots_freed(session, schedule_ids)


async def schedule_suspended(session: AsyncSession, *, schedule_id: int, now: datetime) -> None:
    """停诊: the session's open entries end (told as such); no slot is handed over."""


async def offer_ends(session: AsyncSession, *, entry_id: int, now: datetime) -> None:
    """An offer's time ran out: unconfirmed, its slot passes to the next entry (or back to the pool)."""
