"""导诊签到 in the browser: the front desk finds a patient's appointment by the 8-digit check-in code and
checks it in. Check-in opens 60 minutes before a session starts: the patients book in the morning, the
clock then stands at 13:00, half an hour before the afternoon session."""

from __future__ import annotations

from datetime import time

import httpx
from playwright.async_api import expect

from tests.browser.conftest import ConsolePage
from tests.conftest import NOW, login_via
from tests.factories import Catalog, book_appointment, make_catalog, make_schedule, make_staff
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.clock import FrozenClock, at_local, local_today
from yiyue.core.db import Database
from yiyue.scheduling.models import Period


async def _afternoon_with_two_patients(
    db: Database, api: httpx.AsyncClient, frozen: FrozenClock
) -> tuple[Catalog, StaffUser, dict[str, object], dict[str, object]]:
    catalog = await make_catalog(db)
    desk = await make_staff(db, role="front_desk", catalog=catalog, display_name="导诊台小王")
    afternoon = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
    arriving = await book_appointment(api, await login_via(api, "o-desk-1"), afternoon.id, name="张三丰")
    waiting = await book_appointment(api, await login_via(api, "o-desk-2"), afternoon.id, name="李四")
    frozen.set(at_local(local_today(NOW), time(13, 0)))
    return catalog, desk, arriving, waiting


async def test_the_front_desk_checks_a_patient_in_by_the_code_typed_in_the_code_box(
    tab: ConsolePage, db: Database, api: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    catalog, desk, arriving, waiting = await _afternoon_with_two_patients(db, api, frozen)
    page = tab.page
    await tab.login(desk.username)

    await page.get_by_role("link", name="导诊签到").click()
    row = page.locator(f"#appt-{arriving['id']}")
    await expect(row).to_contain_text("待就诊")
    code = page.get_by_label("签到码")
    await expect(code).to_be_focused()  # the scanner types straight into it
    await code.fill(str(arriving["check_in_code"]))
    await code.press("Enter")

    result = page.locator("#checkin-result")
    await expect(result).to_contain_text("✓ 签到成功")
    await expect(result).to_contain_text("张*丰")
    await expect(result).to_contain_text(f"{arriving['queue_number']}号")
    await expect(result).to_contain_text(catalog.doctor.name)
    await expect(code).to_have_value("")  # ready for the next patient
    # the day list refreshes itself: the patient is 已签到, the other one still waits
    await expect(row.locator(".badge")).to_have_text("已签到")
    await expect(page.locator(f"#appt-{waiting['id']} .badge")).to_have_text("待就诊")
    await expect(page.locator("tr.group")).to_contain_text("待就诊 1")
    await expect(page.locator("tr.group")).to_contain_text("已签到 1")
    await expect(page.locator(".day-stats")).to_contain_text("已签到 1")  # the day's totals too
    seen = await tab.text()
    assert "张三丰" not in seen and "李四" not in seen  # names masked at the desk


async def test_the_front_desk_searches_the_code_and_checks_the_patient_in_from_the_row(
    tab: ConsolePage, db: Database, api: httpx.AsyncClient, frozen: FrozenClock
) -> None:
    _, desk, arriving, waiting = await _afternoon_with_two_patients(db, api, frozen)
    page = tab.page
    await tab.login(desk.username)
    await tab.open("/admin/frontdesk")

    await page.locator("form.filters input[name=q]").fill(str(arriving["check_in_code"]))
    await page.locator("form.filters").get_by_role("button", name="查询").click()
    rows = page.locator("tr.appt")
    await expect(rows).to_have_count(1)
    row = page.locator(f"#appt-{arriving['id']}")
    await row.get_by_role("button", name="签到").click()

    await expect(row.locator(".badge")).to_have_text("已签到")
    await expect(row.get_by_role("button", name="完成就诊")).to_be_visible()
    await expect(page.locator("#toast")).to_contain_text(f"已签到：张*丰（{arriving['queue_number']}号）")
    await expect(page.locator("tr.group")).to_contain_text("已签到 1")
    await expect(page.locator(".day-stats")).to_contain_text("已签到 1")  # the day's totals too
    await tab.open("/admin/frontdesk")  # as stored, not just as swapped in
    await expect(page.locator(f"#appt-{arriving['id']} .badge")).to_have_text("已签到")
    await expect(page.locator(f"#appt-{waiting['id']} .badge")).to_have_text("待就诊")
