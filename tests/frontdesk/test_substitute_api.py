"""替诊 through the staff API: a hospital administrator hands a session to another doctor of the same clinic;
its unseen appointments follow with their numbers and times, each patient is told, and it is audited.
A busy, absent or unsuitable doctor, another hospital and other roles are refused, and nothing changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    book_appointment,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
    staff_login,
)
from tests.jobs_support import Jobs
from yiyue.accounts.staff import passwords
from yiyue.booking.models import Appointment
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.hospitals.models import Department, Doctor
from yiyue.hospitals.search import initials
from yiyue.notifications.models import Delivery, Notification
from yiyue.scheduling.models import Period, Schedule


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def schedule(db: Database, catalog: Catalog) -> Schedule:
    """Tomorrow morning with 李明华 (the catalog's first doctor); 王芳 of the same clinic is free then."""
    return await make_schedule(db, catalog, days_ahead=1, capacity=5)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    return await staff_login(client, (await make_staff(db, catalog=catalog)).username)


async def substitute(
    client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, doctor_id: int, reason: str = "外出会诊"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/staff/schedules/{schedule_id}/substitute",
        json={"doctor_id": doctor_id, "reason": reason},
        headers=auth,
    )


async def doctor_of(db: Database, schedule_id: int) -> int:
    async with db.session() as session:
        return (await session.get_one(Schedule, schedule_id)).doctor_id


async def add_doctor(db: Database, catalog: Catalog, *, clinic: Department | None = None, name: str = "赵强") -> Doctor:
    async with db.session() as session:
        doctor = Doctor(
            hospital_id=catalog.hospital.id,
            department_id=(clinic or catalog.clinic).id,
            name=name,
            name_initials=initials(name),
            gender="男",
            title="主治医师",
            specialty="",
            fee_fen=2000,
        )
        session.add(doctor)
        await session.flush()
        return doctor


async def test_the_session_and_its_patients_pass_to_the_new_doctor_who_tells_each_of_them(
    client: httpx.AsyncClient, db: Database, app: Any, login: Login, catalog: Catalog, schedule: Schedule, admin
) -> None:
    first_patient, second_patient = await login(), await login()
    first = await book_appointment(client, first_patient, schedule.id, name="张三丰")
    second = await book_appointment(client, second_patient, schedule.id, name="李四")
    third_patient = await login()
    cancelled = await book_appointment(client, third_patient, schedule.id, name="王五")
    gone = await client.post(f"/api/v1/appointments/{cancelled['id']}/cancel", json={}, headers=third_patient)
    assert gone.status_code == 200, gone.text

    answer = await substitute(client, admin, schedule.id, catalog.other_doctor.id)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "schedule_id": schedule.id,
        "from_doctor_id": catalog.doctor.id,
        "doctor_id": catalog.other_doctor.id,
        "doctor_name": "王芳",
        "moved_appointments": 2,
    }
    assert await doctor_of(db, schedule.id) == catalog.other_doctor.id
    seen = (await client.get(f"/api/v1/appointments/{first['id']}", headers=first_patient)).json()
    assert seen["doctor"]["id"] == catalog.other_doctor.id and seen["doctor"]["name"] == "王芳"
    assert (seen["queue_number"], seen["starts_at"], seen["fee_fen"]) == (1, first["starts_at"], 5000)
    listed = await client.get(f"/api/v1/doctors/{catalog.other_doctor.id}/schedules")
    assert [s["id"] for s in listed.json()["items"]] == [schedule.id]
    async with db.session() as session:
        topics = [e.topic for e in await session.scalars(select(OutboxEvent)) if e.topic.endswith("doctor_changed")]
        [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "schedule.substitute")))
    assert len(topics) == 2
    assert row.subject == f"schedule:{schedule.id}" and row.hospital_id == catalog.hospital.id
    assert row.detail["from_doctor_id"] == catalog.doctor.id and row.detail["to_doctor_id"] == catalog.other_doctor.id
    assert row.detail["reason"] == "外出会诊" and row.detail["appointments"] == [first["id"], second["id"]]

    await Jobs(app).drain()

    async with db.session() as session:
        told = {
            n.appointment_id: n
            for n in await session.scalars(select(Notification).where(Notification.kind == "doctor_changed"))
        }
        sms = list(await session.scalars(select(Delivery).where(Delivery.channel == "sms")))
    assert set(told) == {first["id"], second["id"]}  # the cancelled booking stays with 李明华, untold
    message = told[first["id"]]
    assert message.title == "就诊医生变更"
    assert "李明华医生临时不能出诊（外出会诊）" in message.body and "改由王芳（主治医师）接诊" in message.body
    assert "就诊序号1号不变" in message.body
    assert any("改由王芳医生接诊" in d.content["text"] for d in sms)


