"""Hospital staff at work: the appointment list, check-in (签到) by appointment or by code, completing a
visit; every transition recorded, every access audited."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

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
from yiyue.accounts.staff.models import StaffUser
from yiyue.booking.models import Appointment, AppointmentEvent
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Schedule

LIST = "/api/v1/staff/appointments"
BY_CODE = "/api/v1/staff/check-in"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def afternoon(db: Database, catalog: Catalog) -> Schedule:
    """Today 13:30-17:30 with the catalog's first doctor: bookable at NOW (09:00), check-in from 12:30."""
    return await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=5)


@pytest.fixture
async def admin(db: Database, catalog: Catalog) -> StaffUser:
    return await make_staff(db, catalog=catalog, username="admin.li", display_name="李管理")


def today_at(hour: int, minute: int = 0) -> datetime:
    return at_local(NOW.date(), datetime.min.time().replace(hour=hour, minute=minute))


async def as_staff(client: httpx.AsyncClient, user: StaffUser, clock: FrozenClock, at: datetime) -> dict[str, str]:
    """Moves the clock to ``at`` and logs the staff user in then (tokens live two hours)."""
    clock.set(at)
    return await staff_login(client, user.username)


async def status_of(db: Database, appointment_id: int) -> str:
    async with db.session() as session:
        return (await session.get_one(Appointment, appointment_id)).status


async def events_of(db: Database, appointment_id: int) -> list[AppointmentEvent]:
    async with db.session() as session:
        rows = await session.scalars(
            select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id == appointment_id)
            .order_by(AppointmentEvent.id)
        )
        return list(rows)


async def audit_rows(db: Database) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).order_by(AuditLog.id)))


