"""导出 in the console: a month at most of the hospital's appointments (hospital admin, front desk) or
schedules (hospital admin) as a real .xlsx or an Excel-friendly CSV, names masked, every export audited."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import httpx
import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.conftest import NOW, Login
from tests.factories import BusyDay, make_busy_day, make_catalog, make_staff
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database

TODAY = NOW.date()
APPOINTMENT_HEADER = [
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


@pytest.fixture
async def day(client: httpx.AsyncClient, db: Database, clock: FrozenClock, login: Login) -> BusyDay:
    return await make_busy_day(client, db, clock, login)


@pytest.fixture
async def admin(console: ConsoleLogin, day: BusyDay) -> ConsoleClient:
    return await console(day.admin.username)


def workbook_rows(content: bytes) -> tuple[list[object], list[list[object]], object]:
    book = load_workbook(io.BytesIO(content))
    sheet = book.active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:], sheet


async def exports_audited(db: Database) -> list[AuditLog]:
    async with db.session() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.action.in_(["appointment.export", "schedule.export"])).order_by(AuditLog.id)
        )
        return list(rows)


async def test_the_appointments_of_a_day_download_as_a_real_workbook(
    admin: ConsoleClient, day: BusyDay, db: Database
) -> None:
    answer = await admin.get(f"/admin/exports/appointments.xlsx?date_from={TODAY}&date_to={TODAY}")

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    disposition = answer.headers["content-disposition"]
    assert (
        disposition.startswith('attachment; filename="appointments_2026-03-02.xlsx"')
        and "filename*=UTF-8''" in disposition
    )
    header, rows, sheet = workbook_rows(answer.content)
    assert header == APPOINTMENT_HEADER
    ids = day.appointments
    assert [r[0] for r in rows] == [ids["A"], ids["B"], ids["C"], ids["D"], ids["F"], ids["G"]]
    first = dict(zip(header, rows[0], strict=True))
    assert first["就诊日期"] == datetime(2026, 3, 2)  # a date cell, not text
    assert first["星期"] == "周一" and first["时段"] == "下午"
    assert first["开始时间"] == time(13, 30)
    assert first["科室"] == "心血管内科" and first["医生"] == "李明华" and first["职称"] == "主任医师"
    assert first["就诊序号"] == 1 and first["患者"] == "张*丰" and first["性别"] in ("男", "女")
    assert first["状态"] == "已就诊" and first["渠道"] == "线上预约"
    assert Decimal(str(first["挂号费（元）"])) == Decimal("50")
    assert first["预约时间"] == datetime(2026, 3, 2, 9, 0)  # hospital local time
    statuses = [r[12] for r in rows]
    assert statuses == ["已就诊", "已签到", "爽约", "已签到", "已取消", "已停诊"]
    cancelled = dict(zip(header, rows[4], strict=True))
    assert cancelled["取消时间"] == datetime(2026, 3, 2, 9, 0)
    assert sheet.column_dimensions["G"].width >= 16
    text = answer.content.decode("latin-1")
    assert "张三丰" not in text and "13812345678" not in text
    [row] = await exports_audited(db)
    assert row.actor == f"staff:{day.admin.id}" and row.hospital_id == day.catalog.hospital.id
    assert row.detail["format"] == "xlsx" and row.detail["rows"] == 6
    assert row.detail["filters"]["date_from"] == "2026-03-02"


async def test_the_csv_is_utf8_with_a_bom_and_has_the_same_rows(admin: ConsoleClient, day: BusyDay) -> None:
    answer = await admin.get(f"/admin/exports/appointments.csv?date_from={TODAY}&date_to={TODAY}")

    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == APPOINTMENT_HEADER and len(rows) == 7
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["就诊日期"] == "2026-03-02" and first["开始时间"] == "13:30" and first["挂号费（元）"] == "50.00"
    assert first["患者"] == "张*丰" and first["预约时间"] == "2026-03-02 09:00" and first["取消时间"] == ""
    assert "张三丰" not in answer.content.decode("utf-8-sig")
    assert answer.content.endswith(b"\r\n")


async def test_the_filters_narrow_the_rows(admin: ConsoleClient, day: BusyDay) -> None:
    tomorrow = TODAY + timedelta(days=1)

    async def ids(query: str) -> list[int]:
        answer = await admin.get(f"/admin/exports/appointments.csv?{query}")
        assert answer.status_code == 200, answer.text
        return [int(r[0]) for r in list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))[1:]]

    a = day.appointments
    assert await ids(f"date_from={TODAY}&date_to={tomorrow}&doctor_id={day.catalog.other_doctor.id}") == [
        a["D"],
        a["F"],
    ]
    assert await ids(f"date_from={TODAY}&date_to={tomorrow}&status=checked_in") == [a["B"], a["D"]]
    assert await ids(f"date_from={tomorrow}&date_to={tomorrow}") == [a["E"]]
    assert await ids(f"date_from={TODAY}&department_id={day.catalog.parent.id}&status=no_show") == [a["C"]]


async def test_a_range_longer_than_31_days_or_upside_down_is_refused(admin: ConsoleClient, day: BusyDay) -> None:
    too_long = await admin.get(
        f"/admin/exports/appointments.xlsx?date_from={TODAY}&date_to={TODAY + timedelta(days=31)}"
    )
    upside_down = await admin.get(f"/admin/exports/schedules.csv?date_from={TODAY}&date_to={TODAY - timedelta(days=1)}")
    as_htmx = await admin.htmx("GET", f"/admin/exports/appointments.csv?date_from={TODAY}&date_to=2026-12-31")
    month = await admin.get(f"/admin/exports/appointments.xlsx?date_from={TODAY}&date_to={TODAY + timedelta(days=30)}")

    assert too_long.status_code == 422 and "不能超过31天" in too_long.text
    assert upside_down.status_code == 422 and "开始日期不能晚于结束日期" in upside_down.text
    assert as_htmx.status_code == 422 and 'class="toast error"' in as_htmx.text  # the page's download script shows it
    assert month.status_code == 200


async def test_another_hospitals_department_or_doctor_is_not_found(
    admin: ConsoleClient, day: BusyDay, db: Database
) -> None:
    other = await make_catalog(db, name="别家医院")

    department = await admin.get(f"/admin/exports/appointments.csv?department_id={other.clinic.id}")
    doctor = await admin.get(f"/admin/exports/appointments.csv?doctor_id={other.doctor.id}")

    assert department.status_code == 404 and "科室不存在" in department.text
    assert doctor.status_code == 404 and "医生不存在" in doctor.text
    assert await exports_audited(db) == []


async def test_the_schedules_download_with_their_capacity_and_bookings(
    admin: ConsoleClient, day: BusyDay, db: Database
) -> None:
    answer = await admin.get(f"/admin/exports/schedules.xlsx?date_from={TODAY}&date_to={TODAY + timedelta(days=6)}")

    assert answer.status_code == 200, answer.text
    header, rows, _ = workbook_rows(answer.content)
    assert header[:9] == ["出诊日期", "星期", "时段", "开始时间", "结束时间", "科室", "医生", "职称", "状态"]
    table = [dict(zip(header, r, strict=True)) for r in rows]
    assert [(t["医生"], t["时段"], t["状态"]) for t in table] == [
        ("李明华", "下午", "出诊"),
        ("王芳", "下午", "出诊"),
        ("李明华", "晚上", "停诊"),
        ("李明华", "上午", "出诊"),
    ]
    afternoon = table[0]
    assert (afternoon["总号源"], afternoon["现场号"], afternoon["已预约"], afternoon["已签到"]) == (5, 1, 3, 2)
    assert afternoon["剩余可约"] == 1  # 5 slots: 3 taken, 1 kept for walk-ins
    assert table[2]["剩余可约"] == 0 and table[3]["出诊日期"] == datetime(2026, 3, 3)
    [row] = await exports_audited(db)
    assert row.action == "schedule.export" and row.detail["rows"] == 4


async def test_the_front_desk_exports_appointments_but_not_schedules(
    console: ConsoleLogin, db: Database, day: BusyDay
) -> None:
    await make_staff(db, role="front_desk", catalog=day.catalog, username="desk.wang")
    desk = await console("desk.wang")

    appointments = await desk.get(f"/admin/exports/appointments.csv?date_from={TODAY}")
    schedules = await desk.get(f"/admin/exports/schedules.xlsx?date_from={TODAY}")
    page = await desk.get("/admin/exports")

    assert appointments.status_code == 200
    assert schedules.status_code == 403
    assert page.status_code == 200 and "预约明细" in page.text and "排班与号源" not in page.text


@pytest.mark.parametrize("role", ["doctor", "platform_admin"])
async def test_doctors_and_the_platform_do_not_export(
    console: ConsoleLogin, db: Database, day: BusyDay, role: str
) -> None:
    await make_staff(db, role=role, catalog=day.catalog, username="someone")
    browser = await console("someone")

    assert (await browser.get("/admin/exports")).status_code == 403
    assert (await browser.get(f"/admin/exports/appointments.csv?date_from={TODAY}")).status_code == 403


async def test_the_export_page_offers_both_files_with_dates_and_a_progress_indicator(
    admin: ConsoleClient, day: BusyDay
) -> None:
    page = (await admin.get("/admin/exports")).text

    assert 'action="/admin/exports/appointments.xlsx" data-download' in page
    assert 'formaction="/admin/exports/appointments.csv"' in page
    assert 'formaction="/admin/exports/schedules.xlsx"' in page
    assert f'name="date_from" value="{TODAY}"' in page
    assert '<script src="/admin/static/exports.js" defer></script>' in page
    assert "心血管内科" in page and "李明华" in page
    script = await admin.get("/admin/static/exports.js")
    assert script.status_code == 200 and "正在生成…" in script.text


async def test_an_unknown_format_is_refused(admin: ConsoleClient, day: BusyDay) -> None:
    assert (await admin.get("/admin/exports/appointments.pdf")).status_code == 422