async def test_a_second_change_of_doctor_is_told_again(
    client: httpx.AsyncClient, db: Database, app: Any, login: Login, catalog: Catalog, schedule: Schedule, admin
) -> None:
    booked = await book_appointment(client, await login(), schedule.id)
    third = await add_doctor(db, catalog)
    assert (await substitute(client, admin, schedule.id, catalog.other_doctor.id)).status_code == 200
    await Jobs(app).drain()

    again = await substitute(client, admin, schedule.id, third.id, reason="")
    await Jobs(app).drain()

    assert again.status_code == 200 and again.json()["from_doctor_id"] == catalog.other_doctor.id
    async with db.session() as session:
        bodies = [
            n.body
            for n in await session.scalars(
                select(Notification)
                .where(Notification.kind == "doctor_changed", Notification.appointment_id == booked["id"])
                .order_by(Notification.id)
            )
        ]
    assert len(bodies) == 2 and "因王芳医生临时不能出诊，改由赵强" in bodies[1]


async def test_checked_in_visits_follow_but_completed_ones_stay_with_their_doctor(
    client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, admin
) -> None:
    today = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=3)
    done = await book_appointment(client, await login(), today.id)
    waiting = await book_appointment(client, await login(), today.id)
    async with db.session() as session:
        (await session.get_one(Appointment, done["id"])).status = "completed"
        (await session.get_one(Appointment, waiting["id"])).status = "checked_in"

    answer = await substitute(client, admin, today.id, catalog.other_doctor.id)

    assert answer.status_code == 200 and answer.json()["moved_appointments"] == 1
    async with db.session() as session:
        assert (await session.get_one(Appointment, done["id"])).doctor_id == catalog.doctor.id
        assert (await session.get_one(Appointment, waiting["id"])).doctor_id == catalog.other_doctor.id


async def test_a_doctor_with_a_session_then_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, schedule: Schedule, admin
) -> None:
    booked = await book_appointment(client, await login(), schedule.id)
    await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)

    answer = await substitute(client, admin, schedule.id, catalog.other_doctor.id)

    assert answer.status_code == 409 and answer.json()["code"] == "SUBSTITUTE_DOCTOR_BUSY"
    assert await doctor_of(db, schedule.id) == catalog.doctor.id
    async with db.session() as session:
        assert (await session.get_one(Appointment, booked["id"])).doctor_id == catalog.doctor.id
        assert not list(await session.scalars(select(AuditLog).where(AuditLog.action == "schedule.substitute")))


async def test_a_patient_who_already_sees_the_new_doctor_that_day_blocks_the_change(
    client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, schedule: Schedule, admin
) -> None:
    afternoon = await make_schedule(db, catalog, days_ahead=1, period=Period.AFTERNOON, doctor=catalog.other_doctor)
    patient = await login()
    person = await client.post("/api/v1/me/patients", json=patient_body(), headers=patient)
    assert person.status_code == 201, person.text
    for schedule_id in (schedule.id, afternoon.id):
        made = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
            headers={**patient, "Idempotency-Key": f"k-{schedule_id}"},
        )
        assert made.status_code == 201, made.text

    answer = await substitute(client, admin, schedule.id, catalog.other_doctor.id)

    assert answer.status_code == 409 and answer.json()["code"] == "SUBSTITUTE_PATIENT_CLASH"
    assert await doctor_of(db, schedule.id) == catalog.doctor.id


