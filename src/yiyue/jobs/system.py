"""The job system: relays committed outbox events to the queue and runs their handlers.

Delivery is at least once (a crash between handing an event to the queue and handling it, or a worker
killed mid-task, means it is handed again by the sweep), and handling is once: an event is marked
handled in the same transaction as its handler's writes (or, when a handler asked for follow-up work
with ``outbox.then``, with what that work recorded), and a handler that finds it handled does
nothing. Handlers that call the outside world make those calls idempotent themselves (refund numbers)
or record that they are about to call before calling (messages: at most once).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from huey import Huey, crontab
from huey.consumer import Consumer
from huey.exceptions import RetryTask
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.core import logs, metrics, outbox
from yiyue.core.clock import Clock
from yiyue.core.db import Database, begin_write
from yiyue.core.outbox import OutboxEvent
from yiyue.core.tasks import EventHandler, Periodic, PeriodicJob, Tasks

log = logging.getLogger("yiyue.jobs")

T = TypeVar("T")

MAX_ATTEMPTS = 8


def backoff(attempts: int) -> int:
    """Seconds before the next try: 10 s, 20 s, 40 s, ... at most an hour."""
    return int(min(10 * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class JobSystem:
    """One per process.

    Inside the server (``loop`` given) the queue's worker threads hand each job to the server's own
    event loop, and handlers share its database and clients (the in-process fake WeChat included).
    In a ``yiyue worker`` process each worker thread runs its own event loop, with what
    ``context_factory`` builds for it (engines and HTTP clients are never shared across loops).
    """

    huey: Huey
    context_factory: Callable[[], Any]
    clock: Clock
    loop: asyncio.AbstractEventLoop | None = None
    redeliver_after: timedelta = timedelta(seconds=60)
    """An event handed to the queue and still not handled after this is handed again (lost with a worker)."""
    handlers: dict[str, list[EventHandler[Any]]] = field(default_factory=dict)
    """By topic, in the order they run."""
    periodic: dict[str, PeriodicJob] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._local = threading.local()
        self._deliver = self.huey.task(name="deliver_event")(self._deliver_event)
        self.huey.periodic_task(crontab(), name="redeliver_stale_events")(self._redeliver_task)

    # -- wiring -----------------------------------------------------------------------------------

    def register(self, tasks: Tasks) -> None:
        """Runs a domain's event handlers and periodic jobs (``core.tasks``); call in handler order."""
        for event_type, handler in tasks.handlers:
            self.handlers.setdefault(event_type.topic, []).append(handler)
        for periodic in tasks.periodic:
            self._every(periodic)

    def _every(self, periodic: Periodic) -> None:
        """A periodic job: ``job(context, now)``; the time comes from the clock, so tests can drive it."""
        job = periodic.job
        self.periodic[periodic.name] = job
        self.huey.periodic_task(crontab(minute=periodic.minute), name=periodic.name)(
            lambda: self._run(lambda ctx: job(ctx, self.clock.now()))
        )

    def listen(self, db: Database) -> None:
        """Hands every event to the queue as soon as the transaction that wrote it has committed."""

        async def relay(events: list[OutboxEvent]) -> None:
            await asyncio.to_thread(self.enqueue, [(e.id, e.available_at) for e in events])

        db.listeners[outbox.CHANNEL] = relay

    def enqueue(self, events: list[tuple[int, datetime]]) -> None:
        now = self.clock.now()
        for event_id, available_at in events:
            if available_at > now:
                self._deliver.schedule(args=(event_id,), eta=available_at)
            else:
                self._deliver(event_id)

    # -- running ----------------------------------------------------------------------------------

    def start_embedded(self, *, workers: int = 2) -> Consumer:
        """Worker threads inside this process (the embedded default): nothing else to start."""
        consumer = _EmbeddedConsumer(self.huey, workers=workers, worker_type="thread", periodic=True)
        consumer.start()
        return consumer

    def _run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        if self.loop is not None:
            context = getattr(self, "_shared_context", None)
            if context is None:
                context = self._shared_context = self.context_factory()
            return asyncio.run_coroutine_threadsafe(_awaited(work(context)), self.loop).result()
        runtime = getattr(self._local, "runtime", None)
        if runtime is None:
            loop = asyncio.new_event_loop()
            runtime = self._local.runtime = (loop, self.context_factory())
        loop, context = runtime
        return loop.run_until_complete(work(context))

    def _deliver_event(self, event_id: int) -> None:
        self._run(lambda ctx: self.handle(ctx, event_id))

    def _redeliver_task(self) -> None:
        self._run(lambda ctx: self.redeliver_stale(ctx.db))

    async def handle(self, ctx: Any, event_id: int) -> None:
        """Runs one event's handler and marks it handled in the same transaction."""
        with logs.job(event_id) as ended:  # its lines carry the event and the request that wrote it
            ended.outcome = await self._handle(ctx, event_id)

    async def _handle(self, ctx: Any, event_id: int) -> str:
        """Returns how the run ended, in the words of ``yiyue_jobs_total`` (or ``already_handled``)."""
        now = self.clock.now()
        db: Database = ctx.db
        try:
            async with db.session() as session:
                session.info[outbox.HANDLING] = event_id
                event = await session.get(OutboxEvent, event_id)
                if event is None or event.handled_at is not None or event.failed_at is not None:
                    return "already_handled"
                logs.bind_event(topic=event.topic, request_id=event.request_id)
                fact = event.fact()  # a topic no class declares fails here, and is retried, then dead-lettered
                for handler in self.handlers.get(event.topic, []):  # none: nobody needs to hear of it yet
                    await handler(ctx, session, fact, now)
                follow_ups = outbox.follow_ups(session)
                if not follow_ups:
                    await begin_write(session)
                    if not await _mark_handled(session, event_id, now):
                        raise _AlreadyHandled()
            if follow_ups:
                await self._follow_up(ctx, db, event_id, follow_ups, now)
            metrics.job_ran(event.topic, "handled")
        except _AlreadyHandled:
            log.info("event %s was handled by another worker meanwhile", event_id)
            return "already_handled"
        except Exception as exc:
            return await self._record_failure(db, event_id, exc, now)
        return "handled"

    async def _follow_up(
        self, ctx: Any, db: Database, event_id: int, follow_ups: list[outbox.FollowUp], now: datetime
    ) -> None:
        """The handlers' writes have committed: their follow-ups run (sending a message on every channel),
        then what those record and the event's handled mark commit together. A follow-up that raises
        leaves the event unhandled: it is retried, and its handlers resume from what they wrote."""
        finishes = [finish for follow_up in follow_ups if (finish := await follow_up(ctx, now)) is not None]
        async with db.session() as session:
            await begin_write(session)
            for finish in finishes:
                await finish(session)
            if not await _mark_handled(session, event_id, now):
                # another run of the event finished first; what this run did (it sent what it claimed) stands
                log.info("event %s was handled by another worker meanwhile", event_id)

    async def _record_failure(self, db: Database, event_id: int, exc: Exception, now: datetime) -> str:
        """The run failed: retried later (``RetryTask``), or dead-lettered after the last attempt
        (``failed``). The error is stored and logged without its values (a database error's DETAIL)."""
        described = logs.describe_error(exc)
        async with db.session() as session:
            await begin_write(session)
            event = await session.get(OutboxEvent, event_id)
            if event is None:
                return "already_handled"
            event.attempts += 1
            event.last_error = described[:2000]
            if event.attempts >= MAX_ATTEMPTS:
                event.failed_at = now
                metrics.job_ran(event.topic, "failed")
                log.error("event %s (%s) failed for good: %s", event_id, event.topic, event.last_error)
                return "failed"
            attempts = event.attempts
        log.warning("event %s failed (attempt %s), retrying: %s", event_id, attempts, described)
        metrics.job_ran(event.topic, "retried")
        raise RetryTask(delay=backoff(attempts))

    async def redeliver_stale(self, db: Database) -> int:
        """Hands the queue every event that should have been handled by now and was not (a crash, a
        killed worker, a queue that lost it). Returns how many."""
        now = self.clock.now()
        async with db.session() as session:
            rows = list(
                await session.execute(
                    select(OutboxEvent.id, OutboxEvent.available_at)
                    .where(
                        OutboxEvent.handled_at.is_(None),
                        OutboxEvent.failed_at.is_(None),
                        OutboxEvent.available_at <= now - self.redeliver_after,
                        or_(
                            OutboxEvent.dispatched_at.is_(None), OutboxEvent.dispatched_at <= now - self.redeliver_after
                        ),
                    )
                    .order_by(OutboxEvent.id)
                    .limit(500)
                )
            )
            if rows:
                await begin_write(session)
                await session.execute(
                    update(OutboxEvent).where(OutboxEvent.id.in_([r.id for r in rows])).values(dispatched_at=now)
                )
        if rows:
            log.info("redelivering %s stale outbox events", len(rows))
            await asyncio.to_thread(self.enqueue, [(r.id, r.available_at) for r in rows])
        return len(rows)


async def _mark_handled(session: AsyncSession, event_id: int, now: datetime) -> bool:
    handled = await session.execute(
        update(OutboxEvent).where(OutboxEvent.id == event_id, OutboxEvent.handled_at.is_(None)).values(handled_at=now)
    )
    return bool(handled.rowcount)  # type: ignore[attr-defined]


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _AlreadyHandled(Exception):
    pass


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer without its signal handlers: in the server process they belong to uvicorn."""

    def _set_signal_handlers(self) -> None:
        pass
