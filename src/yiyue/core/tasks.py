"""What a domain's ``tasks.py`` declares: handlers of typed events and periodic jobs.

Each domain keeps one ``Tasks`` (``tasks = Tasks("payments")``) and decorates its handlers; ``yiyue.jobs``
collects them and runs them. A handler's event parameter must be the type it is registered for, so a
handler wired to the wrong event fails mypy::

    @tasks.on(AppointmentCancelled)
    async def refund_if_paid(ctx: PaymentsContext, session: AsyncSession, event: AppointmentCancelled,
                             now: datetime) -> None: ...

Event handlers run inside the job's unit of work (``session``) and must be safe to run twice. A handler
that needs units of work of its own (it calls an outside system between them) must not write through
``session``: handlers of one event run in the order the job system lists the domains, and those domains
come first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.core.events import Event

E = TypeVar("E", bound=Event)
EventHandler = Callable[[Any, AsyncSession, E, datetime], Awaitable[None]]
PeriodicJob = Callable[[Any, datetime], Awaitable[object]]


@dataclass(frozen=True)
class Periodic:
    name: str
    minute: str
    """Cron minute field: ``*`` every minute, ``*/2`` every other one."""
    job: PeriodicJob


@dataclass
class Tasks:
    domain: str
    handlers: list[tuple[type[Event], EventHandler[Any]]] = field(default_factory=list)
    periodic: list[Periodic] = field(default_factory=list)

    def on(self, event_type: type[E]) -> Callable[[EventHandler[E]], EventHandler[E]]:
        """Registers the decorated coroutine as a handler of ``event_type``."""

        def register(handler: EventHandler[E]) -> EventHandler[E]:
            self.handlers.append((event_type, handler))
            return handler

        return register

    def every(self, *, minute: str = "*", name: str | None = None) -> Callable[[PeriodicJob], PeriodicJob]:
        """Registers the decorated ``job(ctx, now)`` to run on the clock (``now`` from the job clock)."""

        def register(job: PeriodicJob) -> PeriodicJob:
            self.periodic.append(Periodic(name=name or job.__name__.lstrip("_"), minute=minute, job=job))
            return job

        return register
