"""Sold-out marks kept in this process's memory: the embedded default (one server process).

With several processes each keeps its own marks: a slot freed elsewhere reopens the schedule here only
when the mark lapses (``recheck_seconds``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable


class MemorySoldOutMarks:
    def __init__(self, *, recheck_seconds: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._recheck = recheck_seconds
        self._monotonic = monotonic
        self._sold_out: dict[int, tuple[float, frozenset[int]]] = {}

    async def is_sold_out_for(self, schedule_id: int, account_id: int) -> bool:
        entry = self._sold_out.get(schedule_id)
        if entry is None:
            return False
        until, holders = entry
        if until <= self._monotonic():
            self._sold_out.pop(schedule_id, None)
            return False
        return account_id not in holders

    async def mark_sold_out(self, schedule_id: int, holders: frozenset[int]) -> None:
        self._sold_out[schedule_id] = (self._monotonic() + self._recheck, holders)

    async def reopen(self, schedule_ids: Iterable[int]) -> None:
        for schedule_id in schedule_ids:
            self._sold_out.pop(schedule_id, None)
