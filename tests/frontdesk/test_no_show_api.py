"""Recording a no-show (爽约) by hand once the session has ended, the front desk's counterpart of the
sweep: the same transition, event and ban rule; and the front desk role at work (check-in, completion)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    book_appointment,
    book_family,
    make_catalog,
    make_schedule,
    make_staff,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff.models import StaffUser
from yiyue.booking.models import Appointment, AppointmentEvent, BookingBan
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.frontdesk.no_shows import mark_no_shows
from yiyue.scheduling.models import Period, Schedule


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def afternoon(db: Database, catalog: Catalog) -> Schedule:
    """Today 13:30-17:30 (NOW is 09:00)."""
    return await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=6)


@pytest.fixture
async def desk(db: Database, catalog: Catalog) -> StaffUser:
    return await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang", display_name="王导诊")


def no_show_url(appointment_id: int) -> str:
    return f"/api/v1/staff/appointments/{appointment_id}/no-show"


async def as_staff(client: httpx.AsyncClient, username: str, clock: FrozenClock, at) -> dict[str, str]:  # type: ignore[no-untyped-def]
    clock.set(at)
    return await staff_login(client, username)


async def status_of(db: Database, appointment_id: int) -> str:
    async with db.session() as session:
        return (await session.get_one(Appointment, appointment_id)).status


class TestRecordingANoShow:
    async def test_the_front_desk_records_one_after_the_session_ended(
        self, client, db, clock, login: Login, afternoon, desk
    ):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, desk.username, clock, afternoon.ends_at)

        answer = await client.post(no_show_url(booked["id"]), headers=auth)

        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "no_show" and answer.json()["status_label"] == "爽约"
        async with db.session() as session:
            [event] = list(
                await session.scalars(
                    select(AppointmentEvent).where(
                        AppointmentEvent.appointment_id == booked["id"], AppointmentEvent.to_status == "no_show"
                    )
                )
            )
            topics = [e.topic for e in await session.scalars(select(OutboxEvent))]
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "appointment.no_show")))
        assert event.from_status == "booked" and "王导诊" in event.reason and f"staff:{desk.id}" in event.reason
        assert "appointment.no_show" in topics
        assert row.subject == f"appointment:{booked['id']}" and row.hospital_id == afternoon.hospital_id
        assert row.detail == {"from_status": "booked", "to_status": "no_show"}

    async def test_not_before_the_session_has_ended(self, client, db, clock, login: Login, afternoon, desk):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, desk.username, clock, afternoon.ends_at - timedelta(seconds=1))

        answer = await client.post(no_show_url(booked["id"]), headers=auth)

        assert answer.status_code == 409 and answer.json()["code"] == "NO_SHOW_TOO_EARLY"
        assert "17:30后才能记录爽约" in answer.json()["message"]
        assert await status_of(db, booked["id"]) == "booked"

    async def test_only_a_booked_appointment_can_be_a_no_show(self, client, db, clock, login, afternoon, desk):
        patient = await login()
        cancelled = await book_appointment(client, patient, afternoon.id)
        await client.post(f"/api/v1/appointments/{cancelled['id']}/cancel", headers=patient)
        came = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, desk.username, clock, afternoon.starts_at)
        await client.post(f"/api/v1/staff/appointments/{came['id']}/check-in", headers=auth)
        auth = await as_staff(client, desk.username, clock, afternoon.ends_at)

        for appointment in (cancelled, came):
            answer = await client.post(no_show_url(appointment["id"]), headers=auth)
            assert answer.status_code == 409 and answer.json()["code"] == "NOT_NO_SHOWABLE"
        assert await status_of(db, came["id"]) == "checked_in"

    async def test_the_sweep_leaves_a_recorded_no_show_alone(self, client, db, clock, login, afternoon, desk):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, desk.username, clock, afternoon.ends_at)
        await client.post(no_show_url(booked["id"]), headers=auth)

        async with db.session() as session:
            assert await mark_no_shows(session, now=afternoon.ends_at + timedelta(minutes=5)) == []

    async def test_the_third_no_show_bans_the_account_as_the_sweep_would(
        self, client, db, clock, login: Login, afternoon, desk, catalog
    ):
        patient = await login("o-misses")
        missed = await book_family(client, patient, afternoon.id, ["张三", "李四", "王五"])
        auth = await as_staff(client, desk.username, clock, afternoon.ends_at)

        for appointment in missed[:2]:
            await client.post(no_show_url(appointment["id"]), headers=auth)
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(BookingBan)) == 0
        await client.post(no_show_url(missed[2]["id"]), headers=auth)

        async with db.session() as session:
            [ban] = list(await session.scalars(select(BookingBan)))
        assert ban.starts_at == afternoon.ends_at and ban.ends_at == afternoon.ends_at + timedelta(days=90)
        assert ban.reason == "90天内爽约3次"
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        refused = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": tomorrow.id, "patient_id": missed[0]["patient"]["id"]},
            headers={**await login("o-misses"), "Idempotency-Key": "after-ban"},
        )
        assert refused.status_code == 403 and refused.json()["code"] == "BOOKING_BANNED"


class TestWhoMayRecordIt:
    async def test_another_hospitals_appointment_is_not_found(self, client, db, clock, login: Login, desk):
        other = await make_catalog(db, name="乙市中心医院")
        theirs = await make_schedule(db, other, days_ahead=0, period=Period.AFTERNOON)
        booked = await book_appointment(client, await login(), theirs.id)
        auth = await as_staff(client, desk.username, clock, theirs.ends_at)

        foreign = await client.post(no_show_url(booked["id"]), headers=auth)
        missing = await client.post(no_show_url(999_999), headers=auth)

        assert foreign.status_code == 404 and foreign.json() == missing.json()
        assert foreign.json()["code"] == "APPOINTMENT_NOT_FOUND"
        assert await status_of(db, booked["id"]) == "booked"

    async def test_a_doctor_records_their_own_patients_only(self, client, db, clock, login: Login, catalog, afternoon):
        colleague = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
        own = await book_appointment(client, await login(), afternoon.id)
        theirs = await book_appointment(client, await login(), colleague.id)
        await make_staff(db, role="doctor", catalog=catalog, username="dr.li")
        auth = await as_staff(client, "dr.li", clock, afternoon.ends_at)

        mine = await client.post(no_show_url(own["id"]), headers=auth)
        other = await client.post(no_show_url(theirs["id"]), headers=auth)

        assert mine.status_code == 200
        assert other.status_code == 404 and other.json()["code"] == "APPOINTMENT_NOT_FOUND"

    async def test_a_platform_admin_only_reads(self, client, db, clock, login: Login, afternoon):
        booked = await book_appointment(client, await login(), afternoon.id)
        await make_staff(db, role="platform_admin", username="root")
        auth = await as_staff(client, "root", clock, afternoon.ends_at)

        answer = await client.post(no_show_url(booked["id"]), headers=auth)

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
        assert await status_of(db, booked["id"]) == "booked"

    async def test_a_bad_id_is_a_validation_error(self, client, desk):
        answer = await client.post(no_show_url(0), headers=await staff_login(client, desk.username))

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


class TestTheFrontDeskRole:
    async def test_checks_in_by_code_and_from_the_list_and_completes(
        self, client, db, clock, login: Login, afternoon, desk
    ):
        by_code = await book_appointment(client, await login(), afternoon.id)
        by_id = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, desk.username, clock, afternoon.starts_at - timedelta(minutes=30))

        coded = await client.post("/api/v1/staff/check-in", json={"code": by_code["check_in_code"]}, headers=auth)
        listed = await client.post(f"/api/v1/staff/appointments/{by_id['id']}/check-in", headers=auth)
        completed = await client.post(f"/api/v1/staff/appointments/{by_id['id']}/complete", headers=auth)

        assert coded.status_code == 200 and coded.json()["status"] == "checked_in"
        assert listed.status_code == 200
        assert completed.status_code == 200 and completed.json()["status"] == "completed"

    async def test_cannot_suspend_a_session(self, client, afternoon, desk):
        answer = await client.post(
            f"/api/v1/staff/schedules/{afternoon.id}/suspend",
            json={"reason": "专家外出会诊"},
            headers=await staff_login(client, desk.username),
        )

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
