"""停诊 through the staff API: a hospital administrator suspends a schedule of their own hospital;
everyone else is refused and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import Catalog, book_appointment, make_catalog, make_schedule, make_staff, staff_login
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.scheduling.models import Schedule

REASON = {"reason": "专家外出会诊"}


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def schedule(db: Database, catalog: Catalog) -> Schedule:
    return await make_schedule(db, catalog, capacity=4)


async def suspend(client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int) -> httpx.Response:
    return await client.post(f"/api/v1/staff/schedules/{schedule_id}/suspend", json=REASON, headers=auth)


async def schedule_status(client: httpx.AsyncClient, schedule_id: int) -> str:
    return (await client.get(f"/api/v1/schedules/{schedule_id}/slots")).json()["schedule"]["status"]


async def test_a_hospital_admin_suspends_a_schedule_and_its_appointments(
    client: httpx.AsyncClient, db: Database, login: Login, catalog: Catalog, schedule: Schedule
) -> None:
    patient = await login()
    booked = await book_appointment(client, patient, schedule.id)
    admin = await make_staff(db, catalog=catalog)

    answer = await suspend(client, await staff_login(client, admin.username), schedule.id)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"schedule_id": schedule.id, "status": "suspended", "suspended_appointments": 1}
    detail = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=patient)).json()
    assert detail["status"] == "suspended" and detail["status_label"] == "已停诊"
    async with db.session() as session:
        events = [e.topic for e in await session.scalars(select(OutboxEvent))]
        audit = [(a.actor, a.action) for a in await session.scalars(select(AuditLog))]
    assert "appointment.suspended" in events
    assert (f"staff:{admin.id}", "schedule.suspend") in audit


async def test_suspending_twice_or_after_the_session_is_refused(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule, clock: FrozenClock
) -> None:
    admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)
    assert (await suspend(client, admin, schedule.id)).status_code == 200

    again = await suspend(client, admin, schedule.id)
    past = await make_schedule(db, catalog, days_ahead=-1)
    over = await suspend(client, admin, past.id)

    assert again.status_code == 409 and again.json()["code"] == "SCHEDULE_ALREADY_SUSPENDED"
    assert over.status_code == 409 and over.json()["code"] == "SCHEDULE_OVER"
    assert clock.now() < schedule.starts_at + timedelta(days=1)


async def test_another_hospitals_admin_gets_not_found_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, schedule: Schedule
) -> None:
    other = await make_catalog(db, name="别家医院")
    stranger = await staff_login(client, (await make_staff(db, catalog=other)).username)

    answer = await suspend(client, stranger, schedule.id)

    assert answer.status_code == 404 and answer.json()["code"] == "SCHEDULE_NOT_FOUND"
    assert await schedule_status(client, schedule.id) == "open"


@pytest.mark.parametrize("role", ["doctor", "platform_admin"])
async def test_only_hospital_admins_may_suspend(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule, role: str
) -> None:
    user = await make_staff(db, role=role, catalog=catalog)

    answer = await suspend(client, await staff_login(client, user.username), schedule.id)

    assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
    assert await schedule_status(client, schedule.id) == "open"


async def test_patients_and_anonymous_callers_cannot_suspend(
    client: httpx.AsyncClient, login: Login, schedule: Schedule
) -> None:
    as_patient = await suspend(client, await login(), schedule.id)
    anonymous = await client.post(f"/api/v1/staff/schedules/{schedule.id}/suspend", json=REASON)

    assert as_patient.status_code == 403
    assert anonymous.status_code == 401
    assert await schedule_status(client, schedule.id) == "open"


async def test_a_reason_is_required(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, schedule: Schedule
) -> None:
    admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)

    answer = await client.post(f"/api/v1/staff/schedules/{schedule.id}/suspend", json={}, headers=admin)

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
