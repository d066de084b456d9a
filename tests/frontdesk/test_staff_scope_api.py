"""Authorization on every staff endpoint: staff act only within their hospital (another hospital's records
are not found, never confirmed), a doctor only on their own patients, a platform admin only reads, and
patient and staff tokens never stand in for each other. Refused requests change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import NOW, Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    book_appointment,
    make_catalog,
    make_schedule,
    make_staff,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.booking.models import Appointment, AppointmentEvent
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Schedule

LIST = "/api/v1/staff/appointments"
BY_CODE = "/api/v1/staff/check-in"
IN_WINDOW = at_local(NOW.date(), time(13, 0))  # today's afternoon session (13:30) is open for check-in


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@dataclass
class World:
    a: Catalog
    b: Catalog
    a_schedule: Schedule  # hospital A, its first doctor, today afternoon
    a_colleague_schedule: Schedule  # hospital A, the other doctor
    b_schedule: Schedule
    a_own: dict[str, Any]  # appointments as their patients see them (with check-in codes)
    a_colleague: dict[str, Any]
    b_booked: dict[str, Any]
    b_checked_in: dict[str, Any]


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database, login: Login, clock: FrozenClock) -> World:
    a = await make_catalog(db, name="甲市人民医院")
    b = await make_catalog(db, name="乙市中心医院")
    a_schedule = await make_schedule(db, a, days_ahead=0, period=Period.AFTERNOON)
    a_colleague_schedule = await make_schedule(db, a, days_ahead=0, period=Period.AFTERNOON, doctor=a.other_doctor)
    b_schedule = await make_schedule(db, b, days_ahead=0, period=Period.AFTERNOON)
    a_own = await book_appointment(client, await login(), a_schedule.id)
    a_colleague = await book_appointment(client, await login(), a_colleague_schedule.id)
    b_booked = await book_appointment(client, await login(), b_schedule.id)
    b_checked_in = await book_appointment(client, await login(), b_schedule.id)
    for username, role, catalog in (
        ("admin.a", "hospital_admin", a),
        ("doctor.a", "doctor", a),
        ("admin.b", "hospital_admin", b),
    ):
        await make_staff(db, role=role, catalog=catalog, username=username)
    await make_staff(db, role="platform_admin", username="root")
    clock.set(IN_WINDOW)
    b_admin = await staff_login(client, "admin.b")
    answer = await client.post(f"/api/v1/staff/appointments/{b_checked_in['id']}/check-in", headers=b_admin)
    assert answer.status_code == 200, answer.text
    return World(a, b, a_schedule, a_colleague_schedule, b_schedule, a_own, a_colleague, b_booked, b_checked_in)


@dataclass(frozen=True)
class Snapshot:
    statuses: dict[int, str]
    events: int
    audit: int


async def snapshot(db: Database) -> Snapshot:
    async with db.session() as session:
        statuses = dict((await session.execute(select(Appointment.id, Appointment.status))).tuples().all())
        events = await session.scalar(select(func.count()).select_from(AppointmentEvent))
        audit = await session.scalar(select(func.count()).select_from(AuditLog))
    return Snapshot(statuses, int(events or 0), int(audit or 0))


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert "queue_number" not in response.text and "name_masked" not in response.text


async def check_in(client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/staff/appointments/{appointment_id}/check-in", headers=auth)


async def complete(client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/staff/appointments/{appointment_id}/complete", headers=auth)


class TestAnotherHospital:
    async def test_its_list_is_not_found_and_ours_leaves_it_out(self, client, db, world: World):
        auth = await staff_login(client, "admin.a")
        before = await snapshot(db)

        theirs = await client.get(f"{LIST}?hospital_id={world.b.hospital.id}", headers=auth)
        ours = (await client.get(LIST, headers=auth)).json()

        assert_refused(theirs, 404, "HOSPITAL_NOT_FOUND")
        assert {a["id"] for a in ours["items"]} == {world.a_own["id"], world.a_colleague["id"]}
        assert {a["hospital_id"] for a in ours["items"]} == {world.a.hospital.id}
        assert (await snapshot(db)).audit == before.audit + 1  # the one list that was shown

    async def test_filtering_for_its_doctor_or_department_finds_nothing(self, client, world: World):
        auth = await staff_login(client, "admin.a")

        by_doctor = (await client.get(f"{LIST}?doctor_id={world.b.doctor.id}", headers=auth)).json()
        by_department = (await client.get(f"{LIST}?department_id={world.b.clinic.id}", headers=auth)).json()

        assert by_doctor["total"] == by_department["total"] == 0

    async def test_its_appointment_cannot_be_checked_in_and_looks_like_none_at_all(self, client, db, world: World):
        auth = await staff_login(client, "admin.a")
        before = await snapshot(db)

        foreign = await check_in(client, auth, world.b_booked["id"])
        missing = await check_in(client, auth, 999_999)

        assert_refused(foreign, 404, "APPOINTMENT_NOT_FOUND")
        assert foreign.json() == missing.json()
        assert await snapshot(db) == before

    async def test_its_check_in_code_is_not_found_even_with_its_schedule(self, client, db, world: World):
        auth = await staff_login(client, "admin.a")
        before = await snapshot(db)
        code = world.b_booked["check_in_code"]

        plain = await client.post(BY_CODE, json={"code": code}, headers=auth)
        with_schedule = await client.post(
            BY_CODE, json={"code": code, "schedule_id": world.b_schedule.id}, headers=auth
        )

        assert_refused(plain, 404, "CHECK_IN_CODE_NOT_FOUND")
        assert_refused(with_schedule, 404, "CHECK_IN_CODE_NOT_FOUND")
        assert await snapshot(db) == before

    async def test_its_visit_cannot_be_completed(self, client, db, world: World):
        auth = await staff_login(client, "admin.a")
        before = await snapshot(db)

        answer = await complete(client, auth, world.b_checked_in["id"])

        assert_refused(answer, 404, "APPOINTMENT_NOT_FOUND")
        assert await snapshot(db) == before
        assert before.statuses[world.b_checked_in["id"]] == "checked_in"

    async def test_its_own_staff_can_do_all_of_it(self, client, db, world: World):
        auth = await staff_login(client, "admin.b")

        listed = (await client.get(LIST, headers=auth)).json()
        by_code = await client.post(BY_CODE, json={"code": world.b_booked["check_in_code"]}, headers=auth)
        completed = await complete(client, auth, world.b_checked_in["id"])

        assert {a["id"] for a in listed["items"]} == {world.b_booked["id"], world.b_checked_in["id"]}
        assert by_code.status_code == 200 and completed.status_code == 200


class TestADoctor:
    async def test_acts_only_on_their_own_patients(self, client, db, world: World):
        auth = await staff_login(client, "doctor.a")
        before = await snapshot(db)

        by_id = await check_in(client, auth, world.a_colleague["id"])
        by_code = await client.post(BY_CODE, json={"code": world.a_colleague["check_in_code"]}, headers=auth)
        with_schedule = await client.post(
            BY_CODE,
            json={"code": world.a_colleague["check_in_code"], "schedule_id": world.a_colleague_schedule.id},
            headers=auth,
        )
        listed = (await client.get(LIST, headers=auth)).json()

        assert_refused(by_id, 404, "APPOINTMENT_NOT_FOUND")
        assert_refused(by_code, 404, "CHECK_IN_CODE_NOT_FOUND")
        assert_refused(with_schedule, 404, "CHECK_IN_CODE_NOT_FOUND")
        assert [a["id"] for a in listed["items"]] == [world.a_own["id"]]
        after = await snapshot(db)
        assert after.statuses == before.statuses and after.events == before.events

    async def test_cannot_complete_a_colleagues_visit(self, client, db, world: World):
        admin = await staff_login(client, "admin.a")
        assert (await check_in(client, admin, world.a_colleague["id"])).status_code == 200
        before = await snapshot(db)

        answer = await complete(client, await staff_login(client, "doctor.a"), world.a_colleague["id"])

        assert_refused(answer, 404, "APPOINTMENT_NOT_FOUND")
        assert await snapshot(db) == before

    async def test_cannot_list_another_hospital(self, client, world: World):
        auth = await staff_login(client, "doctor.a")

        answer = await client.get(f"{LIST}?hospital_id={world.b.hospital.id}", headers=auth)

        assert_refused(answer, 404, "HOSPITAL_NOT_FOUND")


class TestAPlatformAdmin:
    async def test_reads_any_hospital(self, client, world: World):
        auth = await staff_login(client, "root")

        listed = (await client.get(f"{LIST}?hospital_id={world.b.hospital.id}", headers=auth)).json()

        assert {a["id"] for a in listed["items"]} == {world.b_booked["id"], world.b_checked_in["id"]}

    async def test_may_not_move_appointments_on(self, client, db, world: World):
        auth = await staff_login(client, "root")
        before = await snapshot(db)

        answers = [
            await check_in(client, auth, world.b_booked["id"]),
            await client.post(BY_CODE, json={"code": world.b_booked["check_in_code"]}, headers=auth),
            await complete(client, auth, world.b_checked_in["id"]),
            await check_in(client, auth, 999_999),  # the role is refused before anything is looked up
        ]

        for answer in answers:
            assert_refused(answer, 403, "FORBIDDEN_ROLE")
        assert await snapshot(db) == before


def staff_requests(world: World) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every staff endpoint (but login), aimed at a real appointment."""
    return [
        ("GET", "/api/v1/staff/me", None),
        ("GET", f"{LIST}?hospital_id={world.a.hospital.id}", None),
        ("POST", f"/api/v1/staff/appointments/{world.a_own['id']}/check-in", None),
        ("POST", BY_CODE, {"code": world.a_own["check_in_code"]}),
        ("POST", f"/api/v1/staff/appointments/{world.b_checked_in['id']}/complete", None),
    ]


