"""Jobs of the front desk: after each session, who did not come (爽约), and the bans that follow."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.tasks import Tasks
from yiyue.frontdesk import no_shows

tasks = Tasks("frontdesk")


class FrontdeskContext(Protocol):
    @property
    def db(self) -> Database: ...
    @property
    def settings(self) -> Settings: ...


@tasks.every(name="no_show_sweep")
async def no_show_sweep(ctx: FrontdeskContext, now: datetime) -> list[int]:
    s = ctx.settings
    async with ctx.db.session() as session:
        return await no_shows.mark_no_shows(
            session,
            now=now,
            threshold=s.no_show_threshold,
            window=timedelta(days=s.no_show_window_days),
            ban_for=timedelta(days=s.no_show_ban_days),
        )
