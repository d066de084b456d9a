"""The transactional outbox: side effects leave a unit of work as rows written in its own transaction.

A booking, cancellation or payment adds its events here; they are committed with it or not at all.
After the commit the relay (``yiyue.jobs``) hands them to the task queue; a sweep picks up whatever a
crash left behind, so nothing is lost. An event counts as handled only when its handler's own
transaction commits (``handled_at``), so a handler that runs twice finds it handled and does nothing.

A handler whose fact leads to work outside the database (a message to send on every channel) asks for
it with ``then``: the job system commits the handlers' writes, runs that work in the same job, and marks
the event handled together with what the work recorded. A crash in between leaves the event unhandled,
so it is handed again and its handlers find what they wrote and resume (decision 0019).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core import logs
from yiyue.core.db import Base, BigId, UtcDateTime, publish_after_commit
from yiyue.core.events import Event

CHANNEL = "outbox"
"""``Database.listeners`` channel: the job system hears there of the events each commit made durable."""

HANDLING = "outbox.handling"
"""``session.info`` key the job system sets on the unit of work its handlers write through: the event's id."""
_FOLLOW_UPS = "outbox.follow_ups"

Finish = Callable[[AsyncSession], Awaitable[None]]
"""What a follow-up records once its work is done, in the transaction that marks its event handled."""
FollowUp = Callable[[Any, datetime], Awaitable[Finish | None]]
"""Work after an event's handlers committed, given the job context and the time: it returns what to record."""


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
    request_id: Mapped[str | None] = mapped_column(String(64))
    """The request whose unit of work wrote it (or the request behind the job that did): its handling's log
    lines carry it, so one id follows a booking from the request into every job it causes (decision 0021)."""

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
        request_id=logs.current_request_id(),
    )
    session.add(event)
    publish_after_commit(session, CHANNEL, event)
    return event


def handling(session: AsyncSession) -> bool:
    """Whether ``session`` is the unit of work of an event's handlers (so ``then`` work will run)."""
    return HANDLING in session.info


def then(session: AsyncSession, key: str, follow_up: FollowUp) -> None:
    """For an event handler: run ``follow_up`` in this job once the handlers' writes have committed, and
    count the event handled only when it is done (in one transaction with what it returns to record). One
    follow-up per ``key``: asking again with the same key keeps the first. Only in ``handling`` sessions."""
    if not handling(session):
        raise RuntimeError("outbox.then() is for the unit of work of an event's handlers")
    session.info.setdefault(_FOLLOW_UPS, {}).setdefault(key, follow_up)


def follow_ups(session: AsyncSession) -> list[FollowUp]:
    """The follow-ups the handlers asked for, in the order asked (for the job system)."""
    return list(session.info.get(_FOLLOW_UPS, {}).values())
