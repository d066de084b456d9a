"""The front desk's console pages (门诊), through the real login form: the day list by session, search,
check-in by code (form and htmx) and from the row, completion and no-shows, a patient's full details
for the administrator, walk-in registration and bans."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.conftest import NOW, Login
from tests.factories import (
    Catalog,
    book_family,
    id_number,
    keep_onsite,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
)
from yiyue.accounts.models import VisitPerson
from yiyue.booking.models import Appointment, BookingBan
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database
from yiyue.frontdesk.no_shows import mark_no_shows
from yiyue.scheduling.models import Period, Schedule


def known_id(serial: int) -> str:
    """A valid ID number no default test patient has (their birth date is 1990-01-01)."""
    return id_number(date(1985, 6, 15), serial)


DAY = "/admin/frontdesk"
CHECK_IN = "/admin/frontdesk/check-in"
ID_NUMBER = known_id(271)


def today_at(hour: int, minute: int = 0) -> datetime:
    return at_local(NOW.date(), time(hour, minute))


@dataclass
class Clinic:
    catalog: Catalog
    afternoon: Schedule  # today 13:30-17:30, numbers 7 and 8 kept for walk-ins
    zhang: dict[str, Any]  # appointments as their patients see them (check-in codes included)
    li: dict[str, Any]


async def book(client: httpx.AsyncClient, login: Login, schedule_id: int, name: str, **person: str) -> dict[str, Any]:
    auth = await login()
    added = await client.post("/api/v1/me/patients", json=patient_body(name=name, **person), headers=auth)
    assert added.status_code == 201, added.text
    answer = await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": added.json()["id"]},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
async def clinic(client: httpx.AsyncClient, db: Database, login: Login) -> Clinic:
    catalog = await make_catalog(db)
    afternoon = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=8)
    await keep_onsite(db, afternoon, 2)
    zhang = await book(client, login, afternoon.id, "张三丰", phone="13800001111", id_number=ID_NUMBER)
    li = await book(client, login, afternoon.id, "李四", phone="13900002222")
    await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang", display_name="王导诊")
    await make_staff(db, catalog=catalog, username="admin.li", display_name="李管理")
    await make_staff(db, role="doctor", catalog=catalog, username="dr.li")
    return Clinic(catalog, afternoon, zhang, li)


async def at(clock: FrozenClock, console: ConsoleLogin, username: str, when: datetime) -> ConsoleClient:
    """Moves the clock and logs in again (a console session ends after 30 idle minutes)."""
    clock.set(when)
    return await console(username)


async def status_of(db: Database, appointment_id: int) -> str:
    async with db.session() as session:
        return (await session.get_one(Appointment, appointment_id)).status


def rows_of(page: str) -> list[str]:
    return re.findall(r'<tr id="appt-(\d+)"', page)


class TestTheDayList:
    async def test_lists_the_days_appointments_under_their_session_with_counts(self, console, clinic: Clinic):
        desk = await console("desk.wang")

        page = await desk.get(DAY)

        assert page.status_code == 200, page.text
        assert f'id="session-{clinic.afternoon.id}"' in page.text
        assert "下午 13:30–17:30" in page.text and "李明华" in page.text and "待就诊 <b>2</b>" in page.text
        assert rows_of(page.text) == [str(clinic.zhang["id"]), str(clinic.li["id"])]
        assert "张*丰" in page.text and "李*" in page.text

    async def test_never_shows_a_full_name_id_number_or_phone(self, console, clinic: Clinic):
        page = await (await console("desk.wang")).get(DAY)

        for secret in ("张三丰", ID_NUMBER, "13800001111", "1111", clinic.zhang["check_in_code"]):
            assert secret not in page.text

    @pytest.mark.parametrize("q", ["code", "张三丰", "张", "1111"])
    async def test_finds_a_patient_by_code_name_or_phone_tail(self, console, clinic: Clinic, q):
        desk = await console("desk.wang")
        typed = clinic.zhang["check_in_code"] if q == "code" else q

        page = await desk.get(f"{DAY}?q={typed}")

        assert page.status_code == 200 and rows_of(page.text) == [str(clinic.zhang["id"])]

    async def test_a_search_that_finds_nobody_says_so(self, console, clinic: Clinic):
        page = await (await console("desk.wang")).get(f"{DAY}?q=王五")

        assert rows_of(page.text) == [] and "没有找到符合条件的预约" in page.text

    async def test_a_search_it_cannot_read_is_shown_beside_the_box(self, console, clinic: Clinic):
        page = await (await console("desk.wang")).get(f"{DAY}?q=123")

        assert page.status_code == 422
        assert "请输入8位签到码、手机号后4位或患者姓名" in page.text and rows_of(page.text) == []

    async def test_filters_by_status_and_doctor_and_another_day(self, console, db, clinic: Clinic):
        other = await make_schedule(db, clinic.catalog, days_ahead=1, doctor=clinic.catalog.other_doctor)
        desk = await console("desk.wang")

        completed = await desk.get(f"{DAY}?status=completed")
        by_doctor = await desk.get(f"{DAY}?doctor_id={clinic.catalog.other_doctor.id}")
        tomorrow = await desk.get(f"{DAY}?date={other.visit_date.isoformat()}")
        bad = await desk.get(f"{DAY}?date=tomorrow")

        assert rows_of(completed.text) == [] and rows_of(by_doctor.text) == []
        assert (
            tomorrow.status_code == 200
            and "非今日" in tomorrow.text
            and f'id="session-{other.id}"' not in tomorrow.text
        )
        assert bad.status_code == 422 and "日期须为日期" in bad.text

    async def test_the_list_refreshes_itself_alone(self, console, clinic: Clinic):
        desk = await console("desk.wang")

        answer = await desk.http.get(DAY, headers={"HX-Request": "true", "HX-Target": "day-list"})

        assert answer.status_code == 200 and answer.text.lstrip().startswith('<div id="day-list"')
        assert "<html" not in answer.text and rows_of(answer.text) == [str(clinic.zhang["id"]), str(clinic.li["id"])]

    async def test_every_showing_is_audited(self, console, db, clinic: Clinic):
        await (await console("desk.wang")).get(f"{DAY}?q=张")

        async with db.session() as session:
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "appointment.list")))
        assert row.detail["appointment_ids"] == [clinic.zhang["id"]] and row.detail["filters"]["search"] == "name"


class TestCheckInByCode:
    async def test_the_form_checks_in_and_shows_the_patient_card(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))

        answer = await desk.post(CHECK_IN, {"code": clinic.zhang["check_in_code"]})

        assert answer.status_code == 303
        assert unquote(answer.headers["location"]) == f"/admin/frontdesk?checked={clinic.zhang['id']}&ok=已签到"
        page = await desk.get(answer.headers["location"])
        card = page.text.split('id="checkin-result"')[1].split("</section>")[0]
        assert "签到成功" in card and "张*丰" in card and "李明华" in card and "<b>1</b>" in card
        assert await status_of(db, clinic.zhang["id"]) == "checked_in"

    async def test_htmx_swaps_in_the_card_and_tells_the_list_to_refresh(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))

        answer = await desk.htmx("POST", CHECK_IN, {"code": clinic.li["check_in_code"]})

        assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "checked-in"
        assert "签到成功" in answer.text and "李*" in answer.text and "<html" not in answer.text
        assert await status_of(db, clinic.li["id"]) == "checked_in"

    async def test_a_wrong_code_is_said_in_the_card_and_changes_nothing(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))
        wrong = f"{(int(clinic.zhang['check_in_code']) + 1) % 10**8:08d}"

        by_htmx = await desk.htmx("POST", CHECK_IN, {"code": wrong})
        by_form = await desk.post(CHECK_IN, {"code": wrong})

        assert by_htmx.status_code == 404 and "未找到今日待签到的预约" in by_htmx.text
        assert (
            by_form.status_code == 404
            and "未找到今日待签到的预约" in by_form.text
            and 'class="code-input invalid"' in by_form.text
        )
        assert await status_of(db, clinic.zhang["id"]) == "booked"

    async def test_not_yet_open_says_from_when(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(11, 0))

        answer = await desk.htmx("POST", CHECK_IN, {"code": clinic.zhang["check_in_code"]})

        assert answer.status_code == 409 and "12:30起可签到" in answer.text

    @pytest.mark.parametrize("code", ["", "1234", "abcdefgh"])
    async def test_a_malformed_code_is_refused_beside_the_box(self, console, clinic: Clinic, code):
        desk = await console("desk.wang")

        answer = await desk.post(CHECK_IN, {"code": code})

        assert answer.status_code == 422 and ("签到码格式不正确" in answer.text or "请填写签到码" in answer.text)

    async def test_without_the_csrf_token_nothing_happens(self, console, client, db, clock, clinic: Clinic):
        await at(clock, console, "desk.wang", today_at(13, 0))

        answer = await client.post(CHECK_IN, data={"code": clinic.zhang["check_in_code"]})

        assert answer.status_code == 403 and await status_of(db, clinic.zhang["id"]) == "booked"


class TestTheRowButtons:
    async def test_check_in_from_the_row_swaps_just_that_row(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))
        zhang = clinic.zhang["id"]

        answer = await desk.htmx("POST", f"/admin/frontdesk/appointments/{zhang}/check-in", {"next": DAY})

        assert answer.status_code == 200
        assert rows_of(answer.text) == [str(zhang)] and "已签到" in answer.text and "完成就诊" in answer.text
        assert f'id="session-{clinic.afternoon.id}" hx-swap-oob="true"' in answer.text
        assert '已签到 <b class="text-green">1</b>' in answer.text and "已签到：张*丰（1号）" in answer.text
        assert await status_of(db, zhang) == "checked_in"

    async def test_without_htmx_it_goes_back_to_the_list_with_a_message(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))
        back = f"{DAY}?q=%E5%BC%A0&ok=old"

        answer = await desk.post(f"/admin/frontdesk/appointments/{clinic.zhang['id']}/check-in", {"next": back})

        assert answer.status_code == 303
        assert unquote(answer.headers["location"]) == "/admin/frontdesk?q=张&ok=已签到：张*丰（1号）"

    async def test_then_complete_and_a_no_show_after_the_session(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(13, 0))
        await desk.post(f"/admin/frontdesk/appointments/{clinic.zhang['id']}/check-in", {"next": DAY})
        done = await desk.htmx("POST", f"/admin/frontdesk/appointments/{clinic.zhang['id']}/complete", {"next": DAY})
        desk = await at(clock, console, "desk.wang", clinic.afternoon.ends_at)
        missed = await desk.htmx("POST", f"/admin/frontdesk/appointments/{clinic.li['id']}/no-show", {"next": DAY})

        assert done.status_code == 200 and "已就诊" in done.text
        assert missed.status_code == 200 and "爽约" in missed.text
        assert (
            await status_of(db, clinic.zhang["id"]) == "completed" and await status_of(db, clinic.li["id"]) == "no_show"
        )

    async def test_a_refusal_is_a_toast_for_htmx_and_an_alert_without(self, console, db, clock, clinic: Clinic):
        desk = await at(clock, console, "desk.wang", today_at(11, 0))
        url = f"/admin/frontdesk/appointments/{clinic.zhang['id']}/no-show"

        by_htmx = await desk.htmx("POST", url, {"next": DAY})
        by_form = await desk.post(url, {"next": f"{DAY}?q=张"})

        assert by_htmx.status_code == 409 and by_htmx.headers["HX-Retarget"] == "#toast"
        assert "17:30后才能记录爽约" in by_htmx.text
        assert (
            by_form.status_code == 409
            and 'class="alert error"' in by_form.text
            and "17:30后才能记录爽约" in by_form.text
        )
        assert rows_of(by_form.text) == [str(clinic.zhang["id"])]  # the list as it was
        assert await status_of(db, clinic.zhang["id"]) == "booked"

    async def test_the_rows_offer_what_can_be_done_now(self, console, clock, clinic: Clinic):
        before = await (await at(clock, console, "desk.wang", today_at(9, 0))).get(DAY)
        during = await (await at(clock, console, "desk.wang", today_at(13, 0))).get(DAY)
        after = await (await at(clock, console, "desk.wang", clinic.afternoon.ends_at)).get(DAY)

        check_in = f'appointments/{clinic.zhang["id"]}/check-in" hx-target="closest tr"'
        no_show = f'appointments/{clinic.zhang["id"]}/no-show" hx-target="closest tr"'
        assert "12:30 起可签到" in before.text and 'hx-target="closest tr"' not in before.text
        assert check_in in during.text and no_show not in during.text
        assert no_show in after.text and check_in not in after.text

    async def test_another_hospitals_appointment_is_not_found(self, console, client, db, clock, login, clinic: Clinic):
        other = await make_catalog(db, name="乙市中心医院")
        theirs = await make_schedule(db, other, days_ahead=0, period=Period.AFTERNOON)
        booked = await book(client, login, theirs.id, "赵六")
        desk = await at(clock, console, "desk.wang", today_at(13, 0))

        moved = await desk.post(f"/admin/frontdesk/appointments/{booked['id']}/check-in", {"next": DAY})
        shown = await desk.get(f"/admin/frontdesk/appointments/{booked['id']}")
        missing = await desk.get("/admin/frontdesk/appointments/999999")

        assert moved.status_code == shown.status_code == missing.status_code == 404
        assert "预约不存在" in shown.text and "赵" not in shown.text
        assert await status_of(db, booked["id"]) == "booked"


class TestTheAppointmentPage:
    async def test_shows_the_appointment_masked_with_its_history(self, console, clinic: Clinic):
        page = await (await console("desk.wang")).get(f"/admin/frontdesk/appointments/{clinic.zhang['id']}")

        assert page.status_code == 200
        assert "张*丰" in page.text and "138****1111" in page.text and ID_NUMBER[-4:] in page.text
        assert "张三丰" not in page.text and ID_NUMBER not in page.text and "13800001111" not in page.text
        assert "待就诊" in page.text and "查看完整信息" not in page.text

    async def test_the_administrator_reveals_the_full_details_with_a_reason(self, console, db, clinic: Clinic):
        admin = await console("admin.li")
        url = f"/admin/frontdesk/appointments/{clinic.zhang['id']}"
        assert "查看完整信息" in (await admin.get(url)).text

        answer = await admin.post(f"{url}/reveal", {"reason": "电话无法接通，核实身份"})

        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        assert ID_NUMBER in answer.text and "13800001111" in answer.text and "张三丰" in answer.text
        async with db.session() as session:
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "visit_person.reveal")))
        assert row.detail["reason"] == "电话无法接通，核实身份" and ID_NUMBER not in str(row.detail)
        again = await admin.get(url)
        assert ID_NUMBER not in again.text  # once

    @pytest.mark.parametrize("reason", ["", "看"])
    async def test_no_reason_no_details(self, console, db, clinic: Clinic, reason):
        admin = await console("admin.li")

        answer = await admin.post(f"/admin/frontdesk/appointments/{clinic.zhang['id']}/reveal", {"reason": reason})

        assert answer.status_code == 422 and ID_NUMBER not in answer.text
        assert "请填写原因" in answer.text or "原因至少2个字" in answer.text
        async with db.session() as session:
            assert list(await session.scalars(select(AuditLog).where(AuditLog.action == "visit_person.reveal"))) == []

    @pytest.mark.parametrize("username", ["desk.wang", "dr.li"])
    async def test_the_front_desk_and_doctors_cannot_reveal(self, console, clinic: Clinic, username):
        browser = await console(username)

        answer = await browser.post(f"/admin/frontdesk/appointments/{clinic.zhang['id']}/reveal", {"reason": "想看看"})

        assert answer.status_code == 403 and ID_NUMBER not in answer.text


class TestWalkIn:
    async def test_pick_a_session_register_and_print_the_slip(self, console, db, clinic: Clinic):
        desk = await console("desk.wang")
        listed = await desk.get("/admin/walk-in")
        assert "余 2" in listed.text and f'name="schedule_id" value="{clinic.afternoon.id}"' in listed.text
        picked = await desk.get(f"/admin/walk-in?schedule_id={clinic.afternoon.id}")
        assert re.search(rf'value="{clinic.afternoon.id}" id="pick-{clinic.afternoon.id}"\s+checked', picked.text)

        answer = await desk.post(
            "/admin/walk-in",
            {
                "schedule_id": clinic.afternoon.id,
                "name": "赵六",
                "id_number": known_id(88),
                "phone": "13712345678",
            },
        )

        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/walk-in/")
        slip = await desk.get(answer.headers["location"])
        async with db.session() as session:
            walk_in = await session.scalar(select(Appointment).where(Appointment.channel == "onsite"))
        assert walk_in is not None and walk_in.queue_number == 7
        code = walk_in.check_in_code
        assert slip.status_code == 200 and f"{code[:4]} {code[4:]}" in slip.text and "<b>7</b>" in slip.text
        assert "赵*" in slip.text and "打印挂号单" in slip.text

    async def test_bad_details_are_shown_beside_their_fields_and_take_nothing(self, console, db, clinic: Clinic):
        desk = await console("desk.wang")

        answer = await desk.post(
            "/admin/walk-in",
            {"schedule_id": clinic.afternoon.id, "name": "赵六", "id_number": "110105199001011230", "phone": "123"},
        )

        assert answer.status_code == 422 and "身份证号码无效：校验码不正确" in answer.text
        assert 'value="赵六"' in answer.text
        fixed_id = await desk.post(
            "/admin/walk-in",
            {"schedule_id": clinic.afternoon.id, "name": "赵六", "id_number": known_id(89), "phone": "123"},
        )
        assert fixed_id.status_code == 422 and "手机号码无效" in fixed_id.text
        async with db.session() as session:
            assert await session.scalar(select(Appointment).where(Appointment.channel == "onsite")) is None

    async def test_when_none_is_left_the_clerk_is_told(self, console, db, clinic: Clinic):
        desk = await console("desk.wang")
        for serial in (901, 902):
            taken = await desk.post(
                "/admin/walk-in",
                {
                    "schedule_id": clinic.afternoon.id,
                    "name": "赵六",
                    "id_number": known_id(serial),
                    "phone": "13712345678",
                },
            )
            assert taken.status_code == 303

        answer = await desk.post(
            "/admin/walk-in",
            {
                "schedule_id": clinic.afternoon.id,
                "name": "钱七",
                "id_number": known_id(903),
                "phone": "13712345678",
            },
        )

        assert answer.status_code == 409 and "该时段现场号已挂完" in answer.text
        assert "已挂完" in (await desk.get("/admin/walk-in")).text
        async with db.session() as session:  # the refused registration left no patient behind
            assert await session.scalar(select(VisitPerson).where(VisitPerson.name == "钱七")) is None

    async def test_without_a_session_picked_nothing_is_registered(self, console, clinic: Clinic):
        desk = await console("desk.wang")

        answer = await desk.post("/admin/walk-in", {"name": "赵六", "id_number": known_id(90), "phone": "13712345678"})

        assert answer.status_code == 422 and "请先选择就诊时段" in answer.text and 'value="赵六"' in answer.text

    async def test_the_slip_is_only_for_walk_ins(self, console, clinic: Clinic):
        page = await (await console("desk.wang")).get(f"/admin/walk-in/{clinic.zhang['id']}")

        assert page.status_code == 404


class TestBans:
    @pytest.fixture
    async def ban(self, client, db, clock, login, clinic: Clinic) -> int:
        family = await book_family(client, await login("o-misses"), clinic.afternoon.id, ["孙八", "周九", "吴十"])
        assert len(family) == 3
        clock.set(clinic.afternoon.ends_at)
        async with db.session() as session:
            await mark_no_shows(session, now=clock.now())
        async with db.session() as session:
            found = await session.scalar(select(BookingBan))
        assert found is not None
        return found.id

    async def test_lists_the_banned_accounts_masked(self, console, ban):
        page = await (await console("admin.li")).get("/admin/bans")

        assert page.status_code == 200 and f'id="ban-{ban}"' in page.text
        assert "孙*" in page.text and "孙八" not in page.text and "90天内爽约3次" in page.text

    async def test_lifting_needs_a_reason(self, console, db, ban):
        admin = await console("admin.li")

        answer = await admin.post(f"/admin/bans/{ban}/lift", {"reason": ""})

        assert answer.status_code == 422 and "请填写原因" in answer.text
        async with db.session() as session:
            assert (await session.get_one(BookingBan, ban)).lifted_at is None

    async def test_lifting_with_a_reason_ends_it(self, console, db, ban):
        admin = await console("admin.li")

        answer = await admin.post(f"/admin/bans/{ban}/lift", {"reason": "患者住院，核实后解除"})

        assert answer.status_code == 303 and unquote(answer.headers["location"]) == "/admin/bans?ok=已提前解除限制"
        async with db.session() as session:
            lifted = await session.get_one(BookingBan, ban)
        assert lifted.lifted_at is not None and lifted.lift_reason == "患者住院，核实后解除"
        page = await admin.get(answer.headers["location"])
        assert f'id="ban-{ban}"' not in page.text and "已提前解除限制" in page.text


class TestWhoOpensWhat:
    @pytest.mark.parametrize(
        ("username", "path", "status"),
        [
            ("dr.li", DAY, 200),
            ("dr.li", "/admin/walk-in", 403),
            ("dr.li", "/admin/bans", 403),
            ("desk.wang", "/admin/walk-in", 200),
            ("desk.wang", "/admin/bans", 403),
            ("admin.li", "/admin/bans", 200),
        ],
    )
    async def test_each_role_opens_its_pages(self, console, clinic: Clinic, username, path, status):
        assert (await (await console(username)).get(path)).status_code == status

    async def test_a_doctor_sees_only_their_own_patients(self, console, db, login, clinic: Clinic):
        page = await (await console("dr.li")).get(DAY)

        assert rows_of(page.text) == [str(clinic.zhang["id"]), str(clinic.li["id"])]
        assert 'name="doctor_id"' not in page.text