class TestTokensOfTheWrongKind:
    async def test_a_patient_token_opens_no_staff_endpoint(self, client, db, login: Login, world: World):
        patient = await login()  # NOW is IN_WINDOW: a fresh token
        before = await snapshot(db)

        for method, url, body in staff_requests(world):
            answer = await client.request(method, url, json=body, headers=patient)
            assert_refused(answer, 403, "STAFF_ONLY")
        assert await snapshot(db) == before

    async def test_no_token_opens_no_staff_endpoint(self, client, db, world: World):
        before = await snapshot(db)

        for method, url, body in staff_requests(world):
            assert_refused(await client.request(method, url, json=body), 401, "UNAUTHENTICATED")
        assert await snapshot(db) == before

    async def test_a_staff_token_opens_no_patient_endpoint(self, client, db, world: World):
        auth = await staff_login(client, "root")
        appointment_id = world.a_own["id"]
        before = await snapshot(db)

        answers = [
            await client.get("/api/v1/me/appointments", headers=auth),
            await client.get(f"/api/v1/appointments/{appointment_id}", headers=auth),
            await client.post(f"/api/v1/appointments/{appointment_id}/cancel", headers=auth),
            await client.post(
                "/api/v1/appointments",
                json={"schedule_id": world.a_schedule.id, "patient_id": 1},
                headers={**auth, "Idempotency-Key": "staff-try"},
            ),
        ]

        for answer in answers:
            assert_refused(answer, 403, "FORBIDDEN")
        assert await snapshot(db) == before

    async def test_the_login_endpoint_needs_no_token_and_gives_none_for_a_patient(self, client, world: World):
        answer = await client.post("/api/v1/staff/auth/login", json={"username": "o-patient", "password": "x" * 10})

        assert_refused(answer, 401, "INVALID_CREDENTIALS")


def test_the_check_in_window_the_tests_use_is_later_today() -> None:
    assert IN_WINDOW.date() == NOW.date() and IN_WINDOW > NOW
