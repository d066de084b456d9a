"""A hospital keeps its departments (科室管理): two levels, unique names among siblings, an order patients
see, and closing, which hides a department from patients and never touches its appointments."""

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
from yiyue.hospitals.models import Department

DEPARTMENTS = "/api/v1/staff/departments"


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


async def create(client: httpx.AsyncClient, auth: dict[str, str], **body: Any) -> dict[str, Any]:
    answer = await client.post(DEPARTMENTS, json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def patient_tree(client: httpx.AsyncClient, hospital_id: int) -> list[tuple[str, list[str]]]:
    body = (await client.get(f"/api/v1/hospitals/{hospital_id}/departments")).json()
    return [(top["name"], [c["name"] for c in top["children"]]) for top in body["items"]]


async def staff_tree(client: httpx.AsyncClient, auth: dict[str, str]) -> list[tuple[str, bool, list[tuple[str, bool]]]]:
    body = (await client.get(DEPARTMENTS, headers=auth)).json()
    return [(t["name"], t["active"], [(c["name"], c["active"]) for c in t["children"]]) for t in body["items"]]


async def audit_rows(db: Database, action: str) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


class TestCreating:
    async def test_a_top_level_department_and_its_clinics_go_last_and_patients_see_them(
        self, client, db, catalog, admin
    ):
        surgery = await create(client, admin, name="外科", intro="普外、骨科")
        general = await create(client, admin, name="普通外科", parent_id=surgery["id"], location="门诊楼4层")
        await create(client, admin, name="骨科", parent_id=surgery["id"])

        assert surgery["parent_id"] is None and surgery["active"] is True and surgery["sort_order"] == 2
        assert general["parent_id"] == surgery["id"] and general["hospital_id"] == catalog.hospital.id
        assert await patient_tree(client, catalog.hospital.id) == [
            ("内科", ["心血管内科"]),
            ("外科", ["普通外科", "骨科"]),
        ]
        found = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments", params={"q": "ptwk"})).json()
        assert [c["name"] for c in found["items"][0]["children"]] == ["普通外科"]

    async def test_the_creation_is_audited(self, client, db, catalog, admin):
        created = await create(client, admin, name="外科")

        [row] = await audit_rows(db, "department.create")
        assert row.subject == f"department:{created['id']}" and row.hospital_id == catalog.hospital.id
        assert row.detail["after"] == {"name": "外科", "parent_id": None, "location": "", "intro": ""}

    async def test_a_name_is_unique_among_siblings_only(self, client, db, catalog, admin):
        duplicate_clinic = await client.post(
            DEPARTMENTS, json={"name": "心血管内科", "parent_id": catalog.parent.id}, headers=admin
        )
        duplicate_top = await client.post(DEPARTMENTS, json={"name": "内科"}, headers=admin)
        surgery = await create(client, admin, name="外科")
        elsewhere = await client.post(
            DEPARTMENTS, json={"name": "心血管内科", "parent_id": surgery["id"]}, headers=admin
        )

        for refused in (duplicate_clinic, duplicate_top):
            assert refused.status_code == 409 and refused.json()["code"] == "DEPARTMENT_NAME_TAKEN"
        assert elsewhere.status_code == 201

    async def test_there_are_two_levels_only(self, client, db, catalog, admin):
        under_a_clinic = await client.post(
            DEPARTMENTS, json={"name": "冠心病门诊", "parent_id": catalog.clinic.id}, headers=admin
        )

        assert under_a_clinic.status_code == 422 and under_a_clinic.json()["code"] == "INVALID_PARENT_DEPARTMENT"

    async def test_the_parent_must_be_of_the_same_hospital(self, client, db, admin):
        other = await make_catalog(db, name="乙医院")

        answer = await client.post(DEPARTMENTS, json={"name": "骨科", "parent_id": other.parent.id}, headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_PARENT_DEPARTMENT"

    @pytest.mark.parametrize("body", [{"name": ""}, {"name": "科" * 61}, {"name": "外科", "location": "楼" * 101}])
    async def test_bad_input_is_refused(self, client, admin, body):
        answer = await client.post(DEPARTMENTS, json=body, headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"

    async def test_a_platform_admin_names_the_hospital(self, client, db, catalog):
        await make_staff(db, role="platform_admin", username="root")
        auth = await staff_login(client, "root")

        unnamed = await client.post(DEPARTMENTS, json={"name": "外科"}, headers=auth)
        named = await client.post(DEPARTMENTS, json={"name": "外科", "hospital_id": catalog.hospital.id}, headers=auth)
        listed = await client.get(DEPARTMENTS, headers=auth)

        assert unnamed.status_code == 422 and unnamed.json()["code"] == "HOSPITAL_ID_REQUIRED"
        assert named.status_code == 201 and named.json()["hospital_id"] == catalog.hospital.id
        assert listed.status_code == 422 and listed.json()["code"] == "HOSPITAL_ID_REQUIRED"


class TestEditing:
    async def test_renames_and_relocates_with_the_change_audited(self, client, db, catalog, admin):
        answer = await client.put(
            f"{DEPARTMENTS}/{catalog.clinic.id}",
            json={"name": "心内科", "parent_id": catalog.parent.id, "location": "门诊楼5层", "intro": ""},
            headers=admin,
        )

        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "心内科" and answer.json()["location"] == "门诊楼5层"
        assert await patient_tree(client, catalog.hospital.id) == [("内科", ["心内科"])]
        [row] = await audit_rows(db, "department.update")
        assert row.detail["changed"] == ["name", "location"]
        assert row.detail["before"] == {"name": "心血管内科", "location": "门诊楼3层"}
        assert row.detail["after"] == {"name": "心内科", "location": "门诊楼5层"}

    async def test_a_clinic_moves_to_another_parent_and_goes_last_there(self, client, db, catalog, admin):
        surgery = await create(client, admin, name="外科")
        await create(client, admin, name="骨科", parent_id=surgery["id"])

        moved = await client.put(
            f"{DEPARTMENTS}/{catalog.clinic.id}", json={"name": "心血管内科", "parent_id": surgery["id"]}, headers=admin
        )

        assert moved.status_code == 200 and moved.json()["sort_order"] == 2
        assert await patient_tree(client, catalog.hospital.id) == [("内科", []), ("外科", ["骨科", "心血管内科"])]

    async def test_a_top_level_department_with_clinics_stays_top_level(self, client, db, catalog, admin):
        surgery = await create(client, admin, name="外科")

        answer = await client.put(
            f"{DEPARTMENTS}/{catalog.parent.id}", json={"name": "内科", "parent_id": surgery["id"]}, headers=admin
        )

        assert answer.status_code == 409 and answer.json()["code"] == "DEPARTMENT_HAS_CLINICS"

    async def test_a_clinic_with_doctors_stays_a_clinic(self, client, db, catalog, admin):
        answer = await client.put(f"{DEPARTMENTS}/{catalog.clinic.id}", json={"name": "心血管内科"}, headers=admin)

        assert answer.status_code == 409 and answer.json()["code"] == "DEPARTMENT_HAS_DOCTORS"

    async def test_a_department_is_not_its_own_parent(self, client, db, catalog, admin):
        surgery = await create(client, admin, name="外科")

        answer = await client.put(
            f"{DEPARTMENTS}/{surgery['id']}", json={"name": "外科", "parent_id": surgery["id"]}, headers=admin
        )

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_PARENT_DEPARTMENT"

    async def test_renaming_onto_a_siblings_name_is_refused(self, client, db, catalog, admin):
        await create(client, admin, name="呼吸内科", parent_id=catalog.parent.id)

        answer = await client.put(
            f"{DEPARTMENTS}/{catalog.clinic.id}",
            json={"name": "呼吸内科", "parent_id": catalog.parent.id},
            headers=admin,
        )

        assert answer.status_code == 409 and answer.json()["code"] == "DEPARTMENT_NAME_TAKEN"


class TestOrdering:
    async def test_moving_up_and_down_swaps_with_the_neighbour_patients_see(self, client, db, catalog, admin):
        for name in ("呼吸内科", "消化内科"):
            await create(client, admin, name=name, parent_id=catalog.parent.id)
        digestion = (await client.get(DEPARTMENTS, headers=admin)).json()["items"][0]["children"][2]

        up = await client.post(f"{DEPARTMENTS}/{digestion['id']}/move", json={"direction": "up"}, headers=admin)

        assert up.status_code == 200, up.text
        assert await patient_tree(client, catalog.hospital.id) == [("内科", ["心血管内科", "消化内科", "呼吸内科"])]
        await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/move", json={"direction": "down"}, headers=admin)
        assert await patient_tree(client, catalog.hospital.id) == [("内科", ["消化内科", "心血管内科", "呼吸内科"])]
        [first, _] = await audit_rows(db, "department.move")
        assert first.detail == {"direction": "up", "before": {"position": 3}, "after": {"position": 2}}

    async def test_top_level_departments_move_among_themselves(self, client, db, catalog, admin):
        await create(client, admin, name="外科")
        surgery_first = await client.post(
            f"{DEPARTMENTS}/{catalog.parent.id}/move", json={"direction": "down"}, headers=admin
        )

        assert surgery_first.status_code == 200
        assert [name for name, _ in await patient_tree(client, catalog.hospital.id)] == ["外科", "内科"]

    async def test_the_first_does_not_move_up(self, client, db, catalog, admin):
        answer = await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/move", json={"direction": "up"}, headers=admin)

        assert answer.status_code == 200 and answer.json()["sort_order"] == catalog.clinic.sort_order
        assert await audit_rows(db, "department.move") == []

    async def test_only_up_or_down(self, client, catalog, admin):
        answer = await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/move", json={"direction": "left"}, headers=admin)

        assert answer.status_code == 422


class TestClosing:
    async def test_a_closed_clinic_and_its_doctors_are_hidden_from_patients_and_appointments_stay(
        self, client, db, catalog, admin, login: Login
    ):
        schedule = await make_schedule(db, catalog)
        booked = await book_appointment(client, await login(), schedule.id)

        closed = await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/close", headers=admin)

        assert closed.status_code == 200 and closed.json()["active"] is False
        assert await patient_tree(client, catalog.hospital.id) == [("内科", [])]
        assert (await client.get(f"/api/v1/departments/{catalog.clinic.id}")).status_code == 404
        assert (await client.get(f"/api/v1/departments/{catalog.clinic.id}/availability")).status_code == 404
        assert (await client.get("/api/v1/doctors", params={"hospital_id": catalog.hospital.id})).json()["total"] == 0
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).status_code == 404
        async with db.session() as session:
            assert (await session.get_one(Appointment, booked["id"])).status == "booked"
        assert await staff_tree(client, admin) == [("内科", True, [("心血管内科", False)])]
        [row] = await audit_rows(db, "department.close")
        assert row.detail["before"] == {"active": True} and row.detail["after"] == {"active": False}

    async def test_closing_a_top_level_department_hides_its_clinics_until_it_reopens(self, client, db, catalog, admin):
        await client.post(f"{DEPARTMENTS}/{catalog.parent.id}/close", headers=admin)

        assert await patient_tree(client, catalog.hospital.id) == []
        assert (await client.get(f"/api/v1/departments/{catalog.clinic.id}")).status_code == 404
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).status_code == 404

        reopened = await client.post(f"{DEPARTMENTS}/{catalog.parent.id}/reopen", headers=admin)

        assert reopened.json()["active"] is True
        assert await patient_tree(client, catalog.hospital.id) == [("内科", ["心血管内科"])]
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).status_code == 200

    async def test_a_clinic_reopens_only_under_an_open_parent(self, client, db, catalog, admin):
        await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/close", headers=admin)
        await client.post(f"{DEPARTMENTS}/{catalog.parent.id}/close", headers=admin)

        answer = await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/reopen", headers=admin)

        assert answer.status_code == 409 and answer.json()["code"] == "PARENT_DEPARTMENT_CLOSED"
        async with db.session() as session:
            assert (await session.get_one(Department, catalog.clinic.id)).active is False

    async def test_closing_twice_is_audited_once(self, client, db, catalog, admin):
        for _ in range(2):
            answer = await client.post(f"{DEPARTMENTS}/{catalog.clinic.id}/close", headers=admin)
            assert answer.status_code == 200

        assert len(await audit_rows(db, "department.close")) == 1

    async def test_no_new_clinic_goes_under_a_closed_department(self, client, db, catalog, admin):
        await client.post(f"{DEPARTMENTS}/{catalog.parent.id}/close", headers=admin)

        answer = await client.post(
            DEPARTMENTS, json={"name": "呼吸内科", "parent_id": catalog.parent.id}, headers=admin
        )

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_PARENT_DEPARTMENT"
