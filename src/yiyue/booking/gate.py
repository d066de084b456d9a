"""The inventory gate in front of the database (hot-slot path, step 1 of ARCHITECTURE's booking path).

When thousands ask for a popular doctor's 30 slots in the same second, all but 30 must be told "sold out"
without a write transaction each. The gate remembers which schedules were found sold out and answers
from memory for a short while; the database stays the only judge of who gets a slot. A slot coming
back (cancellation, expiry) reopens the gate at once in this process; in another process the mark
lapses after ``recheck_seconds``, so the worst a stale mark can do is answer "sold out" that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class InventoryGate:
    def __init__(self, *, recheck_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._sold_out_until: dict[int, float] = {}

    def is_sold_out(self, schedule_id: int) -> bool:
        until = self._sold_out_until.get(schedule_id)
        if until is None:
            return False
        if until <= self._monotonic():
            del self._sold_out_until[schedule_id]
            return False
        return True

    def mark_sold_out(self, schedule_id: int) -> None:
        self._sold_out_until[schedule_id] = self._monotonic() + self._recheck

    def mark_available(self, schedule_id: int) -> None:
        self._sold_out_until.pop(schedule_id, None)
