"""今日概览 in the browser: the day's figures and the ECharts chart of the departments."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import ConsolePage
from tests.factories import make_catalog, make_schedule, make_staff
from yiyue.core.db import Database
from yiyue.scheduling.models import Period


async def test_the_dashboard_draws_its_department_chart_without_a_console_error(tab: ConsolePage, db: Database) -> None:
    catalog = await make_catalog(db)
    admin = await make_staff(db, role="hospital_admin", catalog=catalog)
    await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=12)
    await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=8, doctor=catalog.other_doctor)

    await tab.login(admin.username)

    page = tab.page
    await expect(page.locator("h1.page-title")).to_contain_text("今日概览")
    chart = page.locator("#dept-chart")
    await expect(chart.locator("canvas")).to_have_count(1)
    box = await chart.locator("canvas").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 100
    assert await page.evaluate("() => !!echarts.getInstanceByDom(document.getElementById('dept-chart'))")
    assert await page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('dept-chart')).getOption().yAxis[0].data"
    ) == ["心血管内科"]
    await expect(page.locator(".dash-stats")).to_contain_text("0 / 20")
    await expect(page.locator("table.upcoming tbody tr")).to_have_count(2)
