"""科室管理 and 医生管理 in the console: a hospital administrator keeps their hospital's departments and
doctors; forms refuse bad input beside the field and change nothing; another hospital is not found."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.conftest import Login
from tests.factories import Catalog, book_appointment, make_catalog, make_schedule, make_staff
from yiyue.booking.models import Appointment
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor

DOCTOR_FORM = {
    "name": "赵敏",
    "gender": "女",
    "title": "主治医师",
    "specialty": "哮喘",
    "intro": "",
    "fee_yuan": "12.5",
}


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def admin(db: Database, console: ConsoleLogin, catalog: Catalog) -> ConsoleClient:
    await make_staff(db, catalog=catalog, username="admin.a")
    return await console("admin.a")


async def departments(db: Database, hospital_id: int) -> list[Department]:
    async with db.session() as session:
        rows = await session.scalars(
            select(Department).where(Department.hospital_id == hospital_id).order_by(Department.id)
        )
        return list(rows)


async def doctors(db: Database, hospital_id: int) -> list[Doctor]:
    async with db.session() as session:
        return list(await session.scalars(select(Doctor).where(Doctor.hospital_id == hospital_id).order_by(Doctor.id)))


def error_beside(page: str, field: str) -> str:
    """The error shown in the label of the field ``field``."""
    found = re.search(rf'name="{field}"[^>]*>(?:(?!</label>).)*?<small class="error">([^<]+)</small>', page, re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


def row_order(page: str) -> list[str]:
    """The department names of the table, top to bottom."""
    return re.findall(r'<a href="/admin/departments/\d+"(?: class="strong")?>([^<]+)</a>', page)


@pytest.mark.parametrize(
    "path", ["/admin/departments", "/admin/doctors", "/admin/departments/new", "/admin/doctors/new"]
)
@pytest.mark.parametrize("role", ["platform_admin", "front_desk", "doctor"])
async def test_the_pages_are_for_hospital_administrators(db, console, catalog, path, role):
    staff = await make_staff(db, role=role, catalog=catalog)
    browser = await console(staff.username)

    assert (await browser.get(path)).status_code == 403


class TestDepartments:
    async def test_the_page_shows_both_levels_with_doctors_and_appointments_to_come(
        self, client, db, admin, catalog, login: Login
    ):
        schedule = await make_schedule(db, catalog)
        await book_appointment(client, await login(), schedule.id)

        page = await admin.get("/admin/departments")

        assert page.status_code == 200
        assert row_order(page.text) == ["内科", "心血管内科"]
        clinic_row = re.search(rf'id="department-{catalog.clinic.id}".*?</tr>', page.text, re.S)
        assert clinic_row is not None
        assert re.findall(r'<td class="num">(?:<a [^>]+>)?(\d+)', clinic_row.group(0)) == ["2", "1"]

    async def test_a_good_form_adds_a_clinic_under_its_parent(self, db, admin, catalog):
        form = await admin.get(f"/admin/departments/new?parent_id={catalog.parent.id}")
        assert re.search(rf'<option value="{catalog.parent.id}"\s+selected>内科</option>', form.text)

        answer = await admin.post(
            "/admin/departments/new", {"name": "呼吸内科", "parent_id": str(catalog.parent.id), "location": "2层"}
        )

        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/departments?ok=")
        added = (await departments(db, catalog.hospital.id))[-1]
        assert (added.name, added.parent_id, added.location, added.name_initials) == (
            "呼吸内科",
            catalog.parent.id,
            "2层",
            "hxnk",
        )

    async def test_a_name_taken_among_siblings_is_shown_beside_the_name_and_nothing_is_added(self, db, admin, catalog):
        answer = await admin.post("/admin/departments/new", {"name": "心血管内科", "parent_id": str(catalog.parent.id)})

        assert answer.status_code == 422
        assert error_beside(answer.text, "name") == "同一上级科室下已有同名科室"
        assert len(await departments(db, catalog.hospital.id)) == 2

    async def test_a_blank_name_is_refused(self, db, admin, catalog):
        answer = await admin.post("/admin/departments/new", {"name": "  ", "location": "1层"})

        assert answer.status_code == 422 and error_beside(answer.text, "name") == "请填写科室名称"
        assert len(await departments(db, catalog.hospital.id)) == 2

    async def test_editing_saves_and_goes_back(self, db, admin, catalog):
        page = await admin.get(f"/admin/departments/{catalog.clinic.id}")
        assert 'value="门诊楼3层"' in page.text

        answer = await admin.post(
            f"/admin/departments/{catalog.clinic.id}",
            {"name": "心内科", "parent_id": str(catalog.parent.id), "location": "门诊楼5层"},
        )

        assert answer.status_code == 303
        clinic = (await departments(db, catalog.hospital.id))[1]
        assert (clinic.name, clinic.location) == ("心内科", "门诊楼5层")

    async def test_a_clinic_with_doctors_cannot_become_top_level_and_says_so_beside_the_parent(
        self, db, admin, catalog
    ):
        answer = await admin.post(f"/admin/departments/{catalog.clinic.id}", {"name": "心血管内科"})

        assert answer.status_code == 422
        assert error_beside(answer.text, "parent_id") == "该科室还有医生，不能改为大科室"
        assert (await departments(db, catalog.hospital.id))[1].parent_id == catalog.parent.id

    async def test_moving_with_htmx_answers_the_rows_in_their_new_order(self, db, admin, catalog):
        await admin.post("/admin/departments/new", {"name": "外科"})

        answer = await admin.htmx("POST", f"/admin/departments/{catalog.parent.id}/move", {"direction": "down"})

        assert answer.status_code == 200
        assert answer.text.lstrip().startswith('<tbody id="department-rows">') and "<html" not in answer.text
        assert row_order(answer.text) == ["外科", "内科", "心血管内科"]
        assert 'class="dept-top row-moved"' in answer.text

    async def test_moving_without_htmx_goes_back_to_the_page(self, db, admin, catalog):
        await admin.post("/admin/departments/new", {"name": "外科"})

        answer = await admin.post(f"/admin/departments/{catalog.parent.id}/move", {"direction": "down"})

        assert answer.status_code == 303
        assert row_order((await admin.get("/admin/departments")).text)[:2] == ["外科", "内科"]

    async def test_closing_warns_with_the_appointments_left_and_cancels_none(
        self, client, db, admin, catalog, login: Login
    ):
        schedule = await make_schedule(db, catalog)
        booked = await book_appointment(client, await login(), schedule.id)
        page = await admin.get("/admin/departments")
        assert "该科室还有 1 个未就诊的预约，关闭不会取消它们" in page.text

        answer = await admin.post(f"/admin/departments/{catalog.clinic.id}/close")

        assert answer.status_code == 303
        shown = await admin.get(answer.headers["location"])
        assert "已关闭「心血管内科」，患者端不再显示，1 个未就诊的预约照常有效" in shown.text
        assert (await departments(db, catalog.hospital.id))[1].active is False
        async with db.session() as session:
            assert (await session.get_one(Appointment, booked["id"])).status == "booked"

    async def test_reopening_a_clinic_under_a_closed_parent_explains_why_not(self, db, admin, catalog):
        await admin.post(f"/admin/departments/{catalog.clinic.id}/close")
        await admin.post(f"/admin/departments/{catalog.parent.id}/close")

        answer = await admin.post(f"/admin/departments/{catalog.clinic.id}/reopen")

        assert answer.status_code == 409 and "所属大科室已关闭，请先恢复大科室" in answer.text
        assert (await departments(db, catalog.hospital.id))[1].active is False

    async def test_another_hospitals_department_is_a_not_found_page(self, db, admin):
        other = await make_catalog(db, name="乙医院")

        page = await admin.get(f"/admin/departments/{other.clinic.id}")
        closing = await admin.post(f"/admin/departments/{other.clinic.id}/close")

        assert page.status_code == closing.status_code == 404 and "科室不存在" in page.text
        assert (await departments(db, other.hospital.id))[1].active is True


class TestDoctors:
    async def test_the_list_filters_by_department_title_state_and_name(self, db, admin, catalog):
        await admin.post(f"/admin/doctors/{catalog.other_doctor.id}/leave")

        everyone = await admin.get("/admin/doctors")
        chiefs = await admin.get("/admin/doctors", params={"title": "主任医师"})
        gone = await admin.get("/admin/doctors", params={"active": "false", "department_id": ""})
        by_name = await admin.get("/admin/doctors", params={"q": "wf"})

        assert "李明华" in everyone.text and "王芳" in everyone.text and "¥50.00" in everyone.text
        assert "李明华" in chiefs.text and "王芳" not in chiefs.text
        assert "王芳" in gone.text and "李明华" not in gone.text and "已离开" in gone.text
        assert "王芳" in by_name.text and "李明华" not in by_name.text

    async def test_a_good_form_adds_the_doctor_with_the_fee_in_fen(self, db, admin, catalog):
        answer = await admin.post("/admin/doctors/new", {**DOCTOR_FORM, "department_id": str(catalog.clinic.id)})

        assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/doctors?ok=")
        added = (await doctors(db, catalog.hospital.id))[-1]
        assert (added.name, added.fee_fen, added.title, added.name_initials) == ("赵敏", 1250, "主治医师", "zm")

    @pytest.mark.parametrize(
        ("field", "value", "message"),
        [
            ("name", "赵", "姓名至少2个字"),
            ("fee_yuan", "12.345", "挂号费最多2位小数"),
            ("fee_yuan", "10000.01", "挂号费不能大于10000"),
            ("fee_yuan", "-1", "挂号费不能小于0"),
            ("fee_yuan", "十元", "挂号费须为数字"),
            ("gender", "未知", "性别取值无效"),
        ],
    )
    async def test_a_bad_form_shows_the_error_beside_the_field_and_adds_no_one(
        self, db, admin, catalog, field, value, message
    ):
        form = {**DOCTOR_FORM, "department_id": str(catalog.clinic.id), field: value}

        answer = await admin.post("/admin/doctors/new", form)

        assert answer.status_code == 422 and error_beside(answer.text, field) == message
        assert len(await doctors(db, catalog.hospital.id)) == 2

    async def test_a_top_level_department_is_refused_beside_the_department(self, db, admin, catalog):
        answer = await admin.post("/admin/doctors/new", {**DOCTOR_FORM, "department_id": str(catalog.parent.id)})

        assert answer.status_code == 422
        assert error_beside(answer.text, "department_id") == "所属科室须为本院开放中的二级科室"
        assert len(await doctors(db, catalog.hospital.id)) == 2

    async def test_the_edit_form_shows_the_fee_in_yuan_and_saves_changes(self, db, admin, catalog):
        page = await admin.get(f"/admin/doctors/{catalog.doctor.id}")
        assert 'value="50.00"' in page.text and 'value="李明华"' in page.text

        form = {**DOCTOR_FORM, "name": "李明华", "department_id": str(catalog.clinic.id), "fee_yuan": "80"}
        answer = await admin.post(f"/admin/doctors/{catalog.doctor.id}", form)

        assert answer.status_code == 303
        doctor = (await doctors(db, catalog.hospital.id))[0]
        assert (doctor.fee_fen, doctor.gender, doctor.title) == (8000, "女", "主治医师")

    async def test_the_doctor_page_counts_future_sessions_and_points_to_suspension(
        self, client, db, admin, catalog, login: Login
    ):
        schedule = await make_schedule(db, catalog)
        await make_schedule(db, catalog, days_ahead=2)
        await book_appointment(client, await login(), schedule.id)

        page = await admin.get(f"/admin/doctors/{catalog.doctor.id}")

        assert "该医生还有 <strong>2</strong> 个未结束的出诊时段，其中 <strong>1</strong> 个待就诊预约" in page.text
        assert f'href="/admin/schedules?doctor_id={catalog.doctor.id}"' in page.text and "停诊" in page.text
        assert "还有 2 个未结束的出诊时段（1 个待就诊预约），离开不会停诊" in page.text  # in the confirmation

    async def test_leaving_and_rejoining(self, db, admin, catalog):
        left = await admin.post(f"/admin/doctors/{catalog.doctor.id}/leave")

        assert left.status_code == 303 and left.headers["location"].startswith(
            f"/admin/doctors/{catalog.doctor.id}?ok="
        )
        assert (await doctors(db, catalog.hospital.id))[0].active is False
        assert "重新在职" in (await admin.get(left.headers["location"])).text

        await admin.post(f"/admin/doctors/{catalog.doctor.id}/rejoin")
        assert (await doctors(db, catalog.hospital.id))[0].active is True

    async def test_another_hospitals_doctor_opened_by_url_is_a_not_found_page(self, db, admin):
        other = await make_catalog(db, name="乙医院")

        page = await admin.get(f"/admin/doctors/{other.doctor.id}")
        saved = await admin.post(
            f"/admin/doctors/{other.doctor.id}", {**DOCTOR_FORM, "department_id": str(other.clinic.id)}
        )
        left = await admin.post(f"/admin/doctors/{other.doctor.id}/leave")

        assert page.status_code == 404 and "医生不存在" in page.text and "未找到" in page.text
        assert saved.status_code == left.status_code == 404
        theirs = (await doctors(db, other.hospital.id))[0]
        assert (theirs.name, theirs.active) == ("李明华", True)


async def test_the_doctor_list_sorts_by_fee_and_back(client, db, console) -> None:
    catalog = await make_catalog(db)
    admin = await make_staff(db, role="hospital_admin", catalog=catalog)
    browser = await console(admin.username)

    cheapest_first = await browser.get("/admin/doctors", params={"sort": "fee"})
    dearest_first = await browser.get("/admin/doctors", params={"sort": "-fee"})

    def order(page: str) -> list[str]:
        return sorted(("王芳", "李明华"), key=page.index)

    assert order(cheapest_first.text) == ["王芳", "李明华"]  # 20 yuan before 50
    assert order(dearest_first.text) == ["李明华", "王芳"]
    assert 'href="?sort=-fee&amp;page=1"' in cheapest_first.text  # clicking again turns the order round
