"""候补 under concurrency, with real parallel HTTP clients against a real server: cancellations freeing
slots at once hand each slot to exactly one waiting person, in line order, none lost, none held twice,
none left in the open pool while someone waits; confirmations, more cancellations and people leaving the
line at the same moment keep it so. Runs on SQLite, and on PostgreSQL when YIYUE_TEST_DATABASE_URL
points at one (where the hand-overs really run side by side)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from tests.booking.test_waitlist_api import make_member as make_account_member
from tests.concurrency.test_flash_release import new_patient
from tests.factories import make_catalog, make_schedule
from yiyue.accounts.models import Account, VisitPerson
from yiyue.booking.models import OCCUPYING, Appointment, WaitlistEntry, WaitlistStatus
from yiyue.core.db import Database
from yiyue.scheduling.models import Slot, SlotStatus

CAPACITY = 30
WAITING = 50
FIRST_WAVE = 20
MEMBERS = {3: "gold", 11: "silver", 17: "gold", 30: "diamond", 44: "silver", 49: "gold"}
"""Waiters (by the order they join in) who are members: they go ahead of everyone of a lower level."""


@dataclass
class Holder:
    auth: dict[str, str]
    appointment_id: int


@dataclass
class Waiter:
    auth: dict[str, str]
    entry_id: int


async def book(http: httpx.AsyncClient, schedule_id: int) -> Holder:
    auth, patient_id = await new_patient(http)
    answer = await http.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": patient_id},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    return Holder(auth, int(answer.json()["id"]))


async def make_member(store: Database, patient_id: int, level_code: str) -> None:
    async with store.session() as session:
        openid = await session.scalar(
            select(Account.openid)
            .join(VisitPerson, VisitPerson.account_id == Account.id)
            .where(VisitPerson.id == patient_id)
        )
    assert openid is not None
    await make_account_member(store, openid, level_code)


async def wait_in_line(http: httpx.AsyncClient, store: Database, schedule_id: int, n: int) -> list[Waiter]:
    """``n`` patients join one after another (members among them), so the line's order is known."""
    waiters = []
    for i in range(n):
        auth, patient_id = await new_patient(http)
        if i in MEMBERS:
            await make_member(store, patient_id, MEMBERS[i])
        answer = await http.post(
            "/api/v1/waitlist", json={"schedule_id": schedule_id, "patient_id": patient_id}, headers=auth
        )
        assert answer.status_code == 201, answer.text
        waiters.append(Waiter(auth, int(answer.json()["id"])))
    return waiters


@dataclass
class Stored:
    line: list[WaitlistEntry]
    """Every entry of the session in line order (priority, then joined_at, then id)."""
    slots: dict[int, str]
    appointments: list[Appointment]

    def status(self, status: WaitlistStatus) -> list[WaitlistEntry]:
        return [e for e in self.line if e.status == status]


async def stored(store: Database, schedule_id: int) -> Stored:
    async with store.session() as session:
        line = list(
            await session.scalars(
                select(WaitlistEntry)
                .where(WaitlistEntry.schedule_id == schedule_id)
                .order_by(WaitlistEntry.priority.desc(), WaitlistEntry.joined_at, WaitlistEntry.id)
            )
        )
        rows = await session.execute(select(Slot.id, Slot.status).where(Slot.schedule_id == schedule_id))
        slots = {slot_id: status for slot_id, status in rows.tuples()}
        appointments = list(
            await session.scalars(
                select(Appointment).where(Appointment.schedule_id == schedule_id, Appointment.status.in_(OCCUPYING))
            )
        )
    return Stored(line, slots, appointments)


