"""Logging in to the console in a real browser, and what each role may open."""

from __future__ import annotations

from tests.browser.conftest import ConsolePage
from tests.factories import make_catalog, make_staff
from yiyue.core.db import Database


async def test_a_hospital_administrator_logs_in_and_sees_the_menu_of_the_role(tab: ConsolePage, db: Database) -> None:
    catalog = await make_catalog(db)
    staff = await make_staff(db, role="hospital_admin", catalog=catalog)

    await tab.login(staff.username)

    assert tab.page.url.endswith("/admin/")
    menu = await tab.page.inner_text("aside.sidebar")
    for label in ("今日概览", "科室管理", "医生管理", "排班模板", "导诊签到", "工作人员", "操作日志"):
        assert label in menu
    assert "医院管理" not in menu  # the platform's page
    assert catalog.hospital.name in await tab.page.inner_text("header.topbar")


async def test_a_wrong_password_keeps_the_clerk_on_the_login_form(tab: ConsolePage, db: Database) -> None:
    staff = await make_staff(db, role="front_desk", catalog=await make_catalog(db))

    await tab.login(staff.username, password="not-the-password")

    assert "/admin/login" in tab.page.url
    assert "用户名或密码错误" in await tab.text()


async def test_logging_out_returns_to_the_login_form_and_the_pages_stay_closed(tab: ConsolePage, db: Database) -> None:
    staff = await make_staff(db, role="hospital_admin", catalog=await make_catalog(db))
    await tab.login(staff.username)

    async with tab.page.expect_navigation():
        await tab.page.click("header.topbar button:has-text('退出')")
    await tab.open("/admin/")

    assert "/admin/login" in tab.page.url


async def test_a_front_desk_account_cannot_open_the_staff_accounts_page(tab: ConsolePage, db: Database) -> None:
    staff = await make_staff(db, role="front_desk", catalog=await make_catalog(db))
    await tab.login(staff.username)

    response = await tab.page.goto(tab.base + "/admin/staff")

    assert response is not None and response.status == 403
    assert "无权访问" in await tab.text()
