"""A hospital keeps its doctors (医生管理): who they are, their 科室 and fee (in fen), and their leaving,
which hides them from patients and leaves their schedules to 停诊."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import FAST_HASHER, Catalog, book_appointment, make_catalog, make_schedule, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.booking.models import Appointment
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.scheduling.models import Schedule

DOCTORS = "/api/v1/staff/doctors"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    await make_staff(db, catalog=catalog, username="admin.a")
    return await staff_login(client, "admin.a")


def doctor_body(catalog: Catalog, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "欧阳明远",
        "gender": "女",
        "title": "副主任医师",
        "department_id": catalog.clinic.id,
        "specialty": "心律失常",
        "intro": "擅长射频消融",
        "fee_fen": 3500,
    }
    body.update(overrides)
    return body


async def audit_rows(db: Database, action: str) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


async def doctor_count(db: Database) -> int:
    async with db.session() as session:
        return len(list(await session.scalars(select(Doctor.id))))


class TestCreating:
    async def test_a_new_doctor_works_from_now_on_and_patients_find_them(self, client, db, catalog, admin):
        answer = await client.post(DOCTORS, json=doctor_body(catalog), headers=admin)

        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert (
            created["active"] is True and created["fee_fen"] == 3500 and created["hospital_id"] == catalog.hospital.id
        )
        assert created["department"] == {"id": catalog.clinic.id, "name": "心血管内科"}
        found = (await client.get("/api/v1/doctors", params={"q": "oymy"})).json()
        assert [(d["id"], d["fee_fen"], d["title"]) for d in found["items"]] == [(created["id"], 3500, "副主任医师")]

    async def test_the_creation_is_audited(self, client, db, catalog, admin):
        created = (await client.post(DOCTORS, json=doctor_body(catalog), headers=admin)).json()

        [row] = await audit_rows(db, "doctor.create")
        assert row.subject == f"doctor:{created['id']}" and row.hospital_id == catalog.hospital.id
        assert row.detail["after"]["name"] == "欧阳明远" and row.detail["after"]["fee_fen"] == 3500
        assert "name_initials" not in row.detail["after"]

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", "李"),
            ("name", "名" * 31),
            ("gender", "未知"),
            ("title", "教授"),
            ("fee_fen", -1),
            ("fee_fen", 1_000_001),
            ("fee_fen", 12.5),
            ("specialty", "擅" * 201),
        ],
    )
    async def test_bad_input_is_refused_and_nothing_is_made(self, client, db, catalog, admin, field, value):
        before = await doctor_count(db)

        answer = await client.post(DOCTORS, json=doctor_body(catalog, **{field: value}), headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
        assert await doctor_count(db) == before

    async def test_the_department_must_be_an_open_clinic_of_the_hospital(self, client, db, catalog, admin):
        other = await make_catalog(db, name="乙医院")
        await client.post(f"/api/v1/staff/departments/{catalog.clinic.id}/close", headers=admin)
        before = await doctor_count(db)

        for department_id in (catalog.parent.id, other.clinic.id, catalog.clinic.id, 999_999):
            answer = await client.post(DOCTORS, json=doctor_body(catalog, department_id=department_id), headers=admin)
            assert answer.status_code == 422 and answer.json()["code"] == "INVALID_DOCTOR_DEPARTMENT", department_id
        assert await doctor_count(db) == before


class TestEditing:
    async def test_changes_title_fee_and_clinic_with_before_and_after_audited(self, client, db, catalog, admin):
        respiratory = await client.post(
            "/api/v1/staff/departments", json={"name": "呼吸内科", "parent_id": catalog.parent.id}, headers=admin
        )
        body = doctor_body(
            catalog,
            name=catalog.doctor.name,
            gender="男",
            title="主任医师",
            department_id=respiratory.json()["id"],
            specialty="冠心病、高血压",
            intro="从医二十年",
            fee_fen=8000,
        )

        answer = await client.put(f"{DOCTORS}/{catalog.doctor.id}", json=body, headers=admin)

        assert answer.status_code == 200, answer.text
        assert answer.json()["department"]["name"] == "呼吸内科" and answer.json()["fee_fen"] == 8000
        [row] = await audit_rows(db, "doctor.update")
        assert row.detail["changed"] == ["department_id", "fee_fen"]
        assert row.detail["before"] == {"department_id": catalog.clinic.id, "fee_fen": 5000}
        assert row.detail["after"] == {"department_id": respiratory.json()["id"], "fee_fen": 8000}

    async def test_a_new_fee_leaves_sessions_already_made_alone(self, client, db, catalog, admin):
        schedule = await make_schedule(db, catalog)
        body = doctor_body(catalog, name=catalog.doctor.name, fee_fen=9900)

        await client.put(f"{DOCTORS}/{catalog.doctor.id}", json=body, headers=admin)

        async with db.session() as session:
            assert (await session.get_one(Schedule, schedule.id)).fee_fen == 5000

    async def test_staying_in_a_clinic_that_closed_is_allowed(self, client, db, catalog, admin):
        await client.post(f"/api/v1/staff/departments/{catalog.clinic.id}/close", headers=admin)

        answer = await client.put(
            f"{DOCTORS}/{catalog.doctor.id}", json=doctor_body(catalog, name="李明华", intro="新简介"), headers=admin
        )

        assert answer.status_code == 200 and answer.json()["intro"] == "新简介"


class TestLeaving:
    async def test_a_doctor_who_left_is_hidden_from_patients_and_keeps_their_schedules(
        self, client, db, catalog, admin, login: Login
    ):
        schedule = await make_schedule(db, catalog)
        booked = await book_appointment(client, await login(), schedule.id)

        answer = await client.post(f"{DOCTORS}/{catalog.doctor.id}/leave", headers=admin)

        assert answer.status_code == 200 and answer.json()["active"] is False
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).status_code == 404
        listed = (await client.get("/api/v1/doctors", params={"hospital_id": catalog.hospital.id})).json()
        assert [d["name"] for d in listed["items"]] == ["王芳"]
        async with db.session() as session:
            assert (await session.get_one(Schedule, schedule.id)).status == "open"
            assert (await session.get_one(Appointment, booked["id"])).status == "booked"
        staff_view = await client.get(f"{DOCTORS}/{catalog.doctor.id}", headers=admin)
        assert staff_view.status_code == 200 and staff_view.json()["active"] is False
        [row] = await audit_rows(db, "doctor.leave")
        assert row.detail["after"] == {"active": False} and row.subject == f"doctor:{catalog.doctor.id}"

    async def test_a_doctor_who_rejoins_is_shown_again(self, client, db, catalog, admin):
        await client.post(f"{DOCTORS}/{catalog.doctor.id}/leave", headers=admin)

        answer = await client.post(f"{DOCTORS}/{catalog.doctor.id}/rejoin", headers=admin)

        assert answer.json()["active"] is True
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).status_code == 200
        assert len(await audit_rows(db, "doctor.rejoin")) == 1


class TestListing:
    async def test_filters_by_department_title_state_and_name(self, client, db, catalog, admin):
        respiratory = (
            await client.post(
                "/api/v1/staff/departments", json={"name": "呼吸内科", "parent_id": catalog.parent.id}, headers=admin
            )
        ).json()
        zhao = (
            await client.post(
                DOCTORS,
                json=doctor_body(catalog, name="赵敏", title="住院医师", department_id=respiratory["id"]),
                headers=admin,
            )
        ).json()
        await client.post(f"{DOCTORS}/{catalog.other_doctor.id}/leave", headers=admin)

        async def names(**params: Any) -> list[str]:
            answer = await client.get(DOCTORS, params=params, headers=admin)
            assert answer.status_code == 200, answer.text
            return [d["name"] for d in answer.json()["items"]]

        assert await names() == ["李明华", "赵敏", "王芳"]  # working doctors first, in department order
        assert await names(department_id=catalog.clinic.id) == ["李明华", "王芳"]
        assert await names(department_id=catalog.parent.id) == ["李明华", "赵敏", "王芳"]
        assert await names(title="住院医师") == [zhao["name"]]
        assert await names(active="false") == ["王芳"]
        assert await names(active="true", q="lmh") == ["李明华"]
        assert await names(q="赵") == ["赵敏"]
        page = (await client.get(DOCTORS, params={"page": 2, "page_size": 2}, headers=admin)).json()
        assert page["total"] == 3 and [d["name"] for d in page["items"]] == ["王芳"]

    async def test_another_hospitals_doctors_are_never_listed(self, client, db, catalog, admin):
        other = await make_catalog(db, name="乙医院")

        mine = (await client.get(DOCTORS, headers=admin)).json()
        theirs = await client.get(DOCTORS, params={"hospital_id": other.hospital.id}, headers=admin)
        by_their_clinic = (await client.get(DOCTORS, params={"department_id": other.clinic.id}, headers=admin)).json()

        assert {d["hospital_id"] for d in mine["items"]} == {catalog.hospital.id}
        assert theirs.status_code == 404 and theirs.json()["code"] == "HOSPITAL_NOT_FOUND"
        assert by_their_clinic["total"] == 0
