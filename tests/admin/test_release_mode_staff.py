"""A session's own release mode (抽签放号 / 先到先得 / the hospital's) set by staff: through the staff API and
the console's schedule pages, only before the session is released (issue 9 A)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleLogin
from tests.factories import Catalog, make_catalog, make_schedule, make_staff, staff_login
from yiyue.core.db import Database
from yiyue.scheduling.models import Schedule


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


async def mode_of(db: Database, schedule_id: int) -> str | None:
    async with db.session() as session:
        return await session.scalar(select(Schedule.release_mode).where(Schedule.id == schedule_id))


class TestStaffApi:
    async def test_the_mode_is_set_before_release_and_refused_after(self, client, db, catalog):
        admin = await make_staff(db, catalog=catalog)
        auth = await staff_login(client, admin.username)
        unreleased = await make_schedule(db, catalog, days_ahead=8)
        released = await make_schedule(db, catalog, days_ahead=1)

        window = await client.put(
            f"/api/v1/staff/schedules/{unreleased.id}/release-mode", json={"release_mode": "window"}, headers=auth
        )
        follow = await client.put(
            f"/api/v1/staff/schedules/{unreleased.id}/release-mode", json={"release_mode": None}, headers=auth
        )
        late = await client.put(
            f"/api/v1/staff/schedules/{released.id}/release-mode", json={"release_mode": "window"}, headers=auth
        )
        bad = await client.put(
            f"/api/v1/staff/schedules/{unreleased.id}/release-mode", json={"release_mode": "lottery"}, headers=auth
        )

        assert window.status_code == 200 and window.json()["release_mode"] == "window"
        assert follow.status_code == 200 and follow.json()["release_mode"] is None
        assert (late.status_code, late.json()["code"]) == (409, "RELEASE_MODE_LOCKED")
        assert bad.status_code == 422
        assert await mode_of(db, unreleased.id) is None

    async def test_a_new_session_may_be_released_by_draw(self, client, db, catalog, clock):
        admin = await make_staff(db, catalog=catalog)
        auth = await staff_login(client, admin.username)
        day = (clock.now() + timedelta(days=3)).date().isoformat()

        answer = await client.post(
            "/api/v1/staff/schedules",
            json={
                "doctor_id": catalog.doctor.id,
                "visit_date": day,
                "period": "evening",
                "capacity": 5,
                "release_mode": "window",
            },
            headers=auth,
        )

        assert answer.status_code in (200, 201), answer.text
        assert answer.json()["release_mode"] == "window"


class TestConsole:
    async def test_the_schedule_page_sets_the_mode_before_release(self, db, console: ConsoleLogin, catalog):
        admin = await make_staff(db, catalog=catalog)
        browser = await console(admin.username)
        schedule = await make_schedule(db, catalog, days_ahead=8)
        page = await browser.get(f"/admin/schedules/{schedule.id}")
        assert "放号方式" in page.text and "跟随医院设置" in page.text

        answer = await browser.post(f"/admin/schedules/{schedule.id}/release-mode", {"release_mode": "window"})

        assert answer.status_code == 303, answer.text
        assert await mode_of(db, schedule.id) == "window"
        shown = await browser.get(answer.headers["location"])
        assert "抽签放号（" in shown.text and "结束后统一抽签" in shown.text

    async def test_a_released_session_shows_the_mode_without_the_form(self, db, console: ConsoleLogin, catalog):
        admin = await make_staff(db, catalog=catalog)
        browser = await console(admin.username)
        schedule = await make_schedule(db, catalog, days_ahead=1)

        page = await browser.get(f"/admin/schedules/{schedule.id}")
        refused = await browser.post(f"/admin/schedules/{schedule.id}/release-mode", {"release_mode": "window"})

        assert "先到先得" in page.text and "保存放号方式" not in page.text
        assert refused.status_code == 422 and "不能再修改放号方式" in refused.text
