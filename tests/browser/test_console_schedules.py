"""排班与放号 in the browser: 停诊 of a booked session."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from tests.browser.conftest import ConsolePage
from tests.conftest import login_via
from tests.factories import book_appointment, make_catalog, make_schedule, make_staff
from yiyue.core.db import Database


async def test_suspending_a_session_from_the_schedules_page_suspends_its_patients_appointments(
    tab: ConsolePage, db: Database, api: httpx.AsyncClient
) -> None:
    catalog = await make_catalog(db)
    admin = await make_staff(db, role="hospital_admin", catalog=catalog)
    schedule = await make_schedule(db, catalog, days_ahead=1)
    patients = [await login_via(api, f"o-suspend-{n}") for n in range(2)]
    booked = [
        await book_appointment(api, auth, schedule.id, name=name)
        for auth, name in zip(patients, ("张三丰", "李四"), strict=True)
    ]
    page = tab.page
    asked = tab.accept_confirms()
    await tab.login(admin.username)

    await page.get_by_role("link", name="排班与放号").click()
    row = page.locator("table.schedule-grid tbody tr", has_text=catalog.doctor.name)
    await expect(row).to_contain_text("2 / 10")
    await row.get_by_role("link", name="管理").click()
    await expect(page.locator("h1.page-title")).to_contain_text("2026-03-03 周二 上午")
    await page.get_by_label("停诊原因").fill("医生临时外出会诊")
    await page.get_by_role("button", name="停诊", exact=True).click()

    await expect(page.locator("#toast")).to_contain_text("已停诊，2个预约已取消并通知患者")
    await expect(page.locator("h1.page-title .badge")).to_have_text("停诊")
    assert len(asked) == 1 and "已约的 2 个预约将被取消" in asked[0]
    for auth, appointment in zip(patients, booked, strict=True):
        seen = await api.get(f"/api/v1/appointments/{appointment['id']}", headers=auth)
        assert seen.status_code == 200, seen.text
        assert seen.json()["status"] == "suspended"
    await page.get_by_role("link", name="返回排班列表").click()
    await expect(row.locator("td").nth(7)).to_have_text("停诊")
