"""查看完整信息: a hospital administrator, with a reason, sees a patient's full ID number and phone once;
the access is audited with the reason and never the values. Nobody else may, and another hospital's
patient is not found."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    id_number,
    make_catalog,
    make_schedule,
    make_staff,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Schedule


def known_id(serial: int) -> str:
    """A valid ID number no default test patient has (their birth date is 1990-01-01)."""
    return id_number(date(1985, 6, 15), serial)


REASON = {"reason": "患者电话无法接通，需核实身份"}
ID_NUMBER = known_id(123)
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def schedule(db: Database, catalog: Catalog) -> Schedule:
    return await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)


@pytest.fixture
async def appointment(client, login: Login, schedule: Schedule) -> dict:
    auth = await login()
    person = await client.post(
        "/api/v1/me/patients",
        json={"name": "张三丰", "id_number": ID_NUMBER, "phone": PHONE, "relationship": "self"},
        headers=auth,
    )
    assert person.status_code == 201, person.text
    booked = await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule.id, "patient_id": person.json()["id"]},
        headers={**auth, "Idempotency-Key": "reveal-test"},
    )
    assert booked.status_code == 201, booked.text
    return booked.json()


def url(appointment_id: int) -> str:
    return f"/api/v1/staff/appointments/{appointment_id}/reveal"


async def audit_rows(db: Database) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == "visit_person.reveal")))


async def test_an_administrator_sees_the_full_details_with_a_reason(client, db, catalog, appointment):
    await make_staff(db, catalog=catalog, username="admin.li")

    answer = await client.post(url(appointment["id"]), json=REASON, headers=await staff_login(client, "admin.li"))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "appointment_id": appointment["id"],
        "visit_person_id": appointment["patient"]["id"],
        "name": "张三丰",
        "sex": "男" if int(ID_NUMBER[16]) % 2 else "女",
        "birth_date": "1985-06-15",
        "id_number": ID_NUMBER,
        "phone": PHONE,
    }
    assert answer.headers["cache-control"] == "no-store"


async def test_each_reveal_is_audited_with_the_reason_and_never_the_values(client, db, catalog, appointment):
    admin = await make_staff(db, catalog=catalog, username="admin.li")
    auth = await staff_login(client, "admin.li")

    await client.post(url(appointment["id"]), json=REASON, headers=auth)
    await client.post(url(appointment["id"]), json={"reason": "再次核实"}, headers=auth)

    rows = await audit_rows(db)
    assert [r.detail["reason"] for r in rows] == [REASON["reason"], "再次核实"]
    for row in rows:
        assert row.actor == f"staff:{admin.id}" and row.subject == f"visit_person:{appointment['patient']['id']}"
        assert row.hospital_id == catalog.hospital.id and row.detail["appointment_id"] == appointment["id"]
        assert ID_NUMBER not in str(row.detail) and PHONE not in str(row.detail)


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": " 看 "}, {"reason": "x" * 101}, {**REASON, "x": 1}])
async def test_without_a_proper_reason_nothing_is_shown(client, db, catalog, appointment, body):
    await make_staff(db, catalog=catalog, username="admin.li")

    answer = await client.post(url(appointment["id"]), json=body, headers=await staff_login(client, "admin.li"))

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
    assert ID_NUMBER not in answer.text and PHONE not in answer.text
    assert await audit_rows(db) == []


async def test_another_hospitals_patient_is_not_found(client, db, appointment):
    other = await make_catalog(db, name="乙市中心医院")
    await make_staff(db, catalog=other, username="admin.b")
    auth = await staff_login(client, "admin.b")

    foreign = await client.post(url(appointment["id"]), json=REASON, headers=auth)
    missing = await client.post(url(999_999), json=REASON, headers=auth)

    assert foreign.status_code == 404 and foreign.json()["code"] == "APPOINTMENT_NOT_FOUND"
    assert foreign.json() == missing.json() and ID_NUMBER not in foreign.text
    assert await audit_rows(db) == []


@pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
async def test_nobody_but_the_hospitals_administrator_may(client, db, catalog, appointment, role):
    await make_staff(db, role=role, catalog=catalog, username="someone")

    answer = await client.post(url(appointment["id"]), json=REASON, headers=await staff_login(client, "someone"))

    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
    assert ID_NUMBER not in answer.text and PHONE not in answer.text
    assert await audit_rows(db) == []
