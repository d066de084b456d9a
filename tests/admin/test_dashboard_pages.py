"""今日概览 in the console: the day's numbers as booked and checked in, the department chart, the next
sessions; a doctor's own day; the platform's row per hospital."""

from __future__ import annotations

import json
import re
from datetime import time, timedelta

import httpx
import pytest

from tests.admin.conftest import ConsoleLogin
from tests.conftest import NOW, Login
from tests.factories import BusyDay, make_busy_day, make_catalog, make_staff
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database

ECHARTS = "/admin/static/vendor/echarts-5.6.0.min.js"


@pytest.fixture
async def day(client: httpx.AsyncClient, db: Database, clock: FrozenClock, login: Login) -> BusyDay:
    return await make_busy_day(client, db, clock, login)


def stat(page: str, label: str) -> str:
    """The value of the stat card ``label``, its small print included, as text."""
    found = re.search(rf'<div class="label">{label}</div><div class="value[^"]*">(.*?)</div>', page, re.S)
    assert found, f"no stat card {label}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def chart_data(page: str) -> dict[str, list[object]]:
    found = re.search(r'<script type="application/json" id="dept-chart-data">(.*?)</script>', page, re.S)
    assert found, "no chart data"
    data: dict[str, list[object]] = json.loads(found.group(1))
    return data


async def test_the_hospital_admin_sees_the_day_as_it_was_booked_and_checked_in(
    console: ConsoleLogin, day: BusyDay
) -> None:
    browser = await console(day.admin.username)

    page = (await browser.get("/admin/")).text

    assert "今日概览" in page and "2026-03-02 周一" in page
    assert stat(page, "出诊排班") == "3 停诊 1"
    assert stat(page, "已预约 / 号源") == "4 / 9"
    assert "线上 4/8 · 现场 0/1" in page
    assert stat(page, "已签到") == "3"
    assert stat(page, "已完成就诊") == "1"
    assert stat(page, "爽约") == "1"
    assert stat(page, "今日退号") == "1"
    assert chart_data(page) == {"names": ["心血管内科"], "booked": [4], "capacity": [9]}
    assert f'<script src="{ECHARTS}" defer></script>' in page
    assert "当日出诊均已结束" in page  # 17:45: both afternoons are over, the evening is suspended


async def test_the_next_sessions_are_listed_while_the_day_goes_on(
    console: ConsoleLogin, day: BusyDay, clock: FrozenClock
) -> None:
    browser = await console(day.admin.username)
    clock.set(at_local(NOW.date(), time(14, 0)))

    page = (await browser.get("/admin/")).text

    table = page[page.index("接下来的出诊") :]
    assert table.index("李明华") < table.index("王芳")
    assert "13:30–17:30" in table and "下午" in table and "进行中" in table
    assert "3/5" in table and "1/4" in table


async def test_another_day_can_be_opened(console: ConsoleLogin, day: BusyDay) -> None:
    browser = await console(day.admin.username)
    tomorrow = NOW.date() + timedelta(days=1)

    page = (await browser.get(f"/admin/?date={tomorrow.isoformat()}")).text

    assert "每日概览" in page and "2026-03-03 周二" in page and "回到今天" in page
    assert stat(page, "已预约 / 号源") == "1 / 10"
    assert stat(page, "当日退号") == "0"


async def test_a_doctor_sees_their_own_day(console: ConsoleLogin, db: Database, day: BusyDay) -> None:
    await make_staff(db, role="doctor", catalog=day.catalog, username="dr.li")
    browser = await console("dr.li")

    page = (await browser.get("/admin/")).text

    assert "本人出诊" in page
    assert stat(page, "出诊排班") == "2 停诊 1"
    assert stat(page, "已预约 / 号源") == "3 / 5"
    assert stat(page, "今日退号") == "0"
    assert 'href="/admin/exports"' not in page  # doctors do not export


async def test_the_front_desk_can_go_on_to_the_exports(console: ConsoleLogin, db: Database, day: BusyDay) -> None:
    await make_staff(db, role="front_desk", catalog=day.catalog, username="desk.wang")
    browser = await console("desk.wang")

    page = (await browser.get("/admin/")).text

    assert stat(page, "已签到") == "3" and 'href="/admin/exports"' in page


async def test_the_platform_sees_one_row_per_hospital_and_can_open_one(
    console: ConsoleLogin, db: Database, day: BusyDay
) -> None:
    await make_catalog(db, name="安静医院", booking_open=False)
    await make_staff(db, role="platform_admin", username="platform.zhou")
    browser = await console("platform.zhou")

    page = (await browser.get("/admin/")).text

    assert ECHARTS not in page
    busy = page[page.index("测试人民医院") :]
    assert "4 / 9" in busy.split("</tr>")[0] and "开放" in busy.split("</tr>")[0]
    quiet = page[page.index("安静医院") :].split("</tr>")[0]
    assert "已关闭" in quiet and "0 / 0" in quiet
    link = f"hospital_id={day.catalog.hospital.id}"
    assert link in page

    one = (await browser.get(f"/admin/?{link}")).text

    assert "← 全部医院" in one and stat(one, "已预约 / 号源") == "4 / 9"


async def test_an_empty_day_says_so(console: ConsoleLogin, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_staff(db, catalog=catalog, username="admin.li")
    browser = await console("admin.li")

    page = (await browser.get("/admin/")).text

    assert stat(page, "出诊排班") == "0 停诊 0" and "当日没有出诊安排" in page
    assert ECHARTS not in page or "dept-chart-data" not in page


async def test_another_hospitals_day_is_not_found(console: ConsoleLogin, db: Database, day: BusyDay) -> None:
    other = await make_catalog(db, name="别家医院")
    browser = await console(day.admin.username)

    answer = await browser.get(f"/admin/?hospital_id={other.hospital.id}")

    assert answer.status_code == 404 and "医院不存在" in answer.text


async def test_the_chart_library_is_loaded_only_on_the_overview(console: ConsoleLogin, day: BusyDay) -> None:
    browser = await console(day.admin.username)

    assert ECHARTS not in (await browser.get("/admin/audit")).text
