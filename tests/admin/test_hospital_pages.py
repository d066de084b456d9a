"""医院管理 in the console: the platform administrator's list, forms and the switch for online booking."""

from __future__ import annotations

import re
from datetime import time

import httpx
import pytest
from sqlalchemy import func, select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.factories import Catalog, make_catalog, make_staff
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital

FORM = {
    "name": "北京市朝阳区和平医院",
    "level": "二级甲等",
    "city": "北京",
    "district": "朝阳区",
    "address": "北京市朝阳区和平街5号",
    "phone": "010-64281234",
    "intro": "",
    "release_days": "14",
    "release_time": "07:30",
    "stop_minutes_before": "30",
    "cancel_minutes_before": "240",
    "max_active_appointments": "3",
    "payment_required": "true",
}


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def platform(db: Database, console: ConsoleLogin) -> ConsoleClient:
    await make_staff(db, role="platform_admin", username="root")
    return await console("root")


async def hospitals(db: Database) -> list[Hospital]:
    async with db.session() as session:
        return list(await session.scalars(select(Hospital).order_by(Hospital.id)))


def error_beside(page: str, field: str) -> str:
    """The error shown under the field ``field`` of a form."""
    found = re.search(rf'name="{field}"[^>]*>\s*(?:</select>\s*)?<small class="error">([^<]+)</small>', page, re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


class TestTheList:
    async def test_shows_every_hospital_with_its_rules_and_state(self, db, platform, catalog):
        await make_catalog(db, name="上海测试医院", city="上海", booking_open=False)

        page = await platform.get("/admin/hospitals")

        assert page.status_code == 200
        assert "测试人民医院" in page.text and "上海测试医院" in page.text
        assert "7 天 · 08:00" in page.text and "开诊前 2 小时" in page.text
        assert "已暂停" in page.text and "开放中" in page.text
        assert "共 2 条" in page.text

    async def test_finds_hospitals_by_initials_and_city(self, db, platform, catalog):
        await make_catalog(db, name="上海测试医院", city="上海")

        by_initials = await platform.get("/admin/hospitals", params={"q": "csrm"})
        by_city = await platform.get("/admin/hospitals", params={"city": "上海"})

        assert "测试人民医院" in by_initials.text and "上海测试医院" not in by_initials.text
        assert "上海测试医院" in by_city.text and "测试人民医院" not in by_city.text

    @pytest.mark.parametrize("role", ["hospital_admin", "front_desk", "doctor"])
    async def test_is_for_the_platform_only(self, db, console, catalog, role):
        staff = await make_staff(db, role=role, catalog=catalog)
        browser = await console(staff.username)

        page = await browser.get("/admin/hospitals")
        form = await browser.get(f"/admin/hospitals/{catalog.hospital.id}")

        assert page.status_code == form.status_code == 403
        assert "当前角色无权访问该页面" in page.text


class TestCreating:
    async def test_a_good_form_creates_the_hospital_and_goes_back_to_the_list(self, db, platform):
        answer = await platform.post("/admin/hospitals/new", FORM)

        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/hospitals?ok=")
        [hospital] = await hospitals(db)
        assert hospital.name_initials == "bjscyqhpyy" and hospital.booking_open is True
        assert (hospital.release_days, hospital.release_time, hospital.max_active_appointments) == (14, time(7, 30), 3)
        assert hospital.payment_required is True
        shown = await platform.get(answer.headers["location"])
        assert "已新增医院「北京市朝阳区和平医院」" in shown.text

    async def test_a_bad_form_shows_each_error_beside_its_field_and_creates_nothing(self, db, platform):
        bad = {**FORM, "name": "", "release_days": "31", "max_active_appointments": "0", "release_time": "8点"}

        answer = await platform.post("/admin/hospitals/new", bad)

        assert answer.status_code == 422
        assert error_beside(answer.text, "name") == "请填写医院名称"
        assert error_beside(answer.text, "release_days") == "放号周期不能大于30"
        assert error_beside(answer.text, "max_active_appointments") == "每人待就诊预约上限不能小于1"
        assert error_beside(answer.text, "release_time") == "每日放号时间须为时间，如 08:00"
        assert 'value="北京市朝阳区和平街5号"' in answer.text  # what was typed stays
        assert await hospitals(db) == []

    async def test_a_taken_name_is_shown_beside_the_name(self, db, platform, catalog):
        answer = await platform.post("/admin/hospitals/new", {**FORM, "name": "测试人民医院"})

        assert answer.status_code == 422 and error_beside(answer.text, "name") == "已有同名医院"
        assert len(await hospitals(db)) == 1


class TestEditing:
    async def test_the_form_shows_the_hospital_as_it_is(self, platform, catalog):
        page = await platform.get(f"/admin/hospitals/{catalog.hospital.id}")

        assert page.status_code == 200
        assert 'value="测试人民医院"' in page.text and 'value="08:00"' in page.text
        assert re.search(r'<option value="false"\s+selected>', page.text)

    async def test_saving_changes_the_rules_and_is_audited(self, db, platform, catalog):
        form = {**FORM, "name": "测试人民医院", "release_days": "10"}

        answer = await platform.post(f"/admin/hospitals/{catalog.hospital.id}", form)

        assert answer.status_code == 303
        [hospital] = await hospitals(db)
        assert hospital.release_days == 10 and hospital.district == "朝阳区"
        async with db.session() as session:
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "hospital.update"))
        assert row is not None and row.ip == "127.0.0.1" and row.detail["after"]["release_days"] == 10

    async def test_a_bad_edit_changes_nothing(self, db, platform, catalog):
        answer = await platform.post(f"/admin/hospitals/{catalog.hospital.id}", {**FORM, "stop_minutes_before": "-5"})

        assert answer.status_code == 422
        assert error_beside(answer.text, "stop_minutes_before") == "停止挂号时间不能小于0"
        [hospital] = await hospitals(db)
        assert hospital.name == "测试人民医院" and hospital.stop_minutes_before == 0

    async def test_an_unknown_hospital_is_a_not_found_page(self, platform):
        page = await platform.get("/admin/hospitals/999999")

        assert page.status_code == 404 and "医院不存在" in page.text


