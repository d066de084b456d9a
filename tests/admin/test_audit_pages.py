"""操作日志 in the console: a hospital administrator reads their hospital's rows, the platform every row;
filters by dates (at most 31 days), person, action and record; actions in Chinese where known."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from tests.admin.conftest import ConsoleLogin
from tests.conftest import NOW
from tests.factories import Catalog, make_catalog, make_staff
from yiyue.accounts.staff.models import StaffUser
from yiyue.core import audit
from yiyue.core.clock import at_local
from yiyue.core.db import Database


@pytest.fixture
async def h1(db: Database) -> Catalog:
    return await make_catalog(db, name="第一医院")


@pytest.fixture
async def h2(db: Database) -> Catalog:
    return await make_catalog(db, name="第二医院")


@pytest.fixture
async def admin(db: Database, h1: Catalog) -> StaffUser:
    return await make_staff(db, catalog=h1, username="admin.one", display_name="一院管理员")


async def logged(
    db: Database,
    action: str,
    *,
    who: StaffUser,
    subject: str,
    at: datetime,
    hospital_id: int | None,
    detail: dict[str, Any] | None = None,
    ip: str = "10.0.0.8",
) -> None:
    async with db.session() as session:
        session.info[audit.CLIENT_IP] = ip
        audit.record(
            session,
            actor=f"staff:{who.id}",
            action=action,
            subject=subject,
            at=at,
            hospital_id=hospital_id,
            detail=detail,
        )


def rows_of(page: str) -> list[str]:
    """The table's rows as plain text."""
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("</tr>")[:-1]]


def at(days_ago: int, hour: int = 10) -> datetime:
    return at_local(NOW.date() - timedelta(days=days_ago), time(hour, 0))


async def test_a_hospital_admin_reads_their_hospitals_rows_newest_first(
    console: ConsoleLogin, db: Database, h1: Catalog, h2: Catalog, admin: StaffUser
) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one", display_name="导诊小王")
    theirs = await make_staff(db, catalog=h2, username="admin.two")
    await logged(
        db,
        "appointment.check_in",
        who=desk,
        subject="appointment:41",
        at=at(1),
        hospital_id=h1.hospital.id,
        detail={"via": "code", "from_status": "booked", "to_status": "checked_in"},
    )
    await logged(db, "schedule.suspend", who=admin, subject="schedule:7", at=at(0, 8), hospital_id=h1.hospital.id)
    await logged(db, "appointment.list", who=theirs, subject="hospital:2", at=at(0, 8), hospital_id=h2.hospital.id)
    browser = await console(admin.username)

    page = (await browser.get("/admin/audit")).text

    rows = rows_of(page)
    assert rows[0].startswith("2026-03-02 09:00:00 一院管理员 admin.one 登录")  # the login just now
    assert "停诊 排班 #7 10.0.0.8" in rows[1]
    assert "导诊小王 desk.one 签到 预约 #41 10.0.0.8 方式：code；原状态：待就诊；新状态：已签到" in rows[2]
    assert len(rows) == 3 and "admin.two" not in page and "第二医院" not in page


async def test_filters_by_person_action_record_and_dates(
    console: ConsoleLogin, db: Database, h1: Catalog, admin: StaffUser
) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one", display_name="导诊小王")
    hid = h1.hospital.id
    await logged(db, "appointment.check_in", who=desk, subject="appointment:41", at=at(1), hospital_id=hid)
    await logged(db, "appointment.check_in", who=desk, subject="appointment:42", at=at(10), hospital_id=hid)
    await logged(db, "appointment.complete", who=admin, subject="appointment:41", at=at(2), hospital_id=hid)
    browser = await console(admin.username)

    async def subjects(query: str) -> list[str]:
        page = await browser.get(f"/admin/audit?{query}")
        assert page.status_code == 200, page.text
        return [re.findall(r"(预约 #\d+|工作人员 \S+)", row)[0] for row in rows_of(page.text) if "没有" not in row]

    assert await subjects(f"actor={desk.id}") == ["预约 #41"]  # the last 7 days by default
    assert await subjects(f"actor={desk.id}&date_from={(NOW.date() - timedelta(days=12)).isoformat()}") == [
        "预约 #41",
        "预约 #42",
    ]
    assert await subjects("action=appointment.complete") == ["预约 #41"]
    assert await subjects("subject=appointment:41") == ["预约 #41", "预约 #41"]
    assert await subjects("subject=appointment") == ["预约 #41", "预约 #41"]
    one_day = (NOW.date() - timedelta(days=2)).isoformat()
    assert await subjects(f"date_from={one_day}&date_to={one_day}") == ["预约 #41"]


