"""The front desk's day through the staff API: finding a patient by check-in code, the end of their phone
number or their name, and the day's sessions with where their patients stand."""

from __future__ import annotations

import uuid
from datetime import time, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW, Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    keep_onsite,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Schedule

LIST = "/api/v1/staff/appointments"
SESSIONS = "/api/v1/staff/sessions"
IN_WINDOW = at_local(NOW.date(), time(13, 0))


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def afternoon(db: Database, catalog: Catalog) -> Schedule:
    return await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=6)


@pytest.fixture
async def desk(db: Database, catalog: Catalog) -> dict[str, str]:
    return {"username": (await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang")).username}


async def book(
    client: httpx.AsyncClient,
    login: Login,
    schedule_id: int,
    *,
    name: str,
    phone: str = "13812345678",
    auth: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A patient (by default a new one) books the schedule for a new visit person of that name and phone."""
    auth = auth or await login()
    person = await client.post("/api/v1/me/patients", json=patient_body(name=name, phone=phone), headers=auth)
    assert person.status_code == 201, person.text
    answer = await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def ids(client: httpx.AsyncClient, auth: dict[str, str], query: str) -> list[int]:
    answer = await client.get(f"{LIST}?{query}", headers=auth)
    assert answer.status_code == 200, answer.text
    return [a["id"] for a in answer.json()["items"]]


class TestSearch:
    async def test_finds_a_patient_by_check_in_code_phone_tail_or_name(self, client, login, afternoon, desk):
        zhang = await book(client, login, afternoon.id, name="张三丰", phone="13800001111")
        li = await book(client, login, afternoon.id, name="李四", phone="13900002222")
        ouyang = await book(client, login, afternoon.id, name="欧阳三娜", phone="13700001111")
        auth = await staff_login(client, desk["username"])

        assert await ids(client, auth, f"q={zhang['check_in_code']}") == [zhang["id"]]
        assert await ids(client, auth, "q=2222") == [li["id"]]
        assert await ids(client, auth, "q=1111") == [zhang["id"], ouyang["id"]]
        assert await ids(client, auth, "q=张三丰") == [zhang["id"]]
        assert await ids(client, auth, "q=三") == [zhang["id"], ouyang["id"]]
        assert await ids(client, auth, "q=王五") == []

    async def test_what_is_found_is_still_masked(self, client, login, afternoon, desk):
        await book(client, login, afternoon.id, name="张三丰", phone="13800001111")
        auth = await staff_login(client, desk["username"])

        answer = await client.get(f"{LIST}?q=张三丰", headers=auth)

        assert answer.json()["items"][0]["patient"]["name_masked"] == "张*丰"
        assert "张三丰" not in answer.text and "1111" not in answer.text

    async def test_a_search_combines_with_the_other_filters(self, client, db, login, catalog, afternoon, desk):
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        today = await book(client, login, afternoon.id, name="张三丰")
        later = await book(client, login, tomorrow.id, name="张三")
        auth = await staff_login(client, desk["username"])

        assert await ids(client, auth, f"q=张三&date={NOW.date().isoformat()}") == [today["id"]]
        assert await ids(client, auth, "q=张三&status=booked") == [today["id"], later["id"]]
        assert await ids(client, auth, "q=张三&status=completed") == []

    async def test_a_percent_sign_is_a_character_not_a_wildcard(self, client, login, afternoon, desk):
        await book(client, login, afternoon.id, name="张三丰")
        auth = await staff_login(client, desk["username"])

        assert await ids(client, auth, "q=%25") == []

    @pytest.mark.parametrize("q", ["123", "1234567", "138000011112"])
    async def test_other_numbers_are_refused(self, client, desk, q):
        answer = await client.get(f"{LIST}?q={q}", headers=await staff_login(client, desk["username"]))

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_SEARCH"

    async def test_the_audit_row_names_the_kind_of_search_never_what_was_typed(
        self, client, db, login, afternoon, desk
    ):
        zhang = await book(client, login, afternoon.id, name="张三丰", phone="13800001111")
        auth = await staff_login(client, desk["username"])

        for q in ("张三丰", "1111", zhang["check_in_code"]):
            await client.get(f"{LIST}?q={q}", headers=auth)

        async with db.session() as session:
            rows = list(await session.scalars(select(AuditLog).where(AuditLog.action == "appointment.list")))
        assert [r.detail["filters"]["search"] for r in rows] == ["name", "phone_tail", "code"]
        assert all(r.hospital_id == afternoon.hospital_id for r in rows)
        for secret in ("张三丰", "1111", zhang["check_in_code"]):
            assert secret not in str([r.detail for r in rows])

    async def test_another_hospitals_patients_are_never_found(self, client, db, login, desk):
        other = await make_catalog(db, name="乙市中心医院")
        theirs = await make_schedule(db, other, days_ahead=0, period=Period.AFTERNOON)
        found = await book(client, login, theirs.id, name="张三丰", phone="13800001111")
        auth = await staff_login(client, desk["username"])

        for q in ("张三丰", "1111", found["check_in_code"]):
            assert await ids(client, auth, f"q={q}") == []


class TestSessions:
    async def test_each_session_of_the_day_with_its_counts_and_slots_left(
        self, client, db, clock: FrozenClock, login, catalog, afternoon, desk
    ):
        morning = await make_schedule(db, catalog, days_ahead=0, period=Period.MORNING, doctor=catalog.other_doctor)
        await make_schedule(db, catalog, days_ahead=1)  # another day: not listed
        await keep_onsite(db, afternoon, 2)
        await book(client, login, afternoon.id, name="张三丰")  # waiting
        arrived = await book(client, login, afternoon.id, name="李四")
        done = await book(client, login, afternoon.id, name="王五")
        cancelling = await login()
        gone = await book(client, login, afternoon.id, name="赵六", auth=cancelling)
        await client.post(f"/api/v1/appointments/{gone['id']}/cancel", headers=cancelling)
        clock.set(IN_WINDOW)
        auth = await staff_login(client, desk["username"])
        for appointment in (arrived, done):
            await client.post(f"/api/v1/staff/appointments/{appointment['id']}/check-in", headers=auth)
        await client.post(f"/api/v1/staff/appointments/{done['id']}/complete", headers=auth)

        answer = await client.get(SESSIONS, headers=auth)

        assert answer.status_code == 200, answer.text
        first, second = answer.json()
        assert first["schedule_id"] == morning.id and first["period_label"] == "上午"
        assert first["doctor"]["name"] == catalog.other_doctor.name and first["counts"]["booked"] == 0
        assert second["schedule_id"] == afternoon.id and second["period"] == "afternoon"
        assert second["counts"] == {
            "booked": 1,
            "pending_payment": 0,
            "checked_in": 1,
            "completed": 1,
            "no_show": 0,
            "cancelled": 1,
        }
        assert second["capacity"] == 6 and second["onsite_left"] == 2 and second["online_left"] == 1
        assert second["department"] == {"id": catalog.clinic.id, "name": "心血管内科"}
        assert "张" not in answer.text  # no patient is named

    async def test_another_day_or_doctor_can_be_asked_for(self, client, db, catalog, afternoon, desk):
        tomorrow = await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)
        auth = await staff_login(client, desk["username"])
        day = (NOW.date() + timedelta(days=1)).isoformat()

        on_the_day = (await client.get(f"{SESSIONS}?date={day}", headers=auth)).json()
        by_doctor = (await client.get(f"{SESSIONS}?doctor_id={catalog.doctor.id}", headers=auth)).json()

        assert [s["schedule_id"] for s in on_the_day] == [tomorrow.id]
        assert [s["schedule_id"] for s in by_doctor] == [afternoon.id]

    async def test_a_doctor_sees_only_their_own_sessions(self, client, db, catalog, afternoon):
        await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
        await make_staff(db, role="doctor", catalog=catalog, username="dr.li")

        answer = await client.get(SESSIONS, headers=await staff_login(client, "dr.li"))

        assert [s["schedule_id"] for s in answer.json()] == [afternoon.id]

    async def test_a_platform_admin_names_the_hospital_and_another_hospital_is_not_found(
        self, client, db, catalog, afternoon, desk
    ):
        other = await make_catalog(db, name="乙市中心医院")
        await make_staff(db, role="platform_admin", username="root")
        root = await staff_login(client, "root")

        unnamed = await client.get(SESSIONS, headers=root)
        named = await client.get(f"{SESSIONS}?hospital_id={catalog.hospital.id}", headers=root)
        foreign = await client.get(
            f"{SESSIONS}?hospital_id={other.hospital.id}", headers=await staff_login(client, desk["username"])
        )

        assert unnamed.status_code == 422 and unnamed.json()["code"] == "HOSPITAL_ID_REQUIRED"
        assert [s["schedule_id"] for s in named.json()] == [afternoon.id]
        assert foreign.status_code == 404 and foreign.json()["code"] == "HOSPITAL_NOT_FOUND"

    async def test_a_bad_date_is_a_validation_error(self, client, desk):
        answer = await client.get(f"{SESSIONS}?date=today", headers=await staff_login(client, desk["username"]))

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
