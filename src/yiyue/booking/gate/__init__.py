"""The inventory gate in front of the database (step 1 of ARCHITECTURE's booking path).

``BookingGate`` is what a process has: slot counts (``SlotCounts``: in memory embedded, in Redis shared by
every process when ``YIYUE_REDIS_URL`` is set) and this process's admission turns. The booking endpoint
reaches it through one dependency; ``book`` is admitted (``admit``), waits for a turn, and reports what
the database told it (``claimed``, ``sold_out``); a booking that ends any other way gives its token back
when its unit of work closes. Every other use case only states which schedules it freed
(``slots_freed``), and the process's gate hears of it once the unit of work has committed (``listen``),
in the server and in workers alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.errors import SoldOut
from yiyue.booking.gate.memory import MemorySlotCounts
from yiyue.booking.gate.protocol import SlotCounts, Ticket
from yiyue.booking.gate.turns import AdmissionTurns
from yiyue.core.config import Settings
from yiyue.core.db import Database, after_commit, on_close, publish_after_commit
from yiyue.scheduling.service import SLOTS_ADDED

__all__ = [
    "AdmissionTurns",
    "BookingGate",
    "MemorySlotCounts",
    "SlotCounts",
    "Ticket",
    "build_gate",
    "listen",
    "slots_freed",
]

_FREED = "booking.gate.freed"
_TICKETS = "booking.gate.tickets"


FreeSlots = Callable[[], Awaitable[tuple[int, frozenset[int] | None] | None]]
"""Reads a schedule's free slots from the database, with the holders when none is left; None when the
schedule is not one to count (unknown, 停诊: the booking's own refusal says why)."""


@dataclass
class BookingGate:
    counts: SlotCounts
    turns: AdmissionTurns
    _reading: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    """Schedules whose count one booking is reading from the database now; the others wait for it."""
    _admitted: dict[int, int] = field(default_factory=dict)
    """Bookings of each schedule admitted in this process whose unit of work is still open."""

    @classmethod
    def in_memory(cls, *, lapse_seconds: float = 2.0, claimers_per_schedule: int = 8) -> BookingGate:
        return cls(
            counts=MemorySlotCounts(lapse_seconds=lapse_seconds),
            turns=AdmissionTurns(per_schedule=claimers_per_schedule),
        )

    async def admit(self, session: AsyncSession, schedule_id: int, account_id: int) -> Ticket:
        """Admits this unit of work's booking at the schedule, or refuses it (``SoldOut``) when the claims
        in flight already cover the free slots; its token comes back when the unit of work ends, unless
        it committed a claim (``claimed``)."""
        ticket = await self.counts.admit(schedule_id, account_id)
        if ticket is None:
            raise SoldOut()
        session.info.setdefault(_TICKETS, {})[schedule_id] = ticket
        self._admitted[schedule_id] = self._admitted.get(schedule_id, 0) + 1

        def close() -> None:
            self.counts.abandon(ticket)
            left = self._admitted[schedule_id] - 1
            if left:
                self._admitted[schedule_id] = left
            else:
                del self._admitted[schedule_id]

        on_close(session, close)
        return ticket

    def reading(self, schedule_id: int) -> asyncio.Future[None] | None:
        """The read of the schedule's count in progress (``learn``), if any: the fast path waits for it."""
        return self._reading.get(schedule_id)

    def crowded(self, ticket: Ticket) -> bool:
        """Whether another booking of the ticket's schedule is admitted here and not yet done: a crowd is
        worth reading the count for (``learn``); a booking alone just goes to the database, as cheap."""
        return self._admitted.get(ticket.schedule_id, 0) > 1

    async def learn(self, ticket: Ticket, read: FreeSlots) -> None:
        """For a booking admitted while its schedule's count was unknown (the first of a rush, or the first
        after the count lapsed): one booking per schedule reads the free slots (``read``) and the count
        knows them; the others wait for that read instead of each queueing for the database. Then each is
        admitted again against the count: with a token, or refused (``SoldOut``) when the claims in
        flight already cover the free slots."""
        reading = self._reading.get(ticket.schedule_id)
        if reading is not None:
            await asyncio.shield(reading)
        else:
            reading = self._reading[ticket.schedule_id] = asyncio.get_running_loop().create_future()
            try:
                free = await read()
                if free is not None:
                    await self.counts.learn(ticket, remaining=free[0], holders=free[1])
            finally:
                del self._reading[ticket.schedule_id]
                reading.set_result(None)
        await self.readmit(ticket)

    async def readmit(self, ticket: Ticket) -> None:
        """After a wait: refuses (``SoldOut``) a booking whose schedule sold out meanwhile."""
        if not await self.counts.readmit(ticket):
            raise SoldOut()

    def claimed(
        self, session: AsyncSession, schedule_id: int, *, remaining: int, holders: frozenset[int] | None = None
    ) -> None:
        """This unit of work claimed a slot and the database says ``remaining`` are left (``holders``: the
        accounts holding one, when read): the count, once it commits."""
        ticket = _ticket(session, schedule_id)
        if ticket is not None:
            after_commit(
                session, lambda: self.counts.settle(ticket, claimed=True, remaining=remaining, holders=holders)
            )

    async def aclose(self) -> None:
        """At shutdown: lets tokens on their way back arrive, and closes the connection to Redis, if any."""
        close = getattr(self.counts, "aclose", None)
        if close is not None:
            await close()

    async def sold_out(self, session: AsyncSession, schedule_id: int, holders: frozenset[int]) -> None:
        """The database found no slot left: counted now, since this unit of work rolls back with its refusal."""
        ticket = _ticket(session, schedule_id)
        if ticket is not None:
            await self.counts.settle(ticket, claimed=False, remaining=0, holders=holders)


def _ticket(session: AsyncSession, schedule_id: int) -> Ticket | None:
    tickets: dict[int, Ticket] = session.info.get(_TICKETS, {})
    return tickets.get(schedule_id)


def build_gate(settings: Settings) -> BookingGate:
    """The gate a process runs with, from its settings: counts in Redis when ``redis_url`` is set (shared by
    every process), else in this process's memory (the embedded default)."""
    turns = AdmissionTurns(per_schedule=settings.booking_claimers_per_schedule)
    if not settings.redis_url:
        return BookingGate(counts=MemorySlotCounts(lapse_seconds=settings.gate_recheck_seconds), turns=turns)
    from yiyue.booking.gate.redis_counts import RedisSlotCounts

    counts = RedisSlotCounts(
        settings.redis_url,
        lapse_seconds=settings.gate_recheck_seconds,
        local_seconds=settings.gate_redis_local_seconds,
        timeout_seconds=settings.gate_redis_timeout_seconds,
        max_connections=settings.gate_redis_connections,
        prefix=settings.gate_redis_prefix,
        retry_seconds=settings.gate_redis_retry_seconds,
    )
    return BookingGate(counts=counts, turns=turns)


def slots_freed(session: AsyncSession, schedule_ids: Iterable[int]) -> None:
    """States that this unit of work gives slots of these schedules back; once it commits, the gate of
    whichever process runs it forgets their counts (with Redis: every process's)."""
    for schedule_id in schedule_ids:
        publish_after_commit(session, _FREED, schedule_id)


def listen(db: Database, counts: SlotCounts) -> None:
    """Makes ``counts`` hear of every slot freed by a unit of work of ``db``, and of every session given more
    numbers by the hospital (``scheduling``), once it commits (call once per process)."""

    async def reopen(schedule_ids: list[int]) -> None:
        await counts.reopen(set(schedule_ids))

    db.listeners[_FREED] = reopen
    db.listeners[SLOTS_ADDED] = reopen
