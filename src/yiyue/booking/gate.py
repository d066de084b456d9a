"""The inventory gate in front of the database (hot-slot path, step 1 of ARCHITECTURE's booking path).

When thousands ask for a popular doctor's 30 slots in the same second, all but 30 must be told "sold out"
without touching the database. The gate remembers which schedules were found sold out, and which
accounts hold their slots, and answers everyone else from memory for a short while; the database stays
the only judge of who gets a slot. Holders still go to the database, because their request may be a
retry that must be answered with the booking it made (Idempotency-Key). A slot coming back
(cancellation, expiry) reopens the gate at once in this process; in another process the mark lapses
after ``recheck_seconds``, so the worst a stale mark can do is answer "sold out" that long.

The gate also admits at most ``claimers_per_schedule`` booking transactions per schedule at a time in
this process. The rest wait their turn in memory instead of piling onto the same rows (and the
connection pool), and most of them find the schedule marked sold out when their turn comes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable


class InventoryGate:
    def __init__(
        self,
        *,
        recheck_seconds: float = 2.0,
        claimers_per_schedule: int = 8,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._recheck = recheck_seconds
        self._claimers = claimers_per_schedule
        self._monotonic = monotonic
        self._sold_out: dict[int, tuple[float, frozenset[int]]] = {}
        self._turns: dict[int, tuple[asyncio.Semaphore, int]] = {}

    async def take_turn(self, schedule_id: int) -> Callable[[], None]:
        """Waits until fewer than ``claimers_per_schedule`` bookings of this schedule are in flight here;
        returns the function that gives the turn back (call it once the transaction has ended)."""
        semaphore, users = self._turns.get(schedule_id) or (asyncio.Semaphore(self._claimers), 0)
        self._turns[schedule_id] = (semaphore, users + 1)
        try:
            await semaphore.acquire()
        except BaseException:
            self._leave(schedule_id)
            raise
        released = False

        def give_back() -> None:
            nonlocal released
            if not released:
                released = True
                semaphore.release()
                self._leave(schedule_id)

        return give_back

    def _leave(self, schedule_id: int) -> None:
        semaphore, users = self._turns[schedule_id]
        if users <= 1:
            del self._turns[schedule_id]  # nobody waits or holds a turn: forget the schedule
        else:
            self._turns[schedule_id] = (semaphore, users - 1)

    def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        """True when the schedule is known sold out and this account holds none of its slots."""
        entry = self._sold_out.get(schedule_id)
        if entry is None:
            return False
        until, holders = entry
        if until <= self._monotonic():
            self._sold_out.pop(schedule_id, None)
            return False
        return account_id not in holders

    def mark_sold_out(self, schedule_id: int, holders: frozenset[int]) -> None:
        self._sold_out[schedule_id] = (self._monotonic() + self._recheck, holders)

    def mark_available(self, schedule_id: int) -> None:
        self._sold_out.pop(schedule_id, None)

    def reopen(self, schedule_ids: Iterable[int]) -> None:
        for schedule_id in schedule_ids:
            self.mark_available(schedule_id)
