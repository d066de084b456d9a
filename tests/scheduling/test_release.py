"""放号 from weekly templates: at the hospital's release time the day entering the booking window gets
its schedules, once; before that time it does not."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import httpx
from sqlalchemy import delete, select

from tests.factories import make_catalog
from yiyue.core.clock import HOSPITAL_TZ, local_today
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleTemplate, Slot

MONDAY_0759 = datetime(2026, 3, 2, 7, 59, tzinfo=HOSPITAL_TZ)


async def add_templates(db: Database, hospital_id: int, doctor_id: int, *weekdays: int) -> None:
    async with db.session() as session:
        for weekday in weekdays:
            session.add(
                ScheduleTemplate(
                    hospital_id=hospital_id,
                    doctor_id=doctor_id,
                    weekday=weekday,
                    period="morning",
                    capacity=12,
                    active=True,
                )
            )


async def release(db: Database, now: datetime) -> int:
    async with db.session() as session:
        return await scheduling.release_from_templates(session, now=now)


async def dates(db: Database) -> list[str]:
    async with db.session() as session:
        return [s.visit_date.isoformat() for s in await session.scalars(select(Schedule).order_by(Schedule.visit_date))]


async def test_the_day_entering_the_window_is_released_at_the_release_time(
    db: Database, client: httpx.AsyncClient
) -> None:
    catalog = await make_catalog(db, release_days=7, release_time=time(8, 0))
    await add_templates(db, catalog.hospital.id, catalog.doctor.id, 0)  # Monday mornings

    before = await release(db, MONDAY_0759)  # next Monday (2026-03-09) opens at 08:00 today
    at_release = await release(db, MONDAY_0759 + timedelta(minutes=1))
    again = await release(db, MONDAY_0759 + timedelta(minutes=2))

    assert (before, at_release, again) == (0, 1, 0)
    assert await dates(db) == ["2026-03-09"]
    async with db.session() as session:
        schedule = await session.scalar(select(Schedule))
        assert schedule is not None and schedule.capacity == 12
        assert schedule.release_at == datetime(2026, 3, 2, 8, 0, tzinfo=HOSPITAL_TZ)
    slots = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()
    assert slots["total"] == 12 and slots["schedule"]["released"] is True


async def test_days_the_job_missed_are_caught_up(db: Database) -> None:
    catalog = await make_catalog(db, release_days=7, release_time=time(8, 0))
    await add_templates(db, catalog.hospital.id, catalog.doctor.id, *range(7))

    made = await release(db, MONDAY_0759 + timedelta(hours=2))

    first = local_today(MONDAY_0759) + timedelta(days=1)
    assert made == 7 and await dates(db) == [(first + timedelta(days=i)).isoformat() for i in range(7)]


async def test_inactive_templates_and_other_hospitals_are_left_alone(db: Database) -> None:
    catalog = await make_catalog(db)
    other = await make_catalog(db, name="别家医院")
    await add_templates(db, other.hospital.id, other.doctor.id, 0)
    async with db.session() as session:
        session.add(
            ScheduleTemplate(
                hospital_id=catalog.hospital.id,
                doctor_id=catalog.doctor.id,
                weekday=0,
                period="morning",
                capacity=9,
                active=False,
            )
        )

    await release(db, MONDAY_0759 + timedelta(hours=1))

    async with db.session() as session:
        hospitals = {s.hospital_id for s in await session.scalars(select(Schedule))}
    assert hospitals == {other.hospital.id}


async def test_a_day_released_before_is_not_made_again(db: Database) -> None:
    catalog = await make_catalog(db, release_days=7, release_time=time(8, 0))
    await add_templates(db, catalog.hospital.id, catalog.doctor.id, 0)
    assert await release(db, MONDAY_0759 + timedelta(minutes=1)) == 1
    async with db.session() as session:  # the hospital takes that session off the roster
        await session.execute(delete(Slot))
        await session.execute(delete(Schedule))

    assert await release(db, MONDAY_0759 + timedelta(hours=3)) == 0
    async with db.session() as session:
        hospital = await session.get_one(Hospital, catalog.hospital.id)
    assert hospital.released_through == local_today(MONDAY_0759) + timedelta(days=7)
