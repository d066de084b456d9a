"""The inventory gate in front of the database (hot-slot path, step 1 of ARCHITECTURE's booking path).

When thousands ask for a popular doctor's 30 slots in the same second, all but 30 must be told "sold out"
without touching the database. The gate remembers which schedules were found sold out, and which
accounts hold their slots, and answers everyone else from memory for a short while; the database stays
the only judge of who gets a slot. Holders still go to the database, because their request may be a
retry that must be answered with the booking it made (Idempotency-Key). A slot coming back
(cancellation, expiry) reopens the gate at once in this process; in another process the mark lapses
after ``recheck_seconds``, so the worst a stale mark can do is answer "sold out" that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class InventoryGate:
    def __init__(self, *, recheck_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._sold_out: dict[int, tuple[float, frozenset[int]]] = {}

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
