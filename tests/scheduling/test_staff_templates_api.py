"""Weekly templates (排班模板) through the staff API: a hospital administrator saves a doctor's whole week at
once; a wrong cell is named and nothing is saved; other hospitals and other roles are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.factories import FAST_HASHER, Catalog, make_catalog, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    return await staff_login(client, (await make_staff(db, catalog=catalog)).username)


def week_url(doctor_id: int) -> str:
    return f"/api/v1/staff/doctors/{doctor_id}/templates"


def cell(weekday: int, period: str, capacity: int, **more: Any) -> dict[str, Any]:
    return {"weekday": weekday, "period": period, "capacity": capacity, **more}


WEEK = [
    cell(0, "morning", 20, onsite_quota=4, slot_minutes=20),
    cell(2, "afternoon", 12),
    cell(4, "evening", 8, active=False),
]


async def test_a_hospital_admin_saves_a_doctors_week_and_reads_it_back(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, admin: dict[str, str]
) -> None:
    saved = await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)

    assert saved.status_code == 200, saved.text
    read = await client.get(week_url(catalog.doctor.id), headers=admin)
    assert read.json() == saved.json()
    body = read.json()
    assert body["doctor_id"] == catalog.doctor.id and body["doctor_name"] == "李明华"
    assert [(c["weekday_label"], c["period_label"], c["capacity"]) for c in body["cells"]] == [
        ("周一", "上午", 20),
        ("周三", "下午", 12),
        ("周五", "晚上", 8),
    ]
    monday = body["cells"][0]
    assert (monday["onsite_quota"], monday["slot_minutes"], monday["active"]) == (4, 20, True)
    assert body["cells"][2]["active"] is False
    async with db.session() as session:
        [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "template.save")))
    assert row.subject == f"doctor:{catalog.doctor.id}" and row.hospital_id == catalog.hospital.id
    assert row.detail["before"] == {}
    assert row.detail["after"]["0-morning"] == {"capacity": 20, "onsite_quota": 4, "slot_minutes": 20, "active": True}


async def test_saving_again_replaces_the_whole_week(
    client: httpx.AsyncClient, catalog: Catalog, admin: dict[str, str]
) -> None:
    await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)

    answer = await client.put(
        week_url(catalog.doctor.id),
        json={"cells": [cell(0, "morning", 25), cell(5, "morning", 10), cell(2, "afternoon", 0)]},
        headers=admin,
    )

    assert answer.status_code == 200, answer.text
    cells = answer.json()["cells"]
    assert [(c["weekday"], c["period"], c["capacity"], c["onsite_quota"]) for c in cells] == [
        (0, "morning", 25, 0),
        (5, "morning", 10, 0),
    ]


async def test_each_wrong_cell_is_named_and_nothing_is_saved(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, admin: dict[str, str]
) -> None:
    await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)

    answer = await client.put(
        week_url(catalog.doctor.id),
        json={
            "cells": [
                cell(0, "morning", 30),
                cell(1, "morning", 10, onsite_quota=11),
                cell(2, "evening", 0, onsite_quota=2),
                cell(3, "afternoon", 12, slot_minutes=5),
                cell(4, "morning", 500),
            ]
        },
        headers=admin,
    )

    assert answer.status_code == 422 and answer.json()["code"] == "INVALID_TEMPLATE"
    assert answer.json()["detail"]["cells"] == {
        "1-morning": {"onsite_quota": "现场号不能多于号源数"},
        "2-evening": {"capacity": "请填写号源数，或清空本格"},
        "3-afternoon": {"slot_minutes": "每号时长须为10-60分钟，留空为自动"},
        "4-morning": {"capacity": "号源数须为1-200"},
    }
    unchanged = (await client.get(week_url(catalog.doctor.id), headers=admin)).json()["cells"]
    assert [(c["weekday"], c["capacity"]) for c in unchanged] == [(0, 20), (2, 12), (4, 8)]
    async with db.session() as session:
        assert len(list(await session.scalars(select(AuditLog).where(AuditLog.action == "template.save")))) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"cells": [cell(7, "morning", 10)]},
        {"cells": [cell(0, "night", 10)]},
        {"cells": [{**cell(0, "morning", 10), "colour": "red"}]},
        {"cells": [cell(0, "morning", "many")]},
    ],
)
async def test_malformed_cells_are_refused(
    client: httpx.AsyncClient, catalog: Catalog, admin: dict[str, str], body: dict[str, Any]
) -> None:
    answer = await client.put(week_url(catalog.doctor.id), json=body, headers=admin)

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


async def test_the_same_cell_twice_is_refused(
    client: httpx.AsyncClient, catalog: Catalog, admin: dict[str, str]
) -> None:
    answer = await client.put(
        week_url(catalog.doctor.id), json={"cells": [cell(0, "morning", 10), cell(0, "morning", 12)]}, headers=admin
    )

    assert answer.status_code == 422 and answer.json()["detail"]["cells"] == {
        "0-morning": {"__all__": "周一上午重复填写"}
    }


async def test_a_doctor_who_left_gets_no_new_sessions_but_may_be_cleared(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, admin: dict[str, str]
) -> None:
    await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)
    async with db.session() as session:
        (await session.get_one(Doctor, catalog.doctor.id)).active = False

    refused = await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)
    cleared = await client.put(week_url(catalog.doctor.id), json={"cells": []}, headers=admin)

    assert refused.status_code == 409 and refused.json()["code"] == "DOCTOR_INACTIVE"
    assert cleared.status_code == 200 and cleared.json()["cells"] == []


async def test_another_hospitals_doctor_is_not_found(
    client: httpx.AsyncClient, db: Database, admin: dict[str, str]
) -> None:
    other = await make_catalog(db, name="别家医院")

    read = await client.get(week_url(other.doctor.id), headers=admin)
    written = await client.put(week_url(other.doctor.id), json={"cells": WEEK}, headers=admin)
    missing = await client.get(week_url(999_999), headers=admin)

    for answer in (read, written, missing):
        assert answer.status_code == 404 and answer.json()["code"] == "DOCTOR_NOT_FOUND"
    stranger = await staff_login(client, (await make_staff(db, catalog=other)).username)
    assert (await client.get(week_url(other.doctor.id), headers=stranger)).json()["cells"] == []


@pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
async def test_only_a_hospital_admin_changes_templates(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, role: str
) -> None:
    auth = await staff_login(client, (await make_staff(db, role=role, catalog=catalog)).username)

    answer = await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=auth)

    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"


async def test_a_doctor_reads_their_own_week_only(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, admin: dict[str, str]
) -> None:
    await client.put(week_url(catalog.doctor.id), json={"cells": WEEK}, headers=admin)
    doctor = await staff_login(client, (await make_staff(db, role="doctor", catalog=catalog)).username)

    own = await client.get(week_url(catalog.doctor.id), headers=doctor)
    colleague = await client.get(week_url(catalog.other_doctor.id), headers=doctor)

    assert own.status_code == 200 and len(own.json()["cells"]) == 3
    assert colleague.status_code == 404


async def test_a_patient_token_or_none_is_refused(client: httpx.AsyncClient, catalog: Catalog, login: Any) -> None:
    patient = await login()

    assert (await client.get(week_url(catalog.doctor.id))).status_code == 401
    assert (await client.get(week_url(catalog.doctor.id), headers=patient)).json()["code"] == "STAFF_ONLY"
