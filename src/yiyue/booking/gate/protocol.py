"""What the booking path asks of the inventory gate, whatever keeps the counts (this process, or Redis
shared by every process).

The gate counts, per schedule, the free slots the database last reported and the booking claims in
flight. A claim is admitted with a token while the free slots outnumber the claims in flight; once the
claims cover them, everyone else is answered "sold out" without the database, until a claim gives its
token back (it failed, or its transaction rolled back), a slot is freed (the count is forgotten), or the
count lapses and is read from the database again. The database stays the only judge of who gets a slot:
the gate only ever refuses early, it never admits on its own. A count it does not know (a new schedule,
a lapsed or forgotten one, Redis down or flushed) refuses nobody.

Accounts holding a slot of the schedule still go through, because their request may be a retry that
must be answered with the booking it made (Idempotency-Key); so do accounts with a booking of the
schedule still in flight in this process (``InFlight``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(eq=False)
class Ticket:
    """One booking's admission at one schedule's count, until its unit of work settles or abandons it."""

    schedule_id: int
    account_id: int
    epoch: str
    """Which life of the count admitted it: a count forgotten or lapsed since is a new life, and a ticket
    of an older one changes nothing in it."""
    counted: bool
    """It holds a token (a claim in flight); False when the count was unknown, or for a holder."""
    settled: bool = False
    taken_at: float = 0.0
    """When it took its token (monotonic seconds), for counts that need not ask again so soon after."""
    flying: bool = False
    """Counted among this process's bookings in flight (``InFlight``) until it settles or is abandoned."""
    unknown: bool = False
    """Admitted while the count was unknown: the gate reads the free slots once for every such booking of
    the schedule (``BookingGate.learn``), then admits it again against them."""


class InFlight:
    """The accounts with a booking of a schedule in flight in this process (admitted, not yet settled or
    abandoned): like holders, they are not refused, since theirs may be an idempotent retry that the
    database answers with the booking (it waits on the account's lock and replays)."""

    def __init__(self) -> None:
        self._by_schedule: dict[int, dict[int, int]] = {}

    def enter(self, ticket: Ticket) -> None:
        if not ticket.flying:
            ticket.flying = True
            accounts = self._by_schedule.setdefault(ticket.schedule_id, {})
            accounts[ticket.account_id] = accounts.get(ticket.account_id, 0) + 1

    def leave(self, ticket: Ticket) -> None:
        if ticket.flying:
            ticket.flying = False
            accounts = self._by_schedule[ticket.schedule_id]
            left = accounts[ticket.account_id] - 1
            if left:
                accounts[ticket.account_id] = left
            else:
                del accounts[ticket.account_id]
                if not accounts:
                    del self._by_schedule[ticket.schedule_id]

    def total(self) -> int:
        """Bookings in flight here, over every schedule (a gauge of the metrics)."""
        return sum(sum(accounts.values()) for accounts in self._by_schedule.values())

    def other(self, schedule_id: int, account_id: int, ticket: Ticket | None = None) -> bool:
        """Whether the account has a booking of the schedule in flight here (besides ``ticket``)."""
        count = self._by_schedule.get(schedule_id, {}).get(account_id, 0)
        return count - int(ticket is not None and ticket.flying) > 0


class SlotCounts(Protocol):
    async def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        """True when the claims in flight cover the free slots (or none are left) and this account holds
        none of them: what the sold-out fast path asks, taking nothing."""
        ...

    async def admit(self, schedule_id: int, account_id: int) -> Ticket | None:
        """A booking wants a slot: its ticket (holding a token when the count is known), or None when it
        is to be refused as sold out."""
        ...

    async def readmit(self, ticket: Ticket) -> bool:
        """After waiting (for a turn, for the writer's lock), just before the database: may the booking
        still go on? A ticket that holds a token is refused only once no slot is left; one that does not
        takes one now, even while the count is unknown (the count to come must know of this claim)."""
        ...

    async def settle(
        self, ticket: Ticket, *, claimed: bool, remaining: int | None = None, holders: frozenset[int] | None = None
    ) -> None:
        """The booking's unit of work ends: ``claimed`` when it committed a claim (its token is spent),
        otherwise the token comes back. ``remaining``: the free slots the database reported to it (its own
        claim taken), which become the count; ``holders``: every account holding a slot, when read."""
        ...

    async def learn(self, ticket: Ticket, *, remaining: int, holders: frozenset[int] | None) -> None:
        """The free slots (and, with none left, the holders) read from the database for ``ticket``'s life
        of the count, which becomes known with them unless a booking has reported it meanwhile; the
        ticket itself is left as it was (``readmit`` decides it next)."""
        ...

    def abandon(self, ticket: Ticket) -> None:
        """The unit of work ended without settling (it failed, rolled back, or claimed nothing): the token
        comes back. Synchronous, for the unit of work's close; a shared store may finish it a moment later."""
        ...

    async def reopen(self, schedule_ids: Iterable[int]) -> None:
        """Slots of these schedules were freed (cancelled, expired, suspended, added): forget their counts,
        so that the next booking goes to the database and reports the count again."""
        ...

    async def gauges(self, *, fleet: bool = True) -> tuple[int, int]:
        """For the metrics (``core.metrics.GateState``): the schedules refused as sold out now, and this
        process's bookings admitted and not yet settled. ``fleet=False`` (a process's periodic sampling):
        counts shared by the fleet are left to the scrape (0), only this process's own are read."""
        ...
