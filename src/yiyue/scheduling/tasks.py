"""Jobs of the scheduling domain: 放号 from the weekly templates at each hospital's release time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from yiyue.core.db import Database
from yiyue.core.tasks import Tasks
from yiyue.scheduling import service

tasks = Tasks("scheduling")


class SchedulingContext(Protocol):
    @property
    def db(self) -> Database: ...


@tasks.every(name="release_from_templates")
async def release_from_templates(ctx: SchedulingContext, now: datetime) -> int:
    async with ctx.db.session() as session:
        return await service.release_from_templates(session, now=now)
