"""The demo seed: plausible hospitals, departments, doctors and schedules, the same every run, never twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

import yiyue.accounts.models
import yiyue.booking.models
import yiyue.hospitals.models
import yiyue.scheduling.models
from yiyue.core.db import Base, Database
from yiyue.demo.seed import POPULAR_EXPERTS, SeedSummary, seed_demo
from yiyue.hospitals.models import Department, Doctor, DoctorTitle, Hospital
from yiyue.hospitals.search import initials
from yiyue.scheduling.models import Schedule, Slot

# Every table must be registered before create_all, not only the ones the seed writes.
MODEL_MODULES = (yiyue.accounts.models, yiyue.booking.models, yiyue.hospitals.models, yiyue.scheduling.models)

TODAY = date(2026, 11, 23)  # a Monday
DAYS = 14

# One seeded database is shared by the read-only tests of this module, so they share its event loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")

MakeDatabase = Callable[[], Awaitable[Database]]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def make_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[MakeDatabase]:
    """Fresh, empty SQLite file databases with every table created."""
    made: list[Database] = []

    async def make() -> Database:
        path: Path = tmp_path_factory.mktemp("seed") / "t.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        made.append(db)
        return db

    yield make
    for db in made:
        await db.dispose()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def seeded(make_database: MakeDatabase) -> tuple[Database, SeedSummary]:
    db = await make_database()
    async with db.session() as session:
        summary = await seed_demo(session, today=TODAY, days=DAYS)
    return db, summary


async def _all(db: Database, statement: Any) -> list[Any]:
    async with db.session() as session:
        return list((await session.execute(statement)).all())


async def _snapshot(db: Database) -> dict[str, list[Any]]:
    """Everything a person would see of the demo data, in id order."""
    parent = aliased(Department)
    return {
        "hospitals": await _all(db, select(Hospital.name, Hospital.level, Hospital.city).order_by(Hospital.id)),
        "departments": await _all(
            db,
            select(Department.hospital_id, parent.name, Department.name, Department.location, Department.sort_order)
            .outerjoin(parent, parent.id == Department.parent_id)
            .order_by(Department.id),
        ),
        "doctors": await _all(
            db,
            select(Doctor.hospital_id, Department.name, Doctor.name, Doctor.title, Doctor.gender, Doctor.fee_fen)
            .join(Department, Department.id == Doctor.department_id)
            .order_by(Doctor.id),
        ),
        "schedules": await _all(
            db,
            select(Doctor.name, Schedule.hospital_id, Schedule.visit_date, Schedule.period, Schedule.capacity)
            .join(Doctor, Doctor.id == Schedule.doctor_id)
            .order_by(Schedule.id),
        ),
    }


class TestSeedDemo:
    async def test_reports_what_it_wrote(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, summary = seeded
        counts = {}
        for model in (Hospital, Department, Doctor, Schedule, Slot):
            [(counts[model.__tablename__],)] = await _all(db, select(func.count()).select_from(model))

        assert summary.created
        assert counts == {
            "hospitals": summary.hospitals,
            "departments": summary.departments,
            "doctors": summary.doctors,
            "schedules": summary.schedules,
            "slots": summary.slots,
        }

    async def test_hospitals_span_cities_and_levels(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        hospitals = await _all(db, select(Hospital))
        rows = [h for (h,) in hospitals]

        assert len(rows) >= 3
        assert len({h.city for h in rows}) == len(rows)
        assert len({h.level for h in rows}) >= 3
        for h in rows:
            assert h.name_initials == initials(h.name)
            assert h.address and h.phone and h.intro
            assert h.created_at.tzinfo is not None
            assert h.payment_required == (h.level == "三级甲等")

    async def test_every_hospital_has_enough_clinics_and_doctors(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        clinics = dict(
            await _all(
                db,
                select(Department.hospital_id, func.count())
                .where(Department.parent_id.is_not(None))
                .group_by(Department.hospital_id),
            )
        )
        doctors = dict(await _all(db, select(Doctor.hospital_id, func.count()).group_by(Doctor.hospital_id)))
        hospital_ids = [hid for (hid,) in await _all(db, select(Hospital.id))]

        for hid in hospital_ids:
            assert clinics[hid] >= 10
            assert doctors[hid] >= 40

    async def test_every_doctor_works_in_a_clinic_of_their_own_hospital(
        self, seeded: tuple[Database, SeedSummary]
    ) -> None:
        db, _ = seeded
        top = aliased(Department)
        rows = await _all(
            db,
            select(Doctor.hospital_id, Department.hospital_id, Department.parent_id, top.hospital_id, top.parent_id)
            .join(Department, Department.id == Doctor.department_id)
            .outerjoin(top, top.id == Department.parent_id),
        )

        assert rows
        for doctor_hospital, clinic_hospital, parent_id, top_hospital, top_parent in rows:
            assert parent_id is not None, "doctors sit in a 科室, never directly in a 大科室"
            assert top_parent is None, "departments are two levels deep"
            assert doctor_hospital == clinic_hospital == top_hospital

    async def test_doctors_have_unique_names_and_every_title_in_each_hospital(
        self, seeded: tuple[Database, SeedSummary]
    ) -> None:
        db, _ = seeded
        by_hospital: dict[int, list[Doctor]] = defaultdict(list)
        for (doctor,) in await _all(db, select(Doctor)):
            by_hospital[doctor.hospital_id].append(doctor)

        for doctors in by_hospital.values():
            names = [d.name for d in doctors]
            assert len(names) == len(set(names))
            assert {d.title for d in doctors} == set(DoctorTitle)
            assert all(
                d.gender in ("男", "女") and d.specialty and d.name_initials == initials(d.name) for d in doctors
            )

    async def test_fees_are_positive_fen_and_follow_seniority(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        doctors = [d for (d,) in await _all(db, select(Doctor))]
        schedule_fees = await _all(
            db, select(Schedule.fee_fen, Doctor.fee_fen).join(Doctor, Doctor.id == Schedule.doctor_id)
        )

        assert all(type(d.fee_fen) is int and d.fee_fen > 0 for d in doctors)
        assert all(on_schedule == of_doctor for on_schedule, of_doctor in schedule_fees)
        fee_by_title = {(d.hospital_id, d.title): d.fee_fen for d in doctors}
        for hid in {d.hospital_id for d in doctors}:
            fees = [fee_by_title[(hid, title)] for title in DoctorTitle]
            assert fees == sorted(fees, reverse=True), "a chief physician costs more than a resident"

    async def test_schedules_cover_every_day_in_every_hospital(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        expected = {TODAY + timedelta(days=i) for i in range(DAYS)}
        days_by_hospital: dict[int, set[date]] = defaultdict(set)
        for hid, visit_date in await _all(db, select(Schedule.hospital_id, Schedule.visit_date).distinct()):
            days_by_hospital[hid].add(visit_date)

        assert len(days_by_hospital) == len(await _all(db, select(Hospital.id)))
        assert all(days == expected for days in days_by_hospital.values())

    async def test_each_schedule_has_one_slot_per_place(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        rows = await _all(
            db,
            select(Schedule.capacity, func.count(Slot.id), func.min(Slot.number), func.max(Slot.number))
            .outerjoin(Slot, Slot.schedule_id == Schedule.id)
            .group_by(Schedule.id),
        )

        assert rows
        assert all(count == capacity and low == 1 and high == capacity for capacity, count, low, high in rows)

    async def test_schedule_times_are_aware_and_inside_the_session(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        schedules = [s for (s,) in await _all(db, select(Schedule).limit(200))]

        for s in schedules:
            assert s.starts_at.tzinfo is not None and s.release_at.tzinfo is not None
            assert s.release_at < s.starts_at < s.ends_at

    async def test_popular_experts_see_few_patients(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, _ = seeded
        rows = await _all(
            db,
            select(Hospital.name, Doctor.name, Schedule.capacity)
            .join(Doctor, Doctor.hospital_id == Hospital.id)
            .join(Schedule, Schedule.doctor_id == Doctor.id),
        )
        capacities: dict[tuple[str, str], list[int]] = defaultdict(list)
        for hospital, doctor, capacity in rows:
            capacities[(hospital, doctor)].append(capacity)

        assert {e.hospital for e in POPULAR_EXPERTS} == {hospital for hospital, _ in capacities}
        for expert in POPULAR_EXPERTS:
            sessions = capacities[(expert.hospital, expert.name)]
            assert len(sessions) >= 5
            assert all(c <= expert.capacity for c in sessions)

    async def test_a_second_run_creates_nothing(self, seeded: tuple[Database, SeedSummary]) -> None:
        db, first = seeded
        before = await _snapshot(db)

        async with db.session() as session:
            again = await seed_demo(session, today=TODAY + timedelta(days=1), random_seed=1)

        assert not again.created
        assert again == SeedSummary(
            hospitals=first.hospitals,
            departments=first.departments,
            doctors=first.doctors,
            schedules=first.schedules,
            slots=first.slots,
            created=False,
        )
        assert await _snapshot(db) == before

    async def test_the_same_seed_gives_the_same_data(
        self, seeded: tuple[Database, SeedSummary], make_database: MakeDatabase
    ) -> None:
        db, summary = seeded
        other = await make_database()
        async with other.session() as session:
            other_summary = await seed_demo(session, today=TODAY, days=DAYS)

        assert other_summary == summary
        assert await _snapshot(other) == await _snapshot(db)

    async def test_another_seed_gives_other_doctors(self, make_database: MakeDatabase) -> None:
        one, two = await make_database(), await make_database()
        async with one.session() as session:
            await seed_demo(session, today=TODAY, days=1, random_seed=1)
        async with two.session() as session:
            await seed_demo(session, today=TODAY, days=1, random_seed=2)

        first, second = await _snapshot(one), await _snapshot(two)
        assert first["hospitals"] == second["hospitals"]
        assert first["doctors"] != second["doctors"]


async def test_the_rosters_become_weekly_templates_and_only_new_days_are_released(tmp_path: Path) -> None:
    from yiyue.core.clock import HOSPITAL_TZ
    from yiyue.scheduling import service as scheduling
    from yiyue.scheduling.models import ScheduleTemplate

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'templates.db'}")
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with db.session() as session:
            await seed_demo(session, today=TODAY)
        async with db.session() as session:
            templates = await session.scalar(select(func.count()).select_from(ScheduleTemplate))
            made = await scheduling.release_from_templates(
                session, now=datetime.combine(TODAY, time(9, 0), tzinfo=HOSPITAL_TZ)
            )
        async with db.session() as session:
            new_day = TODAY + timedelta(days=14)
            rows = list(
                await session.execute(
                    select(Hospital.release_days, func.count())
                    .join(Schedule, Schedule.hospital_id == Hospital.id)
                    .where(Schedule.visit_date == new_day)
                    .group_by(Hospital.release_days)
                )
            )
        assert templates and templates > 200
        # The seeded days are never made twice; only the 14-day hospital opens one new day at its release time.
        assert made > 0 and [tuple(r) for r in rows] == [(14, made)]
    finally:
        await db.dispose()
