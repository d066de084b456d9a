"""Running the job system's real handlers in a test, without a queue: every event due is handled."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import select

from yiyue.core.outbox import OutboxEvent
from yiyue.jobs.context import JobContext
from yiyue.jobs.runtime import attach_to_app
from yiyue.jobs.system import JobSystem


class Jobs:
    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.system: JobSystem = app.state.jobs if hasattr(app.state, "jobs") else attach_to_app(app)
        self.context: JobContext = self.system.context_factory()

    async def drain(self, *, rounds: int = 10) -> list[str]:
        """Handles every event that is due, and the events those produce; returns their topics in order."""
        handled: list[str] = []
        fake = getattr(self.app.state, "fake_wechat", None)
        for _ in range(rounds):
            if fake is not None and hasattr(fake.state.wechat, "drain"):
                await fake.state.wechat.drain()  # refunds the fake settles in the background
            due = await self._due(self.context.clock.now())
            if not due:
                return handled
            for event_id, topic in due:
                await self.system.handle(self.context, event_id)
                handled.append(topic)
        raise AssertionError(f"events keep coming: {handled}")

    async def run_periodic(self, name: str) -> object:
        job = self.system.periodic[name]
        return await job(self.context, self.context.clock.now())

    async def _due(self, now: datetime) -> list[tuple[int, str]]:
        async with self.context.db.session() as session:
            rows = await session.execute(
                select(OutboxEvent.id, OutboxEvent.topic)
                .where(
                    OutboxEvent.handled_at.is_(None), OutboxEvent.failed_at.is_(None), OutboxEvent.available_at <= now
                )
                .order_by(OutboxEvent.id)
            )
            return [(r.id, r.topic) for r in rows]
