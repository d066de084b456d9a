"""Slot counts kept in this process's memory: the embedded default (one server process).

With several processes each keeps its own counts: a slot freed elsewhere reopens the schedule here only
when the count lapses (``lapse_seconds``). Redis (``redis_counts``) shares them instead.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from yiyue.booking.gate.protocol import InFlight, Ticket

_SWEEP_EVERY = 1024
"""Lapsed counts are swept out once this many more schedules are tracked than at the last sweep."""


@dataclass
class _Count:
    epoch: str
    until: float
    free: int | None = None
    """Free slots the database last reported; None until a booking reports them."""
    in_flight: int = 0
    holders: set[int] = field(default_factory=set)

    def covered(self) -> bool:
        return self.free is not None and self.free - self.in_flight <= 0


class MemorySlotCounts:
    def __init__(self, *, lapse_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._lapse = lapse_seconds
        self._monotonic = monotonic
        self._counts: dict[int, _Count] = {}
        self._epochs = itertools.count(1)
        self._swept_at = 0
        self._flying = InFlight()

    async def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        count = self._live(schedule_id)
        return (
            count is not None
            and count.covered()
            and account_id not in count.holders
            and not self._flying.other(schedule_id, account_id)
        )

    async def admit(self, schedule_id: int, account_id: int) -> Ticket | None:
        count = self._live(schedule_id) or self._start(schedule_id)
        ticket = Ticket(schedule_id, account_id, count.epoch, counted=False)
        if not self._take(count, ticket):
            return None
        self._flying.enter(ticket)
        return ticket

    async def readmit(self, ticket: Ticket) -> bool:
        count = self._live(ticket.schedule_id)
        if count is None or count.epoch != ticket.epoch:  # a new life of the count: the old token is void
            count = count or self._start(ticket.schedule_id)
            ticket.epoch, ticket.counted = count.epoch, False
        if ticket.counted:
            return count.free != 0 or self._exempt(count, ticket)
        return self._take(count, ticket, entering=True)

    async def settle(
        self, ticket: Ticket, *, claimed: bool, remaining: int | None = None, holders: frozenset[int] | None = None
    ) -> None:
        self._settle(ticket, claimed=claimed, remaining=remaining, holders=holders)

    async def learn(self, ticket: Ticket, *, remaining: int, holders: frozenset[int] | None) -> None:
        count = self._live(ticket.schedule_id)
        if count is None or count.epoch != ticket.epoch or count.free is not None:
            return  # forgotten, lapsed or reported since: what was read may be older
        count.until = self._monotonic() + self._lapse
        count.free = max(0, remaining)
        if holders is not None:
            count.holders = set(holders)

    def abandon(self, ticket: Ticket) -> None:
        if not ticket.settled:
            self._settle(ticket, claimed=False, remaining=None, holders=None)

    async def reopen(self, schedule_ids: Iterable[int]) -> None:
        for schedule_id in schedule_ids:
            self._counts.pop(schedule_id, None)

    async def gauges(self, *, fleet: bool = True) -> tuple[int, int]:  # fleet: its own counts are all it has
        now = self._monotonic()
        sold_out = sum(1 for count in self._counts.values() if count.until > now and count.covered())
        return sold_out, self._flying.total()

    def _settle(self, ticket: Ticket, *, claimed: bool, remaining: int | None, holders: frozenset[int] | None) -> None:
        ticket.settled = True
        self._flying.leave(ticket)
        count = self._live(ticket.schedule_id)
        if count is None or count.epoch != ticket.epoch:
            return  # forgotten or lapsed since: what this booking saw may be older than the freed slot
        if ticket.counted:
            count.in_flight = max(0, count.in_flight - 1)
            ticket.counted = False
        if remaining is not None:
            # The lapse runs from the moment the count is first known, so that a count drifted by lost
            # tokens is read again; the database first confirming a sell-out starts it again (no token
            # matters then, and every freed slot forgets the count anyway), but repeated reports of none
            # left do not, or holders retrying would keep a sold-out count alive for ever.
            if count.free is None or (remaining <= 0 and count.free > 0):
                count.until = self._monotonic() + self._lapse
            count.free = max(0, remaining)
            if holders is not None:
                count.holders = set(holders)
        if claimed:
            count.holders.add(ticket.account_id)

    def _take(self, count: _Count, ticket: Ticket, *, entering: bool = False) -> bool:
        """Admits ``ticket`` at ``count``: with a token while one is free, without one while the count is
        unknown (``entering`` the database: with one, so the count to come knows of the claim) or for a
        holder; False when it is to be refused."""
        if count.free is None:
            if entering:
                count.in_flight += 1
                ticket.counted = True
            else:
                ticket.unknown = True
            return True
        if count.free - count.in_flight > 0:
            count.in_flight += 1
            ticket.counted = True
            return True
        return self._exempt(count, ticket)

    def _exempt(self, count: _Count, ticket: Ticket) -> bool:
        """A holder, or an account with another booking of the schedule in flight here: not refused."""
        return ticket.account_id in count.holders or self._flying.other(ticket.schedule_id, ticket.account_id, ticket)

    def _live(self, schedule_id: int) -> _Count | None:
        count = self._counts.get(schedule_id)
        if count is not None and count.until <= self._monotonic():
            del self._counts[schedule_id]
            return None
        return count

    def _start(self, schedule_id: int) -> _Count:
        now = self._monotonic()
        if len(self._counts) >= self._swept_at + _SWEEP_EVERY:
            self._counts = {key: c for key, c in self._counts.items() if c.until > now}
            self._swept_at = len(self._counts)
        count = _Count(epoch=str(next(self._epochs)), until=now + self._lapse)
        self._counts[schedule_id] = count
        return count
