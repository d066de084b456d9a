"""导出报表 in the browser: the file downloads and opens in a spreadsheet reader."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import httpx
from openpyxl import load_workbook
from playwright.async_api import expect

from tests.browser.conftest import ConsolePage
from tests.conftest import login_via
from tests.factories import book_appointment, make_catalog, make_schedule, make_staff
from yiyue.core.db import Database
from yiyue.scheduling.models import Period

HEADER = [
    "预约编号",
    "就诊日期",
    "星期",
    "时段",
    "开始时间",
    "结束时间",
    "科室",
    "医生",
    "职称",
    "就诊序号",
    "患者",
    "性别",
    "状态",
    "渠道",
    "挂号费（元）",
    "预约时间",
    "取消时间",
]


async def test_the_days_appointments_download_as_an_excel_file_with_the_patients_masked(
    tab: ConsolePage, db: Database, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    catalog = await make_catalog(db)
    admin = await make_staff(db, role="hospital_admin", catalog=catalog)
    today = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
    tomorrow = await make_schedule(db, catalog, days_ahead=1)
    first = await book_appointment(api, await login_via(api, "o-export-1"), today.id, name="张三丰")
    second = await book_appointment(api, await login_via(api, "o-export-2"), today.id, name="欧阳明月")
    await book_appointment(api, await login_via(api, "o-export-3"), tomorrow.id, name="不在今天")
    page = tab.page
    await tab.login(admin.username)

    await page.get_by_role("link", name="导出报表").click()
    card = page.locator("section.export-card", has_text="预约明细")
    await expect(card.locator("input[name=date_from]")).to_have_value("2026-03-02")
    async with page.expect_download() as waiting:
        await card.get_by_role("button", name="导出 Excel").click()
    download = await waiting.value
    await expect(card.locator(".download-state")).to_have_text("已生成，共 2 行")

    assert download.suggested_filename == "预约明细_2026-03-02.xlsx"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    book = load_workbook(saved, read_only=True)
    sheet = book["预约明细"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    assert rows[0] == HEADER
    assert len(rows) == 3
    by_id = {row[0]: row for row in rows[1:]}
    assert set(by_id) == {first["id"], second["id"]}
    for appointment, masked in ((first, "张*丰"), (second, "欧**月")):
        row = by_id[appointment["id"]]
        assert row[1] == dt.datetime(2026, 3, 2)  # a real date in the cell (openpyxl reads it back as datetime)
        assert row[2:4] == ["周一", "下午"]
        assert row[6:9] == ["心血管内科", "李明华", "主任医师"]
        assert row[9] == appointment["queue_number"]
        assert row[10] == masked
        assert row[12:14] == ["待就诊", "线上预约"]
        assert Decimal(str(row[14])) == Decimal("50")
    text = " ".join(str(cell) for row in rows for cell in row)
    assert "张三丰" not in text and "欧阳明月" not in text and "不在今天" not in text