class TestOnlineBooking:
    async def test_closing_asks_first_then_closes_and_keeps_the_lists_filters(self, db, platform, catalog):
        page = await platform.get("/admin/hospitals", params={"city": "北京"})
        assert 'data-confirm="确定暂停「测试人民医院」的网上预约？' in page.text

        answer = await platform.post(
            f"/admin/hospitals/{catalog.hospital.id}/close-booking", {"back": "city=%E5%8C%97%E4%BA%AC"}
        )

        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/hospitals?city=%E5%8C%97%E4%BA%AC&ok=")
        [hospital] = await hospitals(db)
        assert hospital.booking_open is False
        assert "已暂停网上预约" in (await platform.get(answer.headers["location"])).text

    async def test_reopening_opens_it_again(self, db, platform, catalog):
        await platform.post(f"/admin/hospitals/{catalog.hospital.id}/close-booking")

        answer = await platform.post(f"/admin/hospitals/{catalog.hospital.id}/open-booking")

        assert answer.status_code == 303
        [hospital] = await hospitals(db)
        assert hospital.booking_open is True

    async def test_without_the_csrf_token_nothing_closes(self, db, client: httpx.AsyncClient, platform, catalog):
        answer = await client.post(f"/admin/hospitals/{catalog.hospital.id}/close-booking", data={})

        assert answer.status_code == 403
        [hospital] = await hospitals(db)
        assert hospital.booking_open is True
        async with db.session() as session:
            assert await session.scalar(select(func.count()).where(AuditLog.action.like("hospital.%"))) == 0
