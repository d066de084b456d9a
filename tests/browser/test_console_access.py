"""What a role or a hospital may not open, asked by URL in the browser: the console answers with its
403 or 404 page, never another hospital's data."""

from __future__ import annotations

from tests.browser.conftest import ConsolePage
from tests.factories import make_catalog, make_schedule, make_staff
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor


async def test_a_front_desk_account_cannot_open_the_weekly_templates(tab: ConsolePage, db: Database) -> None:
    catalog = await make_catalog(db)
    desk = await make_staff(db, role="front_desk", catalog=catalog)
    await tab.login(desk.username)

    assert "排班模板" not in await tab.page.inner_text("aside.sidebar")
    for path in ("/admin/templates", f"/admin/templates/{catalog.doctor.id}"):
        response = await tab.page.goto(tab.base + path)
        assert response is not None and response.status == 403, path
        text = await tab.text()
        assert "无权访问" in text and "当前角色无权访问该页面" in text
        assert catalog.doctor.name not in text


async def test_an_administrator_cannot_open_another_hospitals_doctor_or_schedule_by_url(
    tab: ConsolePage, db: Database
) -> None:
    mine = await make_catalog(db, name="第一人民医院")
    theirs = await make_catalog(db, name="第二人民医院")
    async with db.session() as session:  # a name only the other hospital has
        doctor = await session.get_one(Doctor, theirs.doctor.id)
        doctor.name = "赵别院"
    their_schedule = await make_schedule(db, theirs, days_ahead=1)
    admin = await make_staff(db, role="hospital_admin", catalog=mine)
    await tab.login(admin.username)

    for path in (f"/admin/doctors/{theirs.doctor.id}", f"/admin/schedules/{their_schedule.id}"):
        response = await tab.page.goto(tab.base + path)
        assert response is not None and response.status == 404, path
        text = await tab.text()
        assert "未找到" in text
        assert "赵别院" not in text and "第二人民医院" not in text

    # their own are there, so the 404 is about the hospital and not the address
    response = await tab.page.goto(tab.base + f"/admin/doctors/{mine.doctor.id}")
    assert response is not None and response.status == 200
