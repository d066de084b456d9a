"""排班 in the console, through the real login form: a doctor's week saved from the grid (wrong cells shown
in their cell, nothing saved), the schedules list, one-off sessions, numbers, 替诊, 停诊 and 放号 now;
doctors read their own schedules only."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.conftest import NOW, Login
from tests.factories import Catalog, book_appointment, make_catalog, make_schedule, make_staff
from yiyue.core.db import Database
from yiyue.scheduling.models import Schedule, ScheduleTemplate, Slot

TODAY = NOW.date()


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def browser(db: Database, console: ConsoleLogin, catalog: Catalog) -> ConsoleClient:
    admin = await make_staff(db, catalog=catalog)
    return await console(admin.username)


def toast(answer: httpx.Response) -> str:
    """The green message a redirect carries (``?ok=``)."""
    return parse_qs(urlparse(answer.headers["location"]).query)["ok"][0]


async def templates_of(db: Database, doctor_id: int) -> list[tuple[int, str, int, int, int | None, bool]]:
    async with db.session() as session:
        rows = await session.scalars(
            select(ScheduleTemplate)
            .where(ScheduleTemplate.doctor_id == doctor_id)
            .order_by(ScheduleTemplate.weekday, ScheduleTemplate.period)
        )
        return [(t.weekday, t.period, t.capacity, t.onsite_quota, t.slot_minutes, t.active) for t in rows]


class TestTemplateGrid:
    async def test_the_grid_saves_the_week_at_once(self, db, browser, catalog):
        answer = await browser.post(
            f"/admin/templates/{catalog.doctor.id}",
            {
                "0-morning-capacity": "20",
                "0-morning-onsite_quota": "4",
                "0-morning-slot_minutes": "20",
                "2-afternoon-capacity": "12",
                "4-evening-capacity": "8",
                "4-evening-paused": "true",
                "5-morning-capacity": "0",
            },
        )

        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(f"/admin/templates/{catalog.doctor.id}?")
        assert toast(answer) == "已保存李明华的排班模板"
        assert await templates_of(db, catalog.doctor.id) == [
            (0, "morning", 20, 4, 20, True),
            (2, "afternoon", 12, 0, None, True),
            (4, "evening", 8, 0, None, False),
        ]
        page = await browser.get(answer.headers["location"])
        assert page.status_code == 200 and 'name="0-morning-capacity" value="20"' in page.text
        assert 'name="4-evening-paused" value="true" checked' in page.text
        overview = await browser.get("/admin/templates")
        assert "李明华" in overview.text and "上午 20" in overview.text and "每周号源" in overview.text

    async def test_wrong_cells_are_shown_in_their_cell_and_nothing_is_saved(self, db, browser, catalog):
        await browser.post(f"/admin/templates/{catalog.doctor.id}", {"1-morning-capacity": "15"})

        answer = await browser.post(
            f"/admin/templates/{catalog.doctor.id}",
            {
                "0-morning-capacity": "10",
                "0-morning-onsite_quota": "12",
                "2-afternoon-capacity": "abc",
                "3-evening-capacity": "",
                "3-evening-slot_minutes": "20",
                "6-morning-capacity": "12",
                "6-morning-slot_minutes": "5",
            },
        )

        assert answer.status_code == 422
        for message in ("现场号不能多于号源数", "号源数须为整数", "请填写号源数，或清空本格", "每号时长须为10-60分钟"):
            assert message in answer.text
        assert "修改前未保存任何内容" in answer.text
        assert answer.text.count('class="cell invalid') == 4
        assert 'name="2-afternoon-capacity" value="abc"' in answer.text  # what was typed stays to be fixed
        assert await templates_of(db, catalog.doctor.id) == [(1, "morning", 15, 0, None, True)]

    async def test_another_hospitals_doctor_is_not_found(self, db, browser):
        other = await make_catalog(db, name="别家医院")

        page = await browser.get(f"/admin/templates/{other.doctor.id}")
        saved = await browser.post(f"/admin/templates/{other.doctor.id}", {"0-morning-capacity": "10"})

        assert page.status_code == 404 and "医生不存在" in page.text
        assert saved.status_code == 404 and await templates_of(db, other.doctor.id) == []

    async def test_the_doctor_picker_goes_to_that_doctors_week(self, browser, catalog):
        answer = await browser.get(f"/admin/templates/go?doctor_id={catalog.other_doctor.id}")

        assert answer.status_code == 303 and answer.headers["location"] == f"/admin/templates/{catalog.other_doctor.id}"

    @pytest.mark.parametrize("role", ["doctor", "front_desk"])
    async def test_only_hospital_admins_open_the_templates(self, db, console: ConsoleLogin, catalog, role: str):
        staff = await make_staff(db, role=role, catalog=catalog)
        browser = await console(staff.username)

        assert (await browser.get("/admin/templates")).status_code == 403


class TestSchedulesList:
    async def test_lists_the_window_with_fill_and_state(self, db, client, login: Login, browser, catalog):
        tomorrow = await make_schedule(db, catalog, days_ahead=1, capacity=4)
        unreleased = await make_schedule(db, catalog, days_ahead=9, doctor=catalog.other_doctor)
        await book_appointment(client, await login(), tomorrow.id)

        page = await browser.get("/admin/schedules")

        assert page.status_code == 200
        assert f'href="/admin/schedules/{tomorrow.id}?' in page.text
        assert "1 / 4" in page.text and "开放" in page.text
        assert f'href="/admin/schedules/{unreleased.id}?' not in page.text  # day 9 is past the default range
        later = await browser.get(f"/admin/schedules?end={(TODAY + timedelta(days=10)).isoformat()}")
        assert f'href="/admin/schedules/{unreleased.id}?' in later.text and "未放号" in later.text
        assert "立即放号" in page.text and "临时加诊" in page.text

    async def test_the_filter_form_as_a_browser_sends_it_with_blank_fields(self, db, browser, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)

        listing = await browser.get("/admin/schedules?start=&end=&department_id=&doctor_id=")
        overview = await browser.get("/admin/templates?department_id=")
        by_clinic = await browser.htmx(
            "GET", f"/admin/schedules?start=&end=&department_id={catalog.clinic.id}&doctor_id="
        )

        assert listing.status_code == 200 and f'href="/admin/schedules/{schedule.id}?' in listing.text
        assert overview.status_code == 200 and "李明华" in overview.text
        assert by_clinic.status_code == 200 and f'href="/admin/schedules/{schedule.id}?' in by_clinic.text

    async def test_a_bad_range_is_shown_beside_the_filter(self, browser):
        backwards = await browser.get(
            f"/admin/schedules?start={TODAY.isoformat()}&end={(TODAY - timedelta(days=1)).isoformat()}"
        )
        not_a_date = await browser.get("/admin/schedules?start=yesterday")

        assert backwards.status_code == 422 and "跨度不超过31天" in backwards.text
        assert not_a_date.status_code == 422 and "日期格式应为" in not_a_date.text

    async def test_htmx_filters_get_the_page_for_its_results(self, db, browser, catalog):
        await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)

        answer = await browser.htmx("GET", f"/admin/schedules?doctor_id={catalog.doctor.id}")

        assert answer.status_code == 200 and 'id="schedule-results"' in answer.text
        assert "该时间段没有排班" in answer.text

    async def test_release_now_makes_the_sessions_and_says_how_many(self, db, browser, catalog):
        async with db.session() as session:
            session.add(
                ScheduleTemplate(
                    hospital_id=catalog.hospital.id,
                    doctor_id=catalog.doctor.id,
                    weekday=TODAY.weekday(),
                    period="morning",
                    capacity=10,
                    onsite_quota=2,
                    active=True,
                )
            )

        first = await browser.post("/admin/schedules/release", {"days": "7"})
        again = await browser.post("/admin/schedules/release", {"days": "7"})
        too_many = await browser.post("/admin/schedules/release", {"days": "30"})

        assert first.status_code == 303 and toast(first) == "已按排班模板生成至03月09日：新增1个出诊时段"
        assert toast(again) == "03月09日及以前的排班都已生成，没有新增出诊时段"
        assert too_many.status_code == 422 and "放号天数须为1-7天" in too_many.text


class TestOneOffSession:
    async def test_adds_a_session_and_opens_its_page(self, db, browser, catalog):
        answer = await browser.post(
            "/admin/schedules/new",
            {
                "doctor_id": str(catalog.other_doctor.id),
                "visit_date": (TODAY + timedelta(days=10)).isoformat(),
                "period": "evening",
                "capacity": "12",
                "onsite_quota": "2",
            },
        )

        assert answer.status_code == 303, answer.text
        assert toast(answer) == "已新增王芳 03月12日晚上的出诊"
        page = await browser.get(answer.headers["location"])
        assert page.status_code == 200 and "未放号" in page.text and "现场 2 个" in page.text

    async def test_refusals_are_shown_beside_their_field(self, db, browser, catalog):
        await make_schedule(db, catalog, days_ahead=2)
        base = {"doctor_id": str(catalog.doctor.id), "period": "morning", "capacity": "10"}

        duplicate = await browser.post(
            "/admin/schedules/new", {**base, "visit_date": (TODAY + timedelta(days=2)).isoformat()}
        )
        far = await browser.post(
            "/admin/schedules/new", {**base, "visit_date": (TODAY + timedelta(days=60)).isoformat()}
        )
        blank = await browser.post("/admin/schedules/new", {"period": "morning"})

        assert duplicate.status_code == 422 and "该医生在此时段已有排班" in duplicate.text
        assert far.status_code == 422 and "出诊日期须在今天" in far.text
        assert blank.status_code == 422 and "请填写医生" in blank.text and "请填写号源数" in blank.text
        async with db.session() as session:
            assert len(list(await session.scalars(select(Schedule)))) == 1


class TestOneSchedule:
    async def test_numbers_grow_after_release_and_a_shrink_is_explained(self, db, browser, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1, capacity=5)
        url = f"/admin/schedules/{schedule.id}"

        shrink = await browser.post(f"{url}/numbers", {"capacity": "3", "onsite_quota": "0"})
        grow = await browser.post(f"{url}/numbers", {"capacity": "8", "onsite_quota": "2", "back": "start=2026-03-02"})

        assert shrink.status_code == 422 and "已放号的排班只能增加号源" in shrink.text
        assert grow.status_code == 303 and toast(grow) == "号源已改为8个（现场号2个）"
        assert "back=start%3D2026-03-02" in grow.headers["location"]
        page = await browser.get(grow.headers["location"])
        assert "线上 6 个，现场 2 个" in page.text and 'href="/admin/schedules?start=2026-03-02"' in page.text
        async with db.session() as session:
            statuses = list(await session.scalars(select(Slot.status).where(Slot.schedule_id == schedule.id)))
        assert sorted(statuses).count("onsite") == 2 and len(statuses) == 8

    async def test_substitute_hands_the_session_to_a_colleague(self, db, client, login: Login, browser, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        await book_appointment(client, await login(), schedule.id)
        page = await browser.get(f"/admin/schedules/{schedule.id}")
        assert f'<option value="{catalog.other_doctor.id}"' in page.text

        answer = await browser.post(
            f"/admin/schedules/{schedule.id}/substitute",
            {"substitute_doctor_id": str(catalog.other_doctor.id), "substitute_reason": "外出会诊"},
        )

        assert answer.status_code == 303 and toast(answer) == "已改由王芳出诊，已通知1位患者"
        async with db.session() as session:
            assert (await session.get_one(Schedule, schedule.id)).doctor_id == catalog.other_doctor.id

    async def test_substitute_refusals_are_shown_beside_the_doctor(self, db, browser, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)

        busy = await browser.post(
            f"/admin/schedules/{schedule.id}/substitute", {"substitute_doctor_id": str(catalog.other_doctor.id)}
        )

        assert busy.status_code == 422 and "替诊医生在该日期该时段已有排班" in busy.text
        assert "没有该时段空闲的在职医生" in busy.text

    async def test_suspend_needs_a_reason_then_cancels_and_tells(self, db, client, login: Login, browser, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        await book_appointment(client, await login(), schedule.id)
        page = await browser.get(f"/admin/schedules/{schedule.id}")
        assert 'data-confirm="确定停诊' in page.text

        without = await browser.post(f"/admin/schedules/{schedule.id}/suspend", {})
        answer = await browser.post(f"/admin/schedules/{schedule.id}/suspend", {"suspend_reason": "医生临时外出会诊"})

        assert without.status_code == 422 and "请填写停诊原因" in without.text
        assert answer.status_code == 303 and toast(answer) == "已停诊，1个预约已取消并通知患者"
        after = await browser.get(answer.headers["location"])
        assert "已停诊，不能再修改" in after.text
        again = await browser.post(f"/admin/schedules/{schedule.id}/suspend", {"suspend_reason": "再停一次"})
        assert again.status_code == 422 and "该排班已停诊" in again.text

    async def test_another_hospitals_schedule_is_not_found(self, db, browser):
        other = await make_catalog(db, name="别家医院")
        theirs = await make_schedule(db, other, days_ahead=1)

        page = await browser.get(f"/admin/schedules/{theirs.id}")
        changed = await browser.post(f"/admin/schedules/{theirs.id}/numbers", {"capacity": "20"})

        assert page.status_code == 404 and changed.status_code == 404
        async with db.session() as session:
            assert (await session.get_one(Schedule, theirs.id)).capacity == 10


class TestDoctorView:
    async def test_a_doctor_reads_their_own_schedules_only(self, db, console: ConsoleLogin, catalog):
        own = await make_schedule(db, catalog, days_ahead=1)
        colleagues = await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)
        doctor = await make_staff(db, role="doctor", catalog=catalog)
        browser = await console(doctor.username)

        listing = await browser.get("/admin/schedules")
        mine = await browser.get(f"/admin/schedules/{own.id}")
        theirs = await browser.get(f"/admin/schedules/{colleagues.id}")
        change = await browser.post(f"/admin/schedules/{own.id}/numbers", {"capacity": "20"})

        assert listing.status_code == 200 and "我的排班" in listing.text
        assert f'href="/admin/schedules/{own.id}?' in listing.text
        assert f'href="/admin/schedules/{colleagues.id}?' not in listing.text and "王芳" not in listing.text
        assert "立即放号" not in listing.text and "临时加诊" not in listing.text
        assert mine.status_code == 200 and "修改号源" not in mine.text and "停诊原因" not in mine.text
        assert theirs.status_code == 404
        assert change.status_code == 403