def assert_invariants(state: Stored) -> None:
    """No slot for two, none lost, none in the pool while someone waits, nobody skipped."""
    offered = state.status(WaitlistStatus.OFFERED)
    held_for = Counter(e.slot_id for e in offered)
    booked_on = Counter(a.slot_id for a in state.appointments)
    assert all(n == 1 for n in held_for.values()), "a slot held for two entries"
    assert all(n == 1 for n in booked_on.values()), "a slot booked twice"
    assert not set(held_for) & set(booked_on), "a slot both held for an entry and booked"
    assert {s for s, status in state.slots.items() if status == SlotStatus.HELD} == set(held_for)
    assert {s for s, status in state.slots.items() if status == SlotStatus.BOOKED} == set(booked_on)
    available = [s for s, status in state.slots.items() if status == SlotStatus.AVAILABLE]
    waiting = state.status(WaitlistStatus.WAITING)
    assert not (available and waiting), f"{len(available)} free slots while {len(waiting)} wait"
    assert len(held_for) + len(booked_on) + len(available) == CAPACITY  # none lost
    served = [i for i, e in enumerate(state.line) if e.status in (WaitlistStatus.OFFERED, WaitlistStatus.BOOKED)]
    still = [i for i, e in enumerate(state.line) if e.status == WaitlistStatus.WAITING]
    assert not served or not still or max(served) < min(still), "a waiting entry was skipped"


async def test_parallel_cancellations_hand_each_slot_to_one_waiting_person_in_order(
    store: Database, http: httpx.AsyncClient
) -> None:
    catalog = await make_catalog(store)
    schedule = await make_schedule(store, catalog, capacity=CAPACITY)
    holders = list(await asyncio.gather(*(book(http, schedule.id) for _ in range(CAPACITY))))
    waiters = await wait_in_line(http, store, schedule.id, WAITING)
    by_entry = {w.entry_id: w for w in waiters}
    before = await stored(store, schedule.id)
    assert [e.priority for e in before.line[:6]] == [3, 2, 2, 2, 1, 1]  # members first, by level

    # 20 cancellations at once.
    answers = await asyncio.gather(
        *(http.post(f"/api/v1/appointments/{h.appointment_id}/cancel", headers=h.auth) for h in holders[:FIRST_WAVE])
    )

    assert [a.status_code for a in answers] == [200] * FIRST_WAVE
    state = await stored(store, schedule.id)
    assert_invariants(state)
    assert [e.id for e in state.status(WaitlistStatus.OFFERED)] == [e.id for e in before.line[:FIRST_WAVE]]
    freed = {a.json()["slot_id"] for a in answers}
    assert {e.slot_id for e in state.status(WaitlistStatus.OFFERED)} == freed
    assert len(state.status(WaitlistStatus.WAITING)) == WAITING - FIRST_WAVE
    assert not [s for s in state.slots.values() if s == SlotStatus.AVAILABLE]

    # Then at once: the 20 offered confirm, the other 10 bookings are cancelled, 5 next in line leave.
    offered = [by_entry[e.id] for e in state.status(WaitlistStatus.OFFERED)]
    leaving = [by_entry[e.id] for e in state.status(WaitlistStatus.WAITING)[:5]]
    calls = [
        *(http.post(f"/api/v1/waitlist/{w.entry_id}/confirm", headers=w.auth) for w in offered),
        *(http.post(f"/api/v1/appointments/{h.appointment_id}/cancel", headers=h.auth) for h in holders[FIRST_WAVE:]),
        *(http.delete(f"/api/v1/waitlist/{w.entry_id}", headers=w.auth) for w in leaving),
    ]
    results = await asyncio.gather(*calls)

    codes = Counter(r.status_code for r in results)
    assert codes == {201: FIRST_WAVE, 200: CAPACITY - FIRST_WAVE, 204: 5}, [
        r.text for r in results if r.status_code >= 400
    ]
    after = await stored(store, schedule.id)
    assert_invariants(after)
    assert len(after.status(WaitlistStatus.BOOKED)) == FIRST_WAVE
    assert len(after.status(WaitlistStatus.OFFERED)) == CAPACITY - FIRST_WAVE
    assert len([a for a in after.appointments if a.status == "booked"]) == FIRST_WAVE
    left = {w.entry_id for w in leaving}
    # The 10 slots went to the next 10 of those who stayed (a leaver offered a slot first passed it on).
    stayed = [e for e in after.line if e.id not in left and e.status != WaitlistStatus.BOOKED]
    assert [e.id for e in after.status(WaitlistStatus.OFFERED)] == [e.id for e in stayed[: CAPACITY - FIRST_WAVE]]