async def test_unsuitable_doctors_are_refused_with_their_reason(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule, admin
) -> None:
    async with db.session() as session:
        elsewhere = Department(
            hospital_id=catalog.hospital.id, parent_id=catalog.parent.id, name="消化内科", name_initials="xhnk"
        )
        session.add(elsewhere)
        await session.flush()
    other_clinic = await add_doctor(db, catalog, clinic=elsewhere, name="钱多")
    gone = await add_doctor(db, catalog, name="孙离")
    async with db.session() as session:
        (await session.get_one(Doctor, gone.id)).active = False
    other_hospital = await make_catalog(db, name="别家医院")

    cases = {
        catalog.doctor.id: (409, "SUBSTITUTE_SAME_DOCTOR"),
        other_clinic.id: (409, "SUBSTITUTE_OTHER_DEPARTMENT"),
        gone.id: (409, "SUBSTITUTE_DOCTOR_INACTIVE"),
        other_hospital.doctor.id: (404, "DOCTOR_NOT_FOUND"),
        999_999: (404, "DOCTOR_NOT_FOUND"),
    }
    for doctor_id, (status, code) in cases.items():
        answer = await substitute(client, admin, schedule.id, doctor_id)
        assert (answer.status_code, answer.json()["code"]) == (status, code), doctor_id
    assert await doctor_of(db, schedule.id) == catalog.doctor.id


async def test_a_suspended_or_finished_session_cannot_change_doctor(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule, admin
) -> None:
    await client.post(f"/api/v1/staff/schedules/{schedule.id}/suspend", json={"reason": "医生休假"}, headers=admin)
    finished = await make_schedule(db, catalog, days_ahead=-1)

    suspended = await substitute(client, admin, schedule.id, catalog.other_doctor.id)
    over = await substitute(client, admin, finished.id, catalog.other_doctor.id)

    assert suspended.status_code == 409 and suspended.json()["code"] == "SCHEDULE_ALREADY_SUSPENDED"
    assert over.status_code == 409 and over.json()["code"] == "SCHEDULE_OVER"
    assert over.json()["message"] == "该时段已结束，无法替诊"


async def test_another_hospitals_session_is_not_found(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, admin
) -> None:
    other = await make_catalog(db, name="别家医院")
    theirs = await make_schedule(db, other, days_ahead=1)

    answer = await substitute(client, admin, theirs.id, other.other_doctor.id)
    missing = await substitute(client, admin, 999_999, catalog.other_doctor.id)

    assert answer.status_code == 404 and answer.json()["code"] == "SCHEDULE_NOT_FOUND"
    assert missing.status_code == 404 and missing.json()["code"] == "SCHEDULE_NOT_FOUND"
    assert await doctor_of(db, theirs.id) == other.doctor.id


@pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
async def test_only_a_hospital_admin_may_change_the_doctor(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule, role: str
) -> None:
    auth = await staff_login(client, (await make_staff(db, role=role, catalog=catalog)).username)

    answer = await substitute(client, auth, schedule.id, catalog.other_doctor.id)

    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
    assert await doctor_of(db, schedule.id) == catalog.doctor.id


@pytest.mark.parametrize(
    "body",
    [{}, {"doctor_id": 0}, {"doctor_id": "王芳"}, {"doctor_id": 2, "reason": "长" * 101}, {"doctor_id": 2, "x": 1}],
)
async def test_a_malformed_body_is_refused(
    client: httpx.AsyncClient, schedule: Schedule, admin, body: dict[str, Any]
) -> None:
    answer = await client.post(f"/api/v1/staff/schedules/{schedule.id}/substitute", json=body, headers=admin)

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
