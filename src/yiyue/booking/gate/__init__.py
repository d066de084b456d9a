"""The inventory gate in front of the database (step 1 of ARCHITECTURE's booking path).

``BookingGate`` is what a process has: shareable sold-out marks (``SoldOutMarks``, in memory by default)
and this process's admission turns. The booking endpoint reaches it through one dependency; every other
use case only states which schedules it freed (``slots_freed``), and the process's gate hears of it once
the unit of work has committed (``listen``), in the server and in workers alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.gate.memory import MemorySoldOutMarks
from yiyue.booking.gate.protocol import SoldOutMarks
from yiyue.booking.gate.turns import AdmissionTurns
from yiyue.core.config import Settings
from yiyue.core.db import Database, publish_after_commit
from yiyue.scheduling.service import SLOTS_ADDED

__all__ = [
    "AdmissionTurns",
    "BookingGate",
    "MemorySoldOutMarks",
    "SoldOutMarks",
    "build_gate",
    "listen",
    "slots_freed",
]

_FREED = "booking.gate.freed"


@dataclass
class BookingGate:
    marks: SoldOutMarks
    turns: AdmissionTurns

    @classmethod
    def in_memory(cls, *, recheck_seconds: float = 2.0, claimers_per_schedule: int = 8) -> BookingGate:
        return cls(
            marks=MemorySoldOutMarks(recheck_seconds=recheck_seconds),
            turns=AdmissionTurns(per_schedule=claimers_per_schedule),
        )


def build_gate(settings: Settings) -> BookingGate:
    """The gate a process runs with, from its settings (in memory: the embedded default)."""
    return BookingGate.in_memory(
        recheck_seconds=settings.gate_recheck_seconds, claimers_per_schedule=settings.booking_claimers_per_schedule
    )


def slots_freed(session: AsyncSession, schedule_ids: Iterable[int]) -> None:
    """States that this unit of work gives slots of these schedules back; once it commits, the gate of
    whichever process runs it reopens them."""
    for schedule_id in schedule_ids:
        publish_after_commit(session, _FREED, schedule_id)


def listen(db: Database, marks: SoldOutMarks) -> None:
    """Makes ``marks`` hear of every slot freed by a unit of work of ``db``, and of every session given more
    numbers by the hospital (``scheduling``), once it commits (call once per process)."""

    async def reopen(schedule_ids: list[int]) -> None:
        await marks.reopen(set(schedule_ids))

    db.listeners[_FREED] = reopen
    db.listeners[SLOTS_ADDED] = reopen