async def test_a_range_longer_than_31_days_or_upside_down_is_refused_beside_the_field(
    console: ConsoleLogin, admin: StaffUser
) -> None:
    browser = await console(admin.username)

    long = await browser.get("/admin/audit?date_from=2026-01-01&date_to=2026-03-02")
    inverted = await browser.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-01")
    garbled = await browser.get("/admin/audit?date_from=yesterday")

    assert long.status_code == 422 and '<small class="error">日期范围不能超过31天</small>' in long.text
    assert inverted.status_code == 422 and "结束日期不能早于开始日期" in inverted.text
    assert garbled.status_code == 422 and "开始日期须为日期" in garbled.text
    assert "请先修正筛选条件" in long.text


async def test_the_platform_reads_every_hospital_and_can_pick_one(
    console: ConsoleLogin, db: Database, h1: Catalog, h2: Catalog, admin: StaffUser
) -> None:
    theirs = await make_staff(db, catalog=h2, username="admin.two", display_name="二院管理员")
    await logged(db, "appointment.list", who=theirs, subject="hospital:2", at=at(1), hospital_id=h2.hospital.id)
    await logged(db, "appointment.list", who=admin, subject="hospital:1", at=at(1, 9), hospital_id=h1.hospital.id)
    await make_staff(db, role="platform_admin", username="platform.zhou")
    browser = await console("platform.zhou")

    everything = rows_of((await browser.get("/admin/audit")).text)
    second = rows_of((await browser.get(f"/admin/audit?hospital_id={h2.hospital.id}")).text)

    assert len(everything) == 3 and "平台" in everything[0]  # the platform's own login has no hospital
    assert any("第二医院 二院管理员" in r for r in everything) and any("第一医院 一院管理员" in r for r in everything)
    assert len(second) == 1 and "二院管理员 admin.two 查看预约列表" in second[0]


async def test_a_hospital_admin_naming_another_hospital_is_not_found(
    console: ConsoleLogin, h2: Catalog, admin: StaffUser
) -> None:
    browser = await console(admin.username)

    answer = await browser.get(f"/admin/audit?hospital_id={h2.hospital.id}")

    assert answer.status_code == 404


async def test_an_unknown_action_is_shown_as_recorded_and_staff_subjects_by_name(
    console: ConsoleLogin, db: Database, h1: Catalog, admin: StaffUser
) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one", display_name="导诊小王")
    await logged(db, "robot.dance", who=admin, subject="robot:1", at=at(1), hospital_id=h1.hospital.id)
    await logged(
        db,
        "staff.update",
        who=admin,
        subject=f"staff:{desk.id}",
        at=at(1, 9),
        hospital_id=h1.hospital.id,
        detail={
            "before": {"display_name": "导诊小王", "role": "front_desk"},
            "after": {"display_name": "导诊小王", "role": "doctor"},
            "sessions_ended": 2,
        },
    )
    browser = await console(admin.username)

    rows = rows_of((await browser.get("/admin/audit")).text)

    assert "robot.dance robot:1" in rows[1]
    assert "修改工作人员 工作人员 导诊小王 desk.one" in rows[2]
    assert "角色：导诊/挂号 → 医生；结束会话：2" in rows[2]


async def test_long_logs_are_paged(console: ConsoleLogin, db: Database, h1: Catalog, admin: StaffUser) -> None:
    for n in range(55):
        await logged(
            db, "appointment.list", who=admin, subject="hospital:1", at=at(1) + timedelta(minutes=n), hospital_id=1
        )
    browser = await console(admin.username)

    first = await browser.get("/admin/audit")
    second = await browser.get("/admin/audit?page=2")

    assert len(rows_of(first.text)) == 50 and "共 56 条，第 1 / 2 页" in first.text
    assert len(rows_of(second.text)) == 6


@pytest.mark.parametrize("role", ["front_desk", "doctor"])
async def test_only_administrators_read_the_log(console: ConsoleLogin, db: Database, h1: Catalog, role: str) -> None:
    await make_staff(db, role=role, catalog=h1, username="someone")
    browser = await console("someone")

    assert (await browser.get("/admin/audit")).status_code == 403
