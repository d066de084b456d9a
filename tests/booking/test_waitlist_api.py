"""候补 (waitlist) through HTTP: joining a sold-out session, the order of the line, a freed slot held for
its head, confirming, lapsing, leaving, and the ends the session brings (停诊, 停止挂号)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, login_via
from tests.factories import Catalog, id_number, make_catalog, make_schedule, make_staff, staff_login
from tests.jobs_support import Jobs
from yiyue.accounts.models import Account
from yiyue.booking.models import BookingBan
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital
from yiyue.members.models import MemberAccount, MemberLevel
from yiyue.scheduling.models import Period, Schedule, Slot, SlotStatus

WAITLIST = "/api/v1/waitlist"


@dataclass
class Patient:
    auth: dict[str, str]
    patient_id: int
    openid: str


async def new_patient(client: httpx.AsyncClient, *, name: str = "候补患者", **body: str) -> Patient:
    openid = f"o-{uuid.uuid4().hex[:12]}"
    auth = await login_via(client, openid)
    return Patient(auth, await add_patient(client, auth, name=name, **body), openid)


async def join(client: httpx.AsyncClient, patient: Patient, schedule_id: int) -> httpx.Response:
    return await client.post(
        WAITLIST, json={"schedule_id": schedule_id, "patient_id": patient.patient_id}, headers=patient.auth
    )


async def joined(client: httpx.AsyncClient, patient: Patient, schedule_id: int) -> dict[str, Any]:
    answer = await join(client, patient, schedule_id)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def entry(client: httpx.AsyncClient, patient: Patient, entry_id: int) -> dict[str, Any]:
    answer = await client.get(f"{WAITLIST}/{entry_id}", headers=patient.auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def booked_by(client: httpx.AsyncClient, schedule_id: int) -> tuple[Patient, dict[str, Any]]:
    """A patient who books ``schedule_id``, and the appointment."""
    patient = await new_patient(client, name="已约患者")
    answer = await book(client, patient.auth, schedule_id, patient.patient_id)
    assert answer.status_code == 201, answer.text
    return patient, answer.json()


async def cancel(client: httpx.AsyncClient, holder: tuple[Patient, dict[str, Any]]) -> None:
    patient, appointment = holder
    answer = await client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=patient.auth)
    assert answer.status_code == 200, answer.text


async def sold_out(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, *, capacity: int = 2, **schedule: Any
) -> tuple[Schedule, list[tuple[Patient, dict[str, Any]]]]:
    """A released session whose every slot is booked, with who booked them."""
    made = await make_schedule(db, catalog, capacity=capacity, **schedule)
    return made, [await booked_by(client, made.id) for _ in range(capacity)]


async def slot_statuses(db: Database, schedule_id: int) -> list[str]:
    async with db.session() as session:
        rows = await session.scalars(select(Slot.status).where(Slot.schedule_id == schedule_id).order_by(Slot.number))
        return list(rows)


async def line(client: httpx.AsyncClient, schedule_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/schedules/{schedule_id}/waitlist")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def make_member(db: Database, openid: str, level_code: str) -> None:
    """Puts the account at a member level (its 12-month points reach it; no points to spend)."""
    async with db.session() as session:
        account_id = await session.scalar(select(Account.id).where(Account.openid == openid))
        level = await session.scalar(select(MemberLevel).where(MemberLevel.code == level_code))
        assert account_id is not None and level is not None
        session.add(
            MemberAccount(
                account_id=account_id,
                level_id=level.id,
                points_balance=0,
                points_12m=level.min_points,
                level_since=NOW,
                updated_at=NOW,
            )
        )


async def set_hospital(db: Database, catalog: Catalog, **values: Any) -> None:
    async with db.session() as session:
        await session.execute(update(Hospital).where(Hospital.id == catalog.hospital.id).values(**values))


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


class TestJoin:
    async def test_a_sold_out_session_can_be_joined_and_shows_the_place_in_line(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        assert await line(client, schedule.id) == {"waiting": 0, "can_join": True, "hold_minutes": 15}
        first, second = await new_patient(client, name="张甲"), await new_patient(client, name="李乙")

        one = await joined(client, first, schedule.id)
        two = await joined(client, second, schedule.id)

        assert (one["status"], one["status_label"], one["position"], one["waiting_ahead"]) == (
            "waiting",
            "候补中",
            1,
            0,
        )
        assert (two["position"], two["waiting_ahead"]) == (2, 1)
        assert one["schedule"]["id"] == schedule.id and one["schedule"]["period_label"] == "上午"
        assert one["doctor"] == {"id": catalog.doctor.id, "name": "李明华", "title": "主任医师"}
        assert one["hospital"]["name"] == "测试人民医院" and one["department"]["name"] == "心血管内科"
        assert one["patient"] == {"id": first.patient_id, "name": "张甲"}
        assert one["offer"] is None and one["appointment_id"] is None and one["end_reason"] == ""
        assert (await line(client, schedule.id))["waiting"] == 2

    async def test_is_refused_while_slots_are_free(self, client, db, catalog):
        schedule = await make_schedule(db, catalog, capacity=2)

        answer = await join(client, await new_patient(client), schedule.id)

        assert answer.status_code == 409 and answer.json()["code"] == "WAITLIST_NOT_NEEDED"
        assert answer.json()["message"] == "该时段尚有号源，请直接预约"
        assert (await line(client, schedule.id))["can_join"] is False

    async def test_one_person_waits_once_per_session_whichever_account_asks(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        number = id_number()
        mother = await new_patient(client, name="王母", id_number=number)
        await joined(client, mother, schedule.id)
        # The same ID number added to a second account (the daughter's) is the same person.
        daughter = await new_patient(client, name="王母", id_number=number, relationship="parent")

        again = await join(client, mother, schedule.id)
        elsewhere = await join(client, daughter, schedule.id)

        assert again.status_code == 409 and again.json()["code"] == "WAITLIST_EXISTS"
        assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "WAITLIST_EXISTS"
        assert (await line(client, schedule.id))["waiting"] == 1

    async def test_an_account_has_at_most_the_hospitals_number_of_open_entries(self, client, db, catalog):
        await set_hospital(db, catalog, waitlist_max_entries=1)
        morning, _ = await sold_out(client, db, catalog, capacity=1)
        other_doctor, _ = await sold_out(client, db, catalog, capacity=1, doctor=catalog.other_doctor)
        patient = await new_patient(client)
        sister = await add_patient(client, patient.auth, name="李妹", relationship="child")
        await joined(client, patient, morning.id)

        answer = await join(client, Patient(patient.auth, sister, patient.openid), other_doctor.id)

        assert answer.status_code == 409 and answer.json()["code"] == "WAITLIST_LIMIT"
        assert answer.json()["message"] == "您在本院进行中的候补已达上限（1个）"

    async def test_a_person_booked_with_the_doctor_that_day_need_not_wait(self, client, db, catalog):
        afternoon, _ = await sold_out(client, db, catalog, period=Period.AFTERNOON)
        morning = await make_schedule(db, catalog, period=Period.MORNING)
        patient = await new_patient(client)
        assert (await book(client, patient.auth, morning.id, patient.patient_id)).status_code == 201

        answer = await join(client, patient, afternoon.id)

        assert answer.status_code == 409 and answer.json()["code"] == "DUPLICATE_BOOKING"
        assert answer.json()["message"] == "该就诊人当天已预约过这位医生，无需候补"

    async def test_only_for_the_callers_own_visit_person(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        mine, theirs = await new_patient(client), await new_patient(client)

        answer = await client.post(
            WAITLIST, json={"schedule_id": schedule.id, "patient_id": theirs.patient_id}, headers=mine.auth
        )

        assert answer.status_code == 404 and answer.json()["code"] == "VISIT_PERSON_NOT_FOUND"

    async def test_a_banned_account_cannot_join(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        patient = await new_patient(client)
        async with db.session() as session:
            account_id = await session.scalar(select(Account.id).where(Account.openid == patient.openid))
            assert account_id is not None
            session.add(
                BookingBan(account_id=account_id, starts_at=NOW, ends_at=NOW + timedelta(days=90), reason="爽约3次")
            )

        answer = await join(client, patient, schedule.id)

        assert answer.status_code == 403 and answer.json()["code"] == "BOOKING_BANNED"

    @pytest.mark.parametrize(
        ("when", "code"), [(timedelta(days=1), "BOOKING_CLOSED"), (timedelta(minutes=0), None)], ids=["closed", "open"]
    )
    async def test_only_while_the_session_takes_bookings(self, client, db, catalog, clock: FrozenClock, when, code):
        schedule, _ = await sold_out(client, db, catalog)
        patient = await new_patient(client)
        clock.set(NOW + when)
        if when:
            patient.auth = await login_via(client, patient.openid)

        answer = await join(client, patient, schedule.id)

        if code is None:
            assert answer.status_code == 201
        else:
            assert answer.status_code == 409 and answer.json()["code"] == code
            assert (await line(client, schedule.id))["can_join"] is False

    async def test_not_before_the_release(self, client, db, catalog):
        later = await make_schedule(db, catalog, days_ahead=9, capacity=1)
        async with db.session() as session:  # booked out by the hospital before release (e.g. on site)
            await session.execute(update(Slot).where(Slot.schedule_id == later.id).values(status=SlotStatus.BOOKED))

        answer = await join(client, await new_patient(client), later.id)

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_RELEASED"

    async def test_not_a_suspended_session(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)
        suspended = await client.post(
            f"/api/v1/staff/schedules/{schedule.id}/suspend", json={"reason": "医生外出会诊"}, headers=admin
        )
        assert suspended.status_code == 200, suspended.text

        answer = await join(client, await new_patient(client), schedule.id)

        assert answer.status_code == 409 and answer.json()["code"] == "SCHEDULE_SUSPENDED"

    @pytest.mark.parametrize(
        "body",
        [{}, {"schedule_id": 0, "patient_id": 1}, {"schedule_id": 1}, {"schedule_id": 1, "patient_id": 1, "x": 1}],
        ids=["empty", "zero id", "no patient", "unknown field"],
    )
    async def test_bad_input_is_422(self, client, db, catalog, body):
        patient = await new_patient(client)

        answer = await client.post(WAITLIST, json=body, headers=patient.auth)

        assert answer.status_code == 422

    async def test_an_unknown_session_is_404_and_a_stranger_is_401(self, client, db, catalog):
        patient = await new_patient(client)

        unknown = await client.post(
            WAITLIST, json={"schedule_id": 999999, "patient_id": patient.patient_id}, headers=patient.auth
        )
        anonymous = await client.post(WAITLIST, json={"schedule_id": 1, "patient_id": 1})

        assert unknown.status_code == 404 and unknown.json()["code"] == "SCHEDULE_NOT_FOUND"
        assert anonymous.status_code == 401
        assert (await client.get("/api/v1/schedules/999999/waitlist")).status_code == 404


class TestOrder:
    async def test_members_come_first_by_level_then_who_joined_first(self, client, db, catalog, clock: FrozenClock):
        schedule, holders = await sold_out(client, db, catalog, capacity=3)
        names = ["赵普通", "钱金卡", "孙银卡", "李普通", "周金卡"]
        levels = [None, "gold", "silver", None, "gold"]
        patients = []
        for minute, (name, level) in enumerate(zip(names, levels, strict=True)):
            patient = await new_patient(client, name=name)
            if level is not None:
                await make_member(db, patient.openid, level)
            clock.set(NOW + timedelta(minutes=minute))
            patients.append((patient, await joined(client, patient, schedule.id)))

        positions = {p.patient_id: (await entry(client, p, e["id"]))["position"] for p, e in patients}
        expected = {"钱金卡": 1, "周金卡": 2, "孙银卡": 3, "赵普通": 4, "李普通": 5}
        assert {name: positions[p.patient_id] for name, (p, _) in zip(names, patients, strict=True)} == expected

        for holder in holders:  # three slots free, one after another: the first three in line get them
            await cancel(client, holder)
        offered = {
            name
            for name, (p, e) in zip(names, patients, strict=True)
            if (await entry(client, p, e["id"]))["status"] == "offered"
        }
        assert offered == {"钱金卡", "周金卡", "孙银卡"}
        for name in ("赵普通", "李普通"):
            p, e = patients[names.index(name)]
            assert (await entry(client, p, e["id"]))["position"] == expected[name] - 3

    async def test_the_priority_is_the_level_when_joining(self, client, db, catalog, clock: FrozenClock):
        schedule, [holder] = await sold_out(client, db, catalog, capacity=1)
        early, late = await new_patient(client, name="先来者"), await new_patient(client, name="后来者")
        first = await joined(client, early, schedule.id)
        clock.set(NOW + timedelta(minutes=1))
        second = await joined(client, late, schedule.id)
        await make_member(db, late.openid, "diamond")  # reached a level after joining: the line stays as it was

        await cancel(client, holder)

        assert (await entry(client, early, first["id"]))["status"] == "offered"
        assert (await entry(client, late, second["id"]))["position"] == 1


class TestHandOver:
    async def test_a_cancelled_slot_is_held_for_the_head_and_never_reaches_the_pool(self, client, db, catalog):
        schedule, [holder, _] = await sold_out(client, db, catalog)
        head, next_one = await new_patient(client, name="排头"), await new_patient(client, name="第二")
        first = await joined(client, head, schedule.id)
        second = await joined(client, next_one, schedule.id)

        await cancel(client, holder)

        got = await entry(client, head, first["id"])
        assert (got["status"], got["status_label"], got["position"]) == ("offered", "待确认", None)
        assert got["offer"]["slot_number"] == holder[1]["queue_number"]
        assert got["offer"]["seconds_left"] == 15 * 60
        assert got["offer"]["expires_at"].startswith("2026-03-02T01:15")  # 09:15 in Beijing
        assert (await entry(client, next_one, second["id"]))["position"] == 1
        assert await slot_statuses(db, schedule.id) == ["held", "booked"]
        slots = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()
        assert slots["schedule"]["remaining"] == 0
        somebody = await new_patient(client)
        grab = await book(client, somebody.auth, schedule.id, somebody.patient_id)
        assert grab.status_code == 409 and grab.json()["code"] == "SOLD_OUT"
        assert await line(client, schedule.id) == {"waiting": 1, "can_join": True, "hold_minutes": 15}

    async def test_with_nobody_waiting_a_cancelled_slot_goes_back_to_the_pool(self, client, db, catalog):
        schedule, [holder, _] = await sold_out(client, db, catalog)

        await cancel(client, holder)

        assert await slot_statuses(db, schedule.id) == ["available", "booked"]

    async def test_an_unpaid_hold_that_runs_out_passes_to_the_line(self, client, db, jobs, clock: FrozenClock):
        paid = await make_catalog(db, name="收费医院", payment_required=True)
        schedule, [(_, hold)] = await sold_out(client, db, paid, capacity=1)
        assert hold["status"] == "pending_payment"
        waiting = await new_patient(client)
        mine = await joined(client, waiting, schedule.id)

        clock.set(NOW + timedelta(minutes=15))
        await jobs.drain()

        got = await entry(client, waiting, mine["id"])
        assert got["status"] == "offered" and got["offer"]["slot_number"] == 1
        assert await slot_statuses(db, schedule.id) == ["held"]

    async def test_numbers_added_by_the_hospital_go_to_the_line_first(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        waiting = [await new_patient(client, name=n) for n in ("候补一", "候补二")]
        entries = [await joined(client, p, schedule.id) for p in waiting]
        admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)

        grown = await client.patch(f"/api/v1/staff/schedules/{schedule.id}", json={"capacity": 5}, headers=admin)

        assert grown.status_code == 200, grown.text
        statuses = [(await entry(client, p, e["id"]))["status"] for p, e in zip(waiting, entries, strict=True)]
        assert statuses == ["offered", "offered"]
        assert await slot_statuses(db, schedule.id) == ["booked", "booked", "held", "held", "available"]
        assert (await line(client, schedule.id))["can_join"] is False

    async def test_someone_who_booked_the_doctor_that_day_meanwhile_is_passed_over(self, client, db, catalog):
        morning, [holder] = await sold_out(client, db, catalog, capacity=1, period=Period.MORNING)
        afternoon = await make_schedule(db, catalog, period=Period.AFTERNOON, capacity=1)
        elsewhere, next_one = await new_patient(client, name="另约者"), await new_patient(client, name="候补二")
        passed = await joined(client, elsewhere, morning.id)
        second = await joined(client, next_one, morning.id)
        assert (await book(client, elsewhere.auth, afternoon.id, elsewhere.patient_id)).status_code == 201

        await cancel(client, holder)

        got = await entry(client, elsewhere, passed["id"])
        assert (got["status"], got["end_reason"]) == ("ended", "已预约该医生当日号源")
        assert (await entry(client, next_one, second["id"]))["status"] == "offered"

    async def test_an_offer_never_outlasts_the_booking_cut_off(self, client, db, catalog, clock: FrozenClock):
        await set_hospital(db, catalog, stop_minutes_before=30, cancel_minutes_before=0)
        schedule, [holder] = await sold_out(client, db, catalog, capacity=1, days_ahead=0, period=Period.AFTERNOON)
        waiting = await new_patient(client)
        mine = await joined(client, waiting, schedule.id)
        clock.set(schedule.starts_at - timedelta(minutes=35))  # the cut-off is in 5 minutes
        waiting.auth = await login_via(client, waiting.openid)
        holder[0].auth = await login_via(client, holder[0].openid)

        await cancel(client, holder)

        got = await entry(client, waiting, mine["id"])
        assert got["offer"]["seconds_left"] == 5 * 60
