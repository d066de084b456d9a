"""Hypothesis drives random sequences of book / cancel / replay through the HTTP API and checks, after
every step, that the database and a simple model agree: booked + free = capacity, no slot held twice,
no person (ID number, whichever account books for them: two accounts share one here) twice with one
doctor on one day, no person over the hospital's limit, every answer the one the rules call for."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from tests.conftest import NOW, login_via
from tests.factories import id_number, make_catalog, make_schedule, patient_body
from yiyue.app import create_app
from yiyue.booking.models import OCCUPYING, Appointment
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.migrate import upgrade
from yiyue.scheduling.models import Period, Slot, SlotStatus

CAPACITY = 2
PERSON_LIMIT = 2
KEYS = ["k1", "k2", "k3"]


@dataclass
class Booking:
    id: int
    account: int
    person: int
    schedule: int
    number: int
    active: bool = True


@dataclass
class Model:
    bookings: dict[int, Booking] = field(default_factory=dict)
    keys: dict[tuple[int, str], tuple[tuple[int, int, int | None], int]] = field(default_factory=dict)

    def active(self) -> list[Booking]:
        return [b for b in self.bookings.values() if b.active]

    def taken_numbers(self, schedule: int) -> set[int]:
        return {b.number for b in self.active() if b.schedule == schedule}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sm") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.mark.parametrize("_", [None])
def test_booking_state_machine(template: Path, _: None) -> None:
    BookingMachine.template = template
    BookingMachine.TestCase.settings = settings(
        max_examples=30, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
    )
    BookingMachine.TestCase().runTest()


class BookingMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.workdir = Path(tempfile.mkdtemp(prefix="yiyue-sm-"))
        self.model = Model()

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @initialize()
    def setup(self) -> None:
        db_path = self.workdir / "yiyue.db"
        shutil.copy(self.template, db_path)
        config = Settings(
            database_url=f"sqlite+aiosqlite:///{db_path}",
            secret_key="state-machine-secret-0123456789-0123456789",
            data_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
            blind_index_key="aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk=",
            wechat_secret="sm",
        )
        self.app = create_app(config, clock=FrozenClock(NOW))
        self.db = self.app.state.db
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://sm.test")
        self.run(self._prepare())

    async def _prepare(self) -> None:
        catalog = await make_catalog(self.db, max_active_appointments=PERSON_LIMIT)
        morning = await make_schedule(self.db, catalog, capacity=CAPACITY, period=Period.MORNING)
        afternoon = await make_schedule(self.db, catalog, capacity=CAPACITY, period=Period.AFTERNOON)
        other = await make_schedule(self.db, catalog, capacity=CAPACITY, doctor=catalog.other_doctor)
        later = await make_schedule(self.db, catalog, capacity=CAPACITY, doctor=catalog.other_doctor, days_ahead=2)
        self.schedules = [morning.id, afternoon.id, other.id, later.id]
        # A's two sessions share a day; B sees patients on two days, so one person can reach the limit.
        self.doctor_day = {morning.id: "A1", afternoon.id: "A1", other.id: "B1", later.id: "B2"}
        self.slot_ids: dict[int, dict[int, int]] = {}
        for sid in self.schedules:
            slots = (await self.client.get(f"/api/v1/schedules/{sid}/slots")).json()["items"]
            self.slot_ids[sid] = {s["number"]: s["id"] for s in slots}
        self.auth: list[dict[str, str]] = []
        self.people: list[list[int]] = []
        self.identity: dict[int, str] = {}  # visit person -> their ID number: who they are
        mother = id_number()
        for i in range(3):
            auth = await login_via(self.client, f"sm-{i}-{uuid.uuid4().hex[:6]}")
            self.auth.append(auth)
            ids = []
            # Account 0's self is account 1's mother as well: one person in two accounts.
            for name, rel, number in (("甲某某", "self", mother if i == 0 else id_number()), ("乙某某", "child", None)):
                if i == 1 and rel == "child":
                    name, rel, number = "甲某某", "parent", mother
                body = patient_body(name=name, relationship=rel, id_number=number or id_number())
                answer = await self.client.post("/api/v1/me/patients", json=body, headers=auth)
                assert answer.status_code == 201, answer.text
                ids.append(answer.json()["id"])
                self.identity[ids[-1]] = body["id_number"]
            self.people.append(ids)

    def teardown(self) -> None:
        if hasattr(self, "client"):
            self.run(self.client.aclose())
            self.run(self.db.dispose())
        self.loop.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _full(self, schedule: int) -> bool:
        return len(self.model.taken_numbers(schedule)) == CAPACITY

    def _expected_refusals(self, person: int, schedule: int, number: int | None) -> set[str]:
        refusals = set()
        who = self.identity[person]
        active = [b for b in self.model.active() if self.identity[b.person] == who]
        if any(self.doctor_day[b.schedule] == self.doctor_day[schedule] for b in active):
            refusals.add("DUPLICATE_BOOKING")
        if len(active) >= PERSON_LIMIT:
            refusals.add("BOOKING_LIMIT")
        taken = self.model.taken_numbers(schedule)
        if len(taken) == CAPACITY:
            refusals.add("SOLD_OUT")
        elif number is not None and number in taken:
            refusals.add("SLOT_TAKEN")
        return refusals

    @rule(
        account=st.integers(0, 2),
        which=st.integers(0, 1),
        schedule_index=st.integers(0, 3),
        number=st.none() | st.integers(1, CAPACITY),
        key=st.sampled_from([*KEYS, None]),
    )
    def book(self, account: int, which: int, schedule_index: int, number: int | None, key: str | None) -> None:
        person, schedule = self.people[account][which], self.schedules[schedule_index]
        key = key or uuid.uuid4().hex
        body: dict[str, int] = {"schedule_id": schedule, "patient_id": person}
        if number is not None:
            body["slot_id"] = self.slot_ids[schedule][number]
        headers = {**self.auth[account], "Idempotency-Key": key}
        answer = self.run(self.client.post("/api/v1/appointments", json=body, headers=headers))

        request = (schedule, person, number)
        earlier = self.model.keys.get((account, key))
        if earlier is not None:
            still_holds = self.model.bookings[earlier[1]].active
            if earlier[0] == request and (still_holds or not self._full(schedule)):
                assert answer.status_code == 201, answer.text
                assert answer.json()["id"] == earlier[1]
            elif earlier[0] == request:
                # Its booking was cancelled and the schedule has sold out since: the gate, which knows
                # only who holds a slot now, may answer first; either way nothing is written.
                assert answer.status_code == 201 or answer.json()["code"] == "SOLD_OUT", answer.text
                assert answer.status_code != 201 or answer.json()["id"] == earlier[1]
            else:
                # A schedule known sold out is refused before the key is looked at (the gate answers first).
                allowed = {"IDEMPOTENCY_KEY_REUSED"} | ({"SOLD_OUT"} if self._full(schedule) else set())
                assert answer.json()["code"] in allowed, answer.text
            return
        refusals = self._expected_refusals(person, schedule, number)
        if not refusals:
            assert answer.status_code == 201, (answer.text, request)
            got = answer.json()
            free = sorted(set(range(1, CAPACITY + 1)) - self.model.taken_numbers(schedule))
            assert got["queue_number"] == (number if number is not None else free[0])
            self.model.bookings[got["id"]] = Booking(got["id"], account, person, schedule, got["queue_number"])
            self.model.keys[(account, key)] = (request, got["id"])
        else:
            assert answer.status_code == 409, (answer.text, refusals)
            assert answer.json()["code"] in refusals, (answer.json(), refusals)

    @precondition(lambda self: bool(self.model.bookings))
    @rule(data=st.data(), as_owner=st.booleans())
    def cancel(self, data: st.DataObject, as_owner: bool) -> None:
        booking = data.draw(st.sampled_from(sorted(self.model.bookings.values(), key=lambda b: b.id)))
        account = booking.account if as_owner else (booking.account + 1) % 3
        answer = self.run(self.client.post(f"/api/v1/appointments/{booking.id}/cancel", headers=self.auth[account]))
        if not as_owner:
            assert answer.status_code == 404 and answer.json()["code"] == "APPOINTMENT_NOT_FOUND"
        elif booking.active:
            assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
            booking.active = False
        else:
            assert answer.status_code == 409 and answer.json()["code"] == "NOT_CANCELLABLE"

    @invariant()
    def database_agrees_with_the_rules(self) -> None:
        if hasattr(self, "db"):
            self.run(self._check_database())

    async def _check_database(self) -> None:
        async with self.db.session() as session:
            for sid in self.schedules:
                statuses = list(await session.scalars(select(Slot.status).where(Slot.schedule_id == sid)))
                booked = statuses.count(SlotStatus.BOOKED)
                assert booked + statuses.count(SlotStatus.AVAILABLE) == CAPACITY == len(statuses)
                occupying = list(
                    await session.scalars(
                        select(Appointment).where(Appointment.schedule_id == sid, Appointment.status.in_(OCCUPYING))
                    )
                )
                assert booked == len(occupying)
                assert len({a.slot_id for a in occupying}) == len(occupying)  # no slot held twice
                assert len({a.person_index for a in occupying}) == len(occupying)  # no person twice
                expected = {b.id for b in self.model.active() if b.schedule == sid}
                assert {a.id for a in occupying} == expected
            total = await session.scalar(select(func.count()).select_from(Appointment))
            assert total == len(self.model.bookings)