class TestList:
    async def test_lists_the_hospitals_appointments_in_visiting_order_with_masked_names(
        self, client, db, login: Login, catalog, afternoon, admin
    ):
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        later = await book_appointment(client, await login(), tomorrow.id, name="欧阳娜娜")
        first = await book_appointment(client, await login(), afternoon.id, name="张三丰")
        second = await book_appointment(client, await login(), afternoon.id, name="李四")

        answer = await client.get(LIST, headers=await staff_login(client, "admin.li"))

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 3 and body["page"] == 1
        assert [a["id"] for a in body["items"]] == [first["id"], second["id"], later["id"]]
        assert [a["patient"]["name_masked"] for a in body["items"]] == ["张*丰", "李*", "欧**娜"]
        item = body["items"][0]
        assert item["queue_number"] == 1 and item["status"] == "booked" and item["status_label"] == "待就诊"
        assert item["doctor"] == {"id": catalog.doctor.id, "name": catalog.doctor.name, "title": "主任医师"}
        assert item["department"] == {"id": catalog.clinic.id, "name": "心血管内科"}
        assert item["period"] == "afternoon" and item["period_label"] == "下午"
        assert "check_in_code" not in item
        for secret in (first["check_in_code"], "张三丰", first["patient"]["phone_masked"], "110"):
            assert secret not in answer.text

    async def test_filters_by_date_department_doctor_and_status(self, client, db, login: Login, catalog, admin):
        today = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
        others = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        mine = await book_appointment(client, await login(), today.id)
        theirs = await book_appointment(client, await login(), others.id)
        later = await book_appointment(client, await login(), tomorrow.id)
        auth = await staff_login(client, "admin.li")

        async def ids(query: str) -> list[int]:
            answer = await client.get(f"{LIST}?{query}", headers=auth)
            assert answer.status_code == 200, answer.text
            return [a["id"] for a in answer.json()["items"]]

        assert await ids(f"date={NOW.date().isoformat()}") == [mine["id"], theirs["id"]]
        assert await ids(f"date={(NOW.date() + timedelta(days=1)).isoformat()}") == [later["id"]]
        assert await ids(f"doctor_id={catalog.other_doctor.id}") == [theirs["id"]]
        assert await ids(f"department_id={catalog.clinic.id}") == [mine["id"], theirs["id"], later["id"]]
        assert await ids(f"department_id={catalog.parent.id}") == []
        assert await ids("status=booked,checked_in") == [mine["id"], theirs["id"], later["id"]]
        assert await ids("status=completed") == []
        assert await ids("page=2&page_size=2") == [later["id"]]

    async def test_an_unknown_status_or_a_bad_date_is_an_error(self, client, admin):
        auth = await staff_login(client, "admin.li")

        status = await client.get(f"{LIST}?status=paid", headers=auth)
        bad_date = await client.get(f"{LIST}?date=tomorrow", headers=auth)

        assert status.status_code == 422 and status.json()["code"] == "INVALID_STATUS_FILTER"
        assert bad_date.status_code == 422 and bad_date.json()["code"] == "VALIDATION_ERROR"

    async def test_a_doctor_sees_only_their_own_patients(self, client, db, login: Login, catalog, afternoon):
        others = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
        own = await book_appointment(client, await login(), afternoon.id)
        await book_appointment(client, await login(), others.id)
        await make_staff(db, role="doctor", catalog=catalog, username="dr.li")
        auth = await staff_login(client, "dr.li")

        everything = (await client.get(LIST, headers=auth)).json()
        asked_for_colleague = (await client.get(f"{LIST}?doctor_id={catalog.other_doctor.id}", headers=auth)).json()

        assert [a["id"] for a in everything["items"]] == [own["id"]] and everything["total"] == 1
        assert asked_for_colleague["total"] == 0

    async def test_a_platform_admin_names_the_hospital(self, client, db, login: Login, catalog, afternoon):
        booked = await book_appointment(client, await login(), afternoon.id)
        await make_staff(db, role="platform_admin", username="root")
        auth = await staff_login(client, "root")

        unnamed = await client.get(LIST, headers=auth)
        named = await client.get(f"{LIST}?hospital_id={catalog.hospital.id}", headers=auth)

        assert unnamed.status_code == 422 and unnamed.json()["code"] == "HOSPITAL_ID_REQUIRED"
        assert [a["id"] for a in named.json()["items"]] == [booked["id"]]

    async def test_every_listing_is_audited_with_what_was_shown(self, client, db, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await staff_login(client, "admin.li")

        await client.get(f"{LIST}?status=booked&date={NOW.date().isoformat()}", headers=auth)

        [row] = await audit_rows(db)
        assert row.actor == f"staff:{admin.id}" and row.action == "appointment.list"
        assert row.subject == f"hospital:{admin.hospital_id}" and row.at == NOW
        assert row.detail["appointment_ids"] == [booked["id"]] and row.detail["total"] == 1
        assert row.detail["filters"]["status"] == ["booked"] and row.detail["filters"]["date"] == NOW.date().isoformat()


class TestCheckIn:
    async def test_checks_in_from_an_hour_before_the_session(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, afternoon.starts_at - timedelta(minutes=60))

        answer = await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)

        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "checked_in" and answer.json()["status_label"] == "已签到"
        assert "check_in_code" not in answer.json()
        assert await status_of(db, booked["id"]) == "checked_in"
        patient_view = await client.get(f"/api/v1/appointments/{booked['id']}", headers=await login())
        assert patient_view.status_code == 404  # another patient still sees nothing

    async def test_not_open_before_the_hour_before_the_session(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, afternoon.starts_at - timedelta(minutes=61))

        answer = await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)

        assert answer.status_code == 409 and answer.json()["code"] == "CHECK_IN_NOT_OPEN"
        assert "12:30" in answer.json()["message"]
        assert await status_of(db, booked["id"]) == "booked"

    async def test_open_until_the_session_ends(self, client, db, clock, login: Login, afternoon, admin):
        early = await book_appointment(client, await login(), afternoon.id)
        late = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, afternoon.ends_at - timedelta(seconds=1))
        last_moment = await client.post(f"/api/v1/staff/appointments/{early['id']}/check-in", headers=auth)

        clock.set(afternoon.ends_at)
        closed = await client.post(f"/api/v1/staff/appointments/{late['id']}/check-in", headers=auth)

        assert last_moment.status_code == 200
        assert closed.status_code == 409 and closed.json()["code"] == "CHECK_IN_CLOSED"
        assert await status_of(db, late["id"]) == "booked"

    async def test_only_a_booked_appointment_can_be_checked_in(self, client, db, clock, login, afternoon, admin):
        patient = await login("o-cancels")
        cancelled = await book_appointment(client, patient, afternoon.id)
        await client.post(f"/api/v1/appointments/{cancelled['id']}/cancel", headers=patient)
        twice = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))
        await client.post(f"/api/v1/staff/appointments/{twice['id']}/check-in", headers=auth)

        for appointment_id in (cancelled["id"], twice["id"]):
            answer = await client.post(f"/api/v1/staff/appointments/{appointment_id}/check-in", headers=auth)
            assert answer.status_code == 409 and answer.json()["code"] == "NOT_CHECKABLE"
        assert await status_of(db, cancelled["id"]) == "cancelled"

    async def test_an_unknown_appointment_is_not_found(self, client, admin):
        answer = await client.post(
            "/api/v1/staff/appointments/999999/check-in", headers=await staff_login(client, "admin.li")
        )
        assert answer.status_code == 404 and answer.json()["code"] == "APPOINTMENT_NOT_FOUND"

    async def test_a_doctor_checks_in_their_own_patient(self, client, db, clock, login: Login, catalog, afternoon):
        doctor = await make_staff(db, role="doctor", catalog=catalog, username="dr.li")
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, doctor, clock, today_at(13, 0))

        answer = await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)

        assert answer.status_code == 200 and answer.json()["status"] == "checked_in"


