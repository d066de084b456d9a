"""What the booking path asks of the inventory gate, whatever keeps the marks (this process, or Redis
shared by every process).

The gate remembers which schedules were found sold out and which accounts hold their slots, so that
the rush after a popular schedule sells out is answered without touching the database; the database
stays the only judge of who gets a slot. Holders still go to the database, because their request may
be a retry that must be answered with the booking it made (Idempotency-Key). Every process that frees a
slot (a cancellation in a server, an expired hold in a worker) reopens the schedule; a mark that was
not reopened lapses after a few seconds anyway, so the worst a stale one can do is answer "sold out"
that long.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class SoldOutMarks(Protocol):
    async def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        """True when the schedule is known sold out and this account holds none of its slots."""
        ...

    async def mark_sold_out(self, schedule_id: int, holders: frozenset[int]) -> None:
        """The database just said the schedule has no slot left; ``holders`` are the accounts holding one."""
        ...

    async def reopen(self, schedule_ids: Iterable[int]) -> None:
        """Slots of these schedules were freed (cancelled, expired, suspended): forget their marks."""
        ...
