"""Which slots are the members' share (会员预留号源) as sessions are made and changed: the last
floor(online numbers × member_share_percent / 100) online numbers, never a number kept on site, for a
one-off session, for the release from weekly templates and after the hospital changes the numbers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.factories import Catalog, make_catalog, make_schedule, make_staff
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.db import Database
from yiyue.scheduling import rules
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Schedule, ScheduleTemplate, Slot
from yiyue.scheduling.staff_service import change_numbers


async def flags(db: Database, schedule_id: int) -> dict[int, tuple[str, bool]]:
    async with db.session() as session:
        slots = await session.scalars(select(Slot).where(Slot.schedule_id == schedule_id).order_by(Slot.number))
        return {s.number: (s.status, s.member_only) for s in slots}


def members(found: dict[int, tuple[str, bool]]) -> list[int]:
    return [n for n, (_, member_only) in found.items() if member_only]


class TestTheRule:
    @pytest.mark.parametrize(
        ("online", "percent", "reserved"),
        [(10, 20, {9, 10}), (10, 25, {9, 10}), (3, 30, set()), (4, 50, {3, 4}), (5, 0, set()), (2, 100, {1, 2})],
    )
    def test_the_last_online_numbers_rounded_down(self, online: int, percent: int, reserved: set[int]) -> None:
        assert rules.member_share(range(1, online + 1), percent) == reserved

    def test_numbers_kept_on_site_are_never_the_share(self) -> None:
        # 1-6 online, 7-8 on site, 9-10 appended online later: the share is the last online numbers.
        assert rules.member_share([1, 2, 3, 4, 5, 6, 9, 10], 25) == {9, 10}

    def test_the_share_opens_hours_before_the_session(self) -> None:
        starts = datetime(2026, 3, 9, 8, 0, tzinfo=HOSPITAL_TZ)
        assert rules.member_share_opens_at(starts, opens_hours=24) == starts - timedelta(hours=24)


async def test_a_session_keeps_its_share_before_the_numbers_kept_on_site(db: Database) -> None:
    catalog = await make_catalog(db, member_share_percent=25)
    async with db.session() as session:
        hospital = await session.get_one(type(catalog.hospital), catalog.hospital.id)
        schedule = await scheduling.create_schedule(
            session,
            hospital=hospital,
            doctor=catalog.doctor,
            visit_date=(NOW + timedelta(days=2)).date(),
            period="morning",  # type: ignore[arg-type]
            capacity=10,
            onsite_quota=2,
        )
    found = await flags(db, schedule.id)
    assert members(found) == [7, 8]  # 8 online numbers, 25% of them
    assert [n for n, (status, _) in found.items() if status == "onsite"] == [9, 10]


async def test_the_release_from_templates_keeps_the_share(db: Database) -> None:
    catalog = await make_catalog(db, member_share_percent=20)
    async with db.session() as session:
        session.add(
            ScheduleTemplate(
                hospital_id=catalog.hospital.id, doctor_id=catalog.doctor.id, weekday=0, period="morning", capacity=10
            )
        )
    async with db.session() as session:
        assert await scheduling.release_from_templates(session, now=NOW) >= 1
        schedule = await session.scalar(select(Schedule).order_by(Schedule.visit_date))
    assert schedule is not None
    assert members(await flags(db, schedule.id)) == [9, 10]


class TestChangedNumbers:
    @pytest.fixture
    async def catalog(self, db: Database) -> Catalog:
        return await make_catalog(db, member_share_percent=50)

    async def test_appended_numbers_carry_the_share_to_the_end(self, db: Database, catalog: Catalog) -> None:
        schedule = await make_schedule(db, catalog, capacity=4)  # released
        admin = await make_staff(db, catalog=catalog)
        assert members(await flags(db, schedule.id)) == [3, 4]

        async with db.session() as session:
            await change_numbers(session, staff=admin, schedule_id=schedule.id, capacity=8, onsite_quota=None, now=NOW)

        assert members(await flags(db, schedule.id)) == [5, 6, 7, 8]

    async def test_before_release_the_share_is_laid_out_again(self, db: Database, catalog: Catalog) -> None:
        schedule = await make_schedule(db, catalog, capacity=4, days_ahead=9)  # not yet released
        admin = await make_staff(db, catalog=catalog)

        async with db.session() as session:
            await change_numbers(session, staff=admin, schedule_id=schedule.id, capacity=6, onsite_quota=2, now=NOW)

        found = await flags(db, schedule.id)
        assert members(found) == [3, 4] and [n for n, (s, _) in found.items() if s == "onsite"] == [5, 6]