class TestCheckInByCode:
    async def test_checks_in_by_the_code_the_patient_shows(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))

        answer = await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)

        assert answer.status_code == 200, answer.text
        assert answer.json()["id"] == booked["id"] and answer.json()["status"] == "checked_in"
        again = await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)
        assert again.status_code == 404 and again.json()["code"] == "CHECK_IN_CODE_NOT_FOUND"

    async def test_a_wrong_code_or_one_of_another_day_is_not_found(self, client, db, clock, login, catalog, admin):
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        booked = await book_appointment(client, await login(), tomorrow.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))

        other_day = await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)
        wrong = await client.post(
            BY_CODE, json={"code": f"{(int(booked['check_in_code']) + 1) % 10**8:08d}"}, headers=auth
        )

        assert other_day.status_code == 404 and other_day.json()["code"] == "CHECK_IN_CODE_NOT_FOUND"
        assert wrong.status_code == 404
        assert await status_of(db, booked["id"]) == "booked"

    async def test_the_time_window_applies_as_well(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(11, 0))

        answer = await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)

        assert answer.status_code == 409 and answer.json()["code"] == "CHECK_IN_NOT_OPEN"

    async def test_a_code_shared_by_two_appointments_needs_the_schedule(self, client, db, clock, login, catalog, admin):
        first_schedule = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
        second_schedule = await make_schedule(
            db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor
        )
        first = await book_appointment(client, await login(), first_schedule.id)
        second = await book_appointment(client, await login(), second_schedule.id)
        async with db.session() as session:  # 8 random digits do collide on a busy day
            await session.execute(
                update(Appointment).where(Appointment.id == second["id"]).values(check_in_code=first["check_in_code"])
            )
        auth = await as_staff(client, admin, clock, today_at(13, 0))

        ambiguous = await client.post(BY_CODE, json={"code": first["check_in_code"]}, headers=auth)
        chosen = await client.post(
            BY_CODE, json={"code": first["check_in_code"], "schedule_id": second_schedule.id}, headers=auth
        )

        assert ambiguous.status_code == 409 and ambiguous.json()["code"] == "CHECK_IN_CODE_AMBIGUOUS"
        assert ambiguous.json()["detail"] == {"schedule_ids": sorted([first_schedule.id, second_schedule.id])}
        assert chosen.status_code == 200 and chosen.json()["id"] == second["id"]
        assert await status_of(db, first["id"]) == "booked"

    @pytest.mark.parametrize(
        "body", [{}, {"code": "1234567"}, {"code": "123456789"}, {"code": "abcdefgh"}, {"code": "12345678", "x": 1}]
    )
    async def test_malformed_bodies_are_validation_errors(self, client, admin, body):
        answer = await client.post(BY_CODE, json=body, headers=await staff_login(client, "admin.li"))
        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


class TestComplete:
    async def test_a_checked_in_visit_is_completed(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)

        answer = await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)

        assert answer.status_code == 200 and answer.json()["status"] == "completed"
        assert answer.json()["status_label"] == "已就诊"

    async def test_only_a_checked_in_visit_can_be_completed(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))

        not_yet = await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)
        twice = await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)

        for answer in (not_yet, twice):
            assert answer.status_code == 409 and answer.json()["code"] == "NOT_COMPLETABLE"
        assert await status_of(db, booked["id"]) == "completed"


class TestRecords:
    async def test_each_transition_is_an_event_naming_the_staff_user(self, client, db, clock, login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))
        await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)
        clock.set(today_at(13, 20))
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)

        events = await events_of(db, booked["id"])

        assert [(e.from_status, e.to_status) for e in events] == [
            (None, "booked"),
            ("booked", "checked_in"),
            ("checked_in", "completed"),
        ]
        assert [e.at for e in events[1:]] == [today_at(13, 0), today_at(13, 20)]
        for event in events[1:]:
            assert "李管理" in event.reason and f"staff:{admin.id}" in event.reason

    async def test_each_write_is_audited_and_a_refused_one_leaves_nothing(
        self, client, db, clock, login, afternoon, admin
    ):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(12, 0))
        refused = await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)
        clock.set(today_at(13, 0))
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/check-in", headers=auth)
        await client.post(f"/api/v1/staff/appointments/{booked['id']}/complete", headers=auth)

        rows = await audit_rows(db)

        assert refused.status_code == 409
        assert [(r.actor, r.action, r.subject) for r in rows] == [
            (f"staff:{admin.id}", "appointment.check_in", f"appointment:{booked['id']}"),
            (f"staff:{admin.id}", "appointment.complete", f"appointment:{booked['id']}"),
        ]
        assert rows[0].detail == {"via": "id", "from_status": "booked", "to_status": "checked_in"}
        assert [r.at for r in rows] == [today_at(13, 0), today_at(13, 0)]

    async def test_a_check_in_by_code_is_audited_as_such(self, client, db, clock, login: Login, afternoon, admin):
        booked = await book_appointment(client, await login(), afternoon.id)
        auth = await as_staff(client, admin, clock, today_at(13, 0))

        await client.post(BY_CODE, json={"code": booked["check_in_code"]}, headers=auth)

        [row] = await audit_rows(db)
        assert row.subject == f"appointment:{booked['id']}" and row.detail["via"] == "code"
