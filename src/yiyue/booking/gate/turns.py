"""Admission turns: at most N booking transactions per schedule at a time in this process.

When thousands ask for one schedule in the same second, the rest wait their turn in memory instead of
piling onto the same rows (and the connection pool), and most of them find the schedule marked sold out
when their turn comes. Turns are per process by nature (they bound this process's own work), unlike the
sold-out marks, which every process may share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class AdmissionTurns:
    def __init__(self, *, per_schedule: int = 8) -> None:
        self._per_schedule = per_schedule
        self._turns: dict[int, tuple[asyncio.Semaphore, int]] = {}

    async def take(self, schedule_id: int) -> Callable[[], None]:
        """Waits until fewer than ``per_schedule`` bookings of this schedule are in flight here; returns
        the function that gives the turn back (call it once the transaction has ended)."""
        semaphore, users = self._turns.get(schedule_id) or (asyncio.Semaphore(self._per_schedule), 0)
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
