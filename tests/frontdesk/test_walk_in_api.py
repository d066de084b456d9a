"""Walk-in registration at the window (现场挂号) through the staff API: a number kept back for walk-ins is
claimed, the appointment is booked on the ``onsite`` channel for a visit person of the hospital's walk-in
account (sealed like any other), and the clerk gets the queue number and check-in code to print."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.conftest import NOW, Login
from tests.factories import (
    FAST_HASHER,
    Catalog,
    book_appointment,
    id_number,
    keep_onsite,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
    staff_login,
)
from tests.jobs_support import Jobs
from yiyue.accounts import service as accounts
from yiyue.accounts.models import Account, VisitPerson
from yiyue.accounts.staff import passwords
from yiyue.booking.models import Appointment, AppointmentEvent, BookingBan
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.frontdesk.no_shows import mark_no_shows
from yiyue.notifications.models import Delivery, DeliveryChannel
from yiyue.scheduling.models import Period, Schedule, Slot, SlotStatus


def known_id(serial: int) -> str:
    """A valid ID number no default test patient has (their birth date is 1990-01-01)."""
    return id_number(date(1985, 6, 15), serial)


WALK_INS = "/api/v1/staff/walk-ins"
SESSIONS = "/api/v1/staff/walk-in/sessions"
PATIENT_ID = known_id(317)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def afternoon(db: Database, catalog: Catalog) -> Schedule:
    """Today 13:30-17:30, five numbers; 4 and 5 are kept for the window."""
    schedule = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=5)
    assert await keep_onsite(db, schedule, 2) == [4, 5]
    return schedule


@pytest.fixture
async def desk(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang", display_name="王挂号")
    return await staff_login(client, "desk.wang")


def walk_in(schedule_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schedule_id": schedule_id,
        "name": "张三丰",
        "id_number": PATIENT_ID,
        "phone": "13812345678",
    }
    body.update(overrides)
    return body


async def slot_statuses(db: Database, schedule_id: int) -> dict[int, str]:
    async with db.session() as session:
        rows = await session.execute(select(Slot.number, Slot.status).where(Slot.schedule_id == schedule_id))
        return dict(rows.tuples().all())


class TestRegistering:
    async def test_claims_the_first_walk_in_number_and_books_it_on_site(self, client, db, afternoon, desk, catalog):
        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "booked" and body["channel"] == "onsite" and body["queue_number"] == 4
        assert body["fee_fen"] == catalog.doctor.fee_fen and body["new_patient"] is True
        assert len(body["check_in_code"]) == 8 and body["check_in_code"].isdigit()
        assert body["patient"] == {"name_masked": "张*丰", "sex": "男" if int(PATIENT_ID[16]) % 2 else "女"}
        assert PATIENT_ID not in answer.text and "13812345678" not in answer.text
        assert await slot_statuses(db, afternoon.id) == {
            1: "available",
            2: "available",
            3: "available",
            4: "booked",
            5: "onsite",
        }
        async with db.session() as session:
            appointment = await session.get_one(Appointment, body["id"])
            assert appointment.pay_deadline is None and appointment.channel == "onsite"

    async def test_a_new_walk_in_person_is_verified_at_the_window(self, client, db, afternoon, desk, app):
        calls = app.state.fake_wechat.state.realname.calls

        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        async with db.session() as session:
            appointment = await session.get_one(Appointment, answer.json()["id"])
            person = await session.get_one(VisitPerson, appointment.visit_person_id)
        # 实名认证: the clerk read the ID card; no query to the verification service.
        assert (person.realname_status, person.realname_checked_at) == ("verified", NOW)
        assert app.state.fake_wechat.state.realname.calls == calls

    async def test_the_patient_becomes_a_sealed_visit_person_of_the_hospitals_walk_in_account(
        self, client, app, db, afternoon, desk, catalog
    ):
        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        cipher: FieldCipher = app.state.cipher
        async with db.session() as session:
            appointment = await session.get_one(Appointment, answer.json()["id"])
            person = await session.get_one(VisitPerson, appointment.visit_person_id)
            account = await session.get_one(Account, appointment.account_id)
        assert account.openid == f"onsite:{catalog.hospital.id}" and person.account_id == account.id
        assert person.name == "张三丰" and person.birth_date.isoformat() == "1985-06-15"
        assert PATIENT_ID not in person.id_number_encrypted and "13812345678" not in person.phone_encrypted
        assert cipher.decrypt(person.id_number_encrypted, context=accounts.ID_NUMBER) == PATIENT_ID
        assert cipher.decrypt(person.phone_encrypted, context=accounts.PHONE) == "13812345678"
        assert person.id_number_index == cipher.blind_index(PATIENT_ID, context=accounts.ID_NUMBER)
        assert (
            person.phone_masked == "138****5678"
            and person.id_number_masked == PATIENT_ID[:3] + "*" * 11 + PATIENT_ID[-4:]
        )

    async def test_it_is_recorded_audited_and_announced(self, client, db, afternoon, desk):
        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)
        appointment_id = answer.json()["id"]

        async with db.session() as session:
            [event] = list(
                await session.scalars(select(AppointmentEvent).where(AppointmentEvent.appointment_id == appointment_id))
            )
            [row] = list(await session.scalars(select(AuditLog).where(AuditLog.action == "appointment.walk_in")))
            topics = [e.topic for e in await session.scalars(select(OutboxEvent))]
        assert event.from_status is None and event.to_status == "booked" and "王挂号" in event.reason
        assert row.subject == f"appointment:{appointment_id}" and row.hospital_id == afternoon.hospital_id
        assert row.detail["queue_number"] == 4 and row.detail["new_person"] is True
        assert PATIENT_ID not in str(row.detail) and "13812345678" not in str(row.detail)
        assert "appointment.booked" in topics

    async def test_the_walk_in_is_on_the_day_list_and_checks_in_by_its_code(
        self, client, clock: FrozenClock, afternoon, desk
    ):
        registered = (await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)).json()

        listed = (await client.get("/api/v1/staff/appointments?q=张三丰", headers=desk)).json()
        clock.set(afternoon.starts_at)
        auth = await staff_login(client, "desk.wang")
        checked = await client.post("/api/v1/staff/check-in", json={"code": registered["check_in_code"]}, headers=auth)

        assert [(a["id"], a["channel"]) for a in listed["items"]] == [(registered["id"], "onsite")]
        assert checked.status_code == 200 and checked.json()["id"] == registered["id"]

    async def test_a_patient_who_came_before_is_the_same_visit_person(self, client, db, catalog, afternoon, desk):
        other = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
        await keep_onsite(db, other, 1)
        first = (await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)).json()

        again = await client.post(WALK_INS, json=walk_in(other.id, phone="13900001111"), headers=desk)

        assert again.status_code == 201 and again.json()["new_patient"] is False
        async with db.session() as session:
            people = {a.visit_person_id for a in await session.scalars(select(Appointment))}
            person = await session.get_one(VisitPerson, people.pop())
        assert not people and person.phone_masked == "139****1111"
        assert again.json()["queue_number"] == 10 and first["queue_number"] == 4

    async def test_a_mini_program_patient_is_registered_to_their_own_account(
        self, client, db, login: Login, afternoon, desk
    ):
        auth = await login("o-zhang")
        mine = await client.post(
            "/api/v1/me/patients",
            json=patient_body(name="张三丰", id_number=PATIENT_ID, phone="13700002222"),
            headers=auth,
        )
        assert mine.status_code == 201

        answer = await client.post(WALK_INS, json=walk_in(afternoon.id, phone="13812345678"), headers=desk)

        assert answer.status_code == 201 and answer.json()["new_patient"] is False
        own = (await client.get("/api/v1/me/appointments", headers=auth)).json()
        assert [a["id"] for a in own["items"]] == [answer.json()["id"]]
        listed = await client.get("/api/v1/me/patients", headers=auth)
        assert "137****2222" in listed.text  # their own details are theirs to change

    async def test_an_id_number_known_under_another_name_is_refused(self, client, db, afternoon, desk):
        await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        answer = await client.post(WALK_INS, json=walk_in(afternoon.id, name="李四"), headers=desk)

        assert answer.status_code == 409 and answer.json()["code"] == "ID_NUMBER_NAME_MISMATCH"
        assert "张" not in answer.text
        assert (await slot_statuses(db, afternoon.id))[5] == "onsite"

    async def test_the_same_patient_twice_with_one_doctor_on_one_day_is_refused(self, client, db, afternoon, desk):
        await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        assert answer.status_code == 409 and answer.json()["code"] == "DUPLICATE_BOOKING"
        assert (await slot_statuses(db, afternoon.id))[5] == "onsite"


class TestRefusals:
    async def test_when_no_walk_in_number_is_left(self, client, db, afternoon, desk):
        for serial in (1, 2):
            taken = await client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(serial)), headers=desk)
            assert taken.status_code == 201

        answer = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        assert answer.status_code == 409 and answer.json()["code"] == "ONSITE_SOLD_OUT"
        assert answer.json()["message"] == "该时段现场号已挂完，请选择其他医生或时段"
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(Appointment)) == 2

    async def test_a_session_without_walk_in_numbers_has_none_to_give(self, client, db, catalog, desk):
        plain = await make_schedule(db, catalog, days_ahead=0, period=Period.EVENING)

        answer = await client.post(WALK_INS, json=walk_in(plain.id), headers=desk)

        assert answer.status_code == 409 and answer.json()["code"] == "ONSITE_SOLD_OUT"

    async def test_two_clerks_at_once_for_the_last_number_one_wins(self, client, db, afternoon, desk):
        await client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(9)), headers=desk)

        answers = await asyncio.gather(
            client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(10), name="李四"), headers=desk),
            client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(11), name="王五"), headers=desk),
        )

        assert sorted(a.status_code for a in answers) == [201, 409]
        assert {a.json().get("code") for a in answers if a.status_code == 409} == {"ONSITE_SOLD_OUT"}
        assert set((await slot_statuses(db, afternoon.id)).values()) == {"available", "booked"}

    async def test_a_suspended_or_finished_session_takes_no_walk_ins(self, client, db, clock, catalog, afternoon, desk):
        async with db.session() as session:
            await session.execute(update(Schedule).where(Schedule.id == afternoon.id).values(status="suspended"))
        suspended = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)
        morning = await make_schedule(db, catalog, days_ahead=0, period=Period.MORNING, doctor=catalog.other_doctor)
        await keep_onsite(db, morning, 1)
        clock.set(morning.ends_at)
        over = await client.post(WALK_INS, json=walk_in(morning.id), headers=await staff_login(client, "desk.wang"))

        for answer in (suspended, over):
            assert answer.status_code == 409 and answer.json()["code"] == "SESSION_NOT_OPEN"

    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"id_number": "110105199001011230"}, "INVALID_ID_NUMBER"),
            ({"id_number": "12345"}, "INVALID_ID_NUMBER"),
            ({"phone": "12345678901"}, "INVALID_PHONE"),
            ({"name": "张"}, "VALIDATION_ERROR"),
            ({"name": None}, "VALIDATION_ERROR"),
            ({"schedule_id": 0}, "VALIDATION_ERROR"),
            ({"extra": "x"}, "VALIDATION_ERROR"),
        ],
    )
    async def test_bad_input_is_refused_and_takes_nothing(self, client, db, afternoon, desk, overrides, code):
        body = {k: v for k, v in {**walk_in(afternoon.id), **overrides}.items() if v is not None}

        answer = await client.post(WALK_INS, json=body, headers=desk)

        assert answer.status_code == 422 and answer.json()["code"] == code
        assert (await slot_statuses(db, afternoon.id))[4] == "onsite"

    async def test_another_hospitals_session_is_not_found(self, client, db, desk):
        other = await make_catalog(db, name="乙市中心医院")
        theirs = await make_schedule(db, other, days_ahead=0, period=Period.AFTERNOON)
        await keep_onsite(db, theirs, 2)

        foreign = await client.post(WALK_INS, json=walk_in(theirs.id), headers=desk)
        missing = await client.post(WALK_INS, json=walk_in(999_999), headers=desk)

        assert foreign.status_code == 404 and foreign.json() == missing.json()
        assert foreign.json()["code"] == "SCHEDULE_NOT_FOUND"
        assert (await slot_statuses(db, theirs.id))[10] == "onsite"

    async def test_a_hospital_admin_may_register_a_doctor_or_the_platform_may_not(self, client, db, catalog, afternoon):
        for username, role in (("admin.li", "hospital_admin"), ("dr.li", "doctor"), ("root", "platform_admin")):
            await make_staff(db, role=role, catalog=catalog, username=username)

        admin = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=await staff_login(client, "admin.li"))
        refused = [
            await client.post(
                WALK_INS,
                json=walk_in(afternoon.id, id_number=known_id(5)),
                headers=await staff_login(client, u),
            )
            for u in ("dr.li", "root")
        ]

        assert admin.status_code == 201
        for answer in refused:
            assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
        assert (await slot_statuses(db, afternoon.id))[5] == "onsite"


class TestSessions:
    async def test_lists_the_days_sessions_that_take_walk_ins(self, client, db, catalog, afternoon, desk):
        await make_schedule(db, catalog, days_ahead=0, period=Period.EVENING)  # no walk-in numbers
        tomorrow = await make_schedule(db, catalog, days_ahead=1)
        await keep_onsite(db, tomorrow, 3)
        await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)

        today = (await client.get(SESSIONS, headers=desk)).json()
        later = (
            await client.get(f"{SESSIONS}?date={(NOW.date() + timedelta(days=1)).isoformat()}", headers=desk)
        ).json()

        assert [(s["schedule_id"], s["onsite_left"]) for s in today] == [(afternoon.id, 1)]
        assert today[0]["counts"]["booked"] == 1 and today[0]["fee_fen"] == catalog.doctor.fee_fen
        assert [(s["schedule_id"], s["onsite_left"]) for s in later] == [(tomorrow.id, 3)]

    async def test_past_days_finished_and_suspended_sessions_are_left_out(self, client, db, clock, catalog, desk):
        morning = await make_schedule(db, catalog, days_ahead=0, period=Period.MORNING)
        suspended = await make_schedule(db, catalog, days_ahead=0, period=Period.EVENING)
        for schedule in (morning, suspended):
            await keep_onsite(db, schedule, 2)
        async with db.session() as session:
            await session.execute(update(Schedule).where(Schedule.id == suspended.id).values(status="suspended"))

        before = (await client.get(SESSIONS, headers=desk)).json()
        clock.set(morning.ends_at)
        auth = await staff_login(client, "desk.wang")
        after = (await client.get(SESSIONS, headers=auth)).json()
        yesterday = await client.get(f"{SESSIONS}?date={(NOW.date() - timedelta(days=1)).isoformat()}", headers=auth)

        assert [s["schedule_id"] for s in before] == [morning.id]
        assert after == [] and yesterday.json() == []

    async def test_a_doctor_may_not_ask(self, client, db, catalog):
        await make_staff(db, role="doctor", catalog=catalog, username="dr.li")

        answer = await client.get(SESSIONS, headers=await staff_login(client, "dr.li"))

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"


class TestAroundIt:
    async def test_online_booking_never_takes_a_walk_in_number(self, client, login: Login, afternoon):
        for _ in range(3):
            await book_appointment(client, await login(), afternoon.id)
        person = await client.post("/api/v1/me/patients", json=patient_body(), headers=(auth := await login()))

        answer = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": afternoon.id, "patient_id": person.json()["id"]},
            headers={**auth, "Idempotency-Key": "one-too-many"},
        )

        assert answer.status_code == 409 and answer.json()["code"] == "SOLD_OUT"

    async def test_the_walk_in_account_is_never_banned_for_no_shows(self, client, db, clock, afternoon, desk):
        for serial in (21, 22):
            await client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(serial)), headers=desk)
        async with db.session() as session:
            await session.execute(update(Slot).where(Slot.schedule_id == afternoon.id).values(status=SlotStatus.ONSITE))
        await client.post(WALK_INS, json=walk_in(afternoon.id, id_number=known_id(23)), headers=desk)

        clock.set(afternoon.ends_at)
        async with db.session() as session:
            missed = await mark_no_shows(session, now=clock.now(), threshold=3)

        assert len(missed) == 3
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(BookingBan)) == 0


class TestAfterwards:
    async def test_a_walk_in_cancelled_by_its_patient_gives_the_number_back_to_the_window(
        self, client, db, login: Login, afternoon, desk
    ):
        auth = await login("o-zhang-later")
        mine = await client.post(
            "/api/v1/me/patients", json=patient_body(name="张三丰", id_number=PATIENT_ID), headers=auth
        )
        assert mine.status_code == 201
        registered = (await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)).json()

        cancelled = await client.post(f"/api/v1/appointments/{registered['id']}/cancel", headers=auth)

        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert (await slot_statuses(db, afternoon.id))[registered["queue_number"]] == "onsite"
        online = await client.get(f"/api/v1/schedules/{afternoon.id}/slots")
        assert online.json()["schedule"]["remaining"] == 3  # numbers 1-3; the walk-in number is not sold online

    async def test_a_new_walk_in_is_told_by_sms_and_no_wechat_message_is_tried(self, app, client, db, afternoon, desk):
        registered = await client.post(WALK_INS, json=walk_in(afternoon.id), headers=desk)
        assert registered.status_code == 201

        await Jobs(app).drain()

        async with db.session() as session:
            sent = dict((await session.execute(select(Delivery.channel, Delivery.status))).tuples().all())
            reason = await session.scalar(
                select(Delivery.last_error).where(Delivery.channel == DeliveryChannel.WECHAT_SUBSCRIBE)
            )
        assert sent == {"wechat_subscribe": "skipped", "sms": "sent"}
        assert reason == "现场挂号患者没有微信账号"
