"""The transactional outbox: side effects leave a unit of work as rows written in its own transaction.

A booking, cancellation or payment adds its events here; they are committed with it or not at all.
After the commit the relay (``yiyue.jobs``) hands them to the task queue; a sweep picks up whatever a
crash left behind, so nothing is lost. An event counts as handled only when its handler's own
transaction commits (``handled_at``), so a handler that runs twice finds it handled and does nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime, publish_after_commit
from yiyue.core.events import Event

CHANNEL = "outbox"
"""``Database.listeners`` channel: the job system hears there of the events each commit made durable."""


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "available_at",
            sqlite_where=text("handled_at IS NULL"),
            postgresql_where=text("handled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    available_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """Not to be handled before this instant (delayed jobs)."""
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Last handed to the queue; a sweep hands it again when it stays unhandled too long."""
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Set when the handler kept failing past the retry limit (dead letter); an operator looks."""

    def fact(self) -> Event:
        """The typed event this row holds."""
        return Event.parse(self.topic, self.payload)


def add(session: AsyncSession, fact: Event, *, now: datetime, delay: timedelta | None = None) -> OutboxEvent:
    """Records a typed event in the current unit of work; it is relayed only if this transaction commits.
    ``delay``: not handled before ``now + delay`` (e.g. the end of a payment hold)."""
    event = OutboxEvent(
        topic=fact.topic,
        payload=fact.payload(),
        created_at=now,
        available_at=now + (delay or timedelta()),
        attempts=0,
        last_error="",
    )
    session.add(event)
    publish_after_commit(session, CHANNEL, event)
    return event
