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


async def member_level(db: Database, code: str) -> MemberLevel:
    """The level as the migration seeds it."""
    async with db.session() as session:
        return (await session.scalars(select(MemberLevel).where(MemberLevel.code == code))).one()


async def make_member(db: Database, openid: str, level_code: str) -> None:
    """Puts the account at a member level (its 12-month points reach it; no points to spend)."""
    level = await member_level(db, level_code)
    async with db.session() as session:
        account_id = await session.scalar(select(Account.id).where(Account.openid == openid))
        assert account_id is not None
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

    async def test_with_only_the_members_share_left_a_patient_without_it_is_told_when_it_opens(self, client, db):
        shared = await make_catalog(db, name="会员预留医院", member_share_percent=50)
        # Number 2 is the members' share, open to everyone from 24 hours before the session.
        schedule = await make_schedule(db, shared, capacity=2, days_ahead=2)
        await booked_by(client, schedule.id)
        member = await new_patient(client, name="银卡会员")
        await make_member(db, member.openid, "silver")

        regular = await join(client, await new_patient(client), schedule.id)
        privileged = await join(client, member, schedule.id)

        assert regular.status_code == 409 and regular.json()["code"] == "MEMBER_SHARE_ONLY"
        assert "向所有患者开放" in regular.json()["message"]
        assert privileged.status_code == 409 and privileged.json()["code"] == "WAITLIST_NOT_NEEDED"

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


async def offered_to(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, **schedule: Any
) -> tuple[Schedule, Patient, dict[str, Any], Patient, dict[str, Any]]:
    """A sold-out session of one slot whose booking was cancelled: the slot is offered to the first of two
    waiting patients. Returns the session, the head and its entry, the next and its entry."""
    made, [holder] = await sold_out(client, db, catalog, capacity=1, **schedule)
    head, second = await new_patient(client, name="排头"), await new_patient(client, name="第二")
    head_entry, second_entry = await joined(client, head, made.id), await joined(client, second, made.id)
    await cancel(client, holder)
    return made, head, head_entry, second, second_entry


async def confirm(client: httpx.AsyncClient, patient: Patient, entry_id: int) -> httpx.Response:
    return await client.post(f"{WAITLIST}/{entry_id}/confirm", headers=patient.auth)


class TestConfirm:
    async def test_books_the_held_slot(self, client, db, catalog):
        schedule, head, mine, _, _ = await offered_to(client, db, catalog)

        answer = await confirm(client, head, mine["id"])

        assert answer.status_code == 201, answer.text
        appointment = answer.json()
        assert (appointment["status"], appointment["queue_number"], appointment["schedule_id"]) == (
            "booked",
            1,
            schedule.id,
        )
        assert appointment["patient"]["id"] == head.patient_id
        got = await entry(client, head, mine["id"])
        assert (got["status"], got["status_label"], got["appointment_id"]) == ("booked", "已预约", appointment["id"])
        assert got["offer"] is None
        assert await slot_statuses(db, schedule.id) == ["booked"]
        listed = await client.get("/api/v1/me/appointments", headers=head.auth)
        assert [a["id"] for a in listed.json()["items"]] == [appointment["id"]]

    async def test_a_member_pays_the_members_fee(self, client, db, catalog):
        schedule, [holder] = await sold_out(client, db, catalog, capacity=1)
        member = await new_patient(client, name="金卡会员")
        await make_member(db, member.openid, "gold")
        mine = await joined(client, member, schedule.id)
        await cancel(client, holder)

        answer = await confirm(client, member, mine["id"])

        assert answer.status_code == 201, answer.text
        assert answer.json()["fee_fen"] == 4750  # 金卡 95% of 50.00
        assert answer.json()["payment"]["discount_fen"] == 250

    async def test_where_the_fee_is_paid_online_the_held_slot_waits_for_the_payment(self, client, db):
        paid = await make_catalog(db, name="收费医院", payment_required=True)
        schedule, [holder] = await sold_out(client, db, paid, capacity=1)
        head = await new_patient(client)
        mine = await joined(client, head, schedule.id)
        await cancel(client, holder)  # an unpaid hold let go

        answer = await confirm(client, head, mine["id"])

        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "pending_payment" and answer.json()["pay_deadline"] is not None
        assert await slot_statuses(db, schedule.id) == ["held"]

    async def test_the_persons_other_entries_with_the_doctor_that_day_end(self, client, db, catalog):
        morning, [holder] = await sold_out(client, db, catalog, capacity=1, period=Period.MORNING)
        afternoon, [other_holder] = await sold_out(client, db, catalog, capacity=1, period=Period.AFTERNOON)
        patient, behind = await new_patient(client), await new_patient(client, name="后面的人")
        first = await joined(client, patient, morning.id)
        second = await joined(client, patient, afternoon.id)
        behind_entry = await joined(client, behind, afternoon.id)
        await cancel(client, holder)
        await cancel(client, other_holder)  # both offered to the same person

        assert (await confirm(client, patient, first["id"])).status_code == 201

        got = await entry(client, patient, second["id"])
        assert (got["status"], got["end_reason"]) == ("ended", "已预约该医生当日号源")
        assert (await entry(client, behind, behind_entry["id"]))["status"] == "offered"  # the slot passed on

    async def test_someone_elses_entry_is_not_found(self, client, db, catalog):
        _, _, mine, second, _ = await offered_to(client, db, catalog)

        answer = await confirm(client, second, mine["id"])

        assert answer.status_code == 404 and answer.json()["code"] == "WAITLIST_NOT_FOUND"
        assert (await client.get(f"{WAITLIST}/{mine['id']}", headers=second.auth)).status_code == 404
        assert (await client.delete(f"{WAITLIST}/{mine['id']}", headers=second.auth)).status_code == 404

    async def test_refused_while_waiting_after_the_time_and_twice(self, client, db, catalog, clock: FrozenClock):
        _, head, mine, second, waiting = await offered_to(client, db, catalog)

        not_yet = await confirm(client, second, waiting["id"])
        assert (await confirm(client, head, mine["id"])).status_code == 201
        twice = await confirm(client, head, mine["id"])

        assert not_yet.status_code == 409 and not_yet.json()["code"] == "WAITLIST_NOT_OFFERED"
        assert twice.status_code == 409 and twice.json()["code"] == "WAITLIST_ALREADY_BOOKED"
        assert twice.json()["detail"]["appointment_id"] == (await entry(client, head, mine["id"]))["appointment_id"]

    async def test_refused_once_the_offer_ran_out(self, client, db, catalog, clock: FrozenClock, jobs):
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        clock.set(NOW + timedelta(minutes=15))

        late = await confirm(client, head, mine["id"])
        await jobs.drain()
        ended = await confirm(client, head, mine["id"])

        assert late.status_code == 409 and late.json()["code"] == "WAITLIST_OFFER_EXPIRED"
        assert ended.status_code == 409 and ended.json()["code"] == "WAITLIST_ENDED"
        assert ended.json()["message"] == "该候补已结束（超时未确认）"

    async def test_refused_when_the_person_reached_the_active_limit(self, client, db, catalog):
        await set_hospital(db, catalog, max_active_appointments=1)
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        elsewhere = await make_schedule(db, catalog, doctor=catalog.other_doctor)
        assert (await book(client, head.auth, elsewhere.id, head.patient_id)).status_code == 201

        answer = await confirm(client, head, mine["id"])

        assert answer.status_code == 409 and answer.json()["code"] == "BOOKING_LIMIT"

    async def test_bad_ids_are_422(self, client, db, catalog):
        patient = await new_patient(client)

        for call in (client.get, client.delete):
            assert (await call(f"{WAITLIST}/0", headers=patient.auth)).status_code == 422
        assert (await client.post(f"{WAITLIST}/abc/confirm", headers=patient.auth)).status_code == 422
        assert (await client.get(f"{WAITLIST}/999999", headers=patient.auth)).status_code == 404


class TestOfferEnds:
    async def test_an_unconfirmed_offer_passes_to_the_next(self, client, db, catalog, clock: FrozenClock, jobs):
        schedule, head, mine, second, theirs = await offered_to(client, db, catalog)
        clock.set(NOW + timedelta(minutes=14, seconds=59))
        await jobs.drain()
        assert (await entry(client, head, mine["id"]))["status"] == "offered"  # not yet

        clock.set(NOW + timedelta(minutes=15))
        await jobs.drain()

        lapsed = await entry(client, head, mine["id"])
        assert (lapsed["status"], lapsed["status_label"], lapsed["end_reason"]) == ("ended", "已结束", "超时未确认")
        passed = await entry(client, second, theirs["id"])
        assert passed["status"] == "offered" and passed["offer"]["slot_number"] == 1
        assert passed["offer"]["seconds_left"] == 15 * 60
        assert await slot_statuses(db, schedule.id) == ["held"]

    async def test_the_last_lapse_gives_the_slot_back_to_the_pool(self, client, db, catalog, clock: FrozenClock, jobs):
        schedule, _, _, _, _ = await offered_to(client, db, catalog)

        for minutes in (15, 30):  # the head's offer lapses, then the next one's
            clock.set(NOW + timedelta(minutes=minutes))
            await jobs.drain()

        assert await slot_statuses(db, schedule.id) == ["available"]
        assert (await line(client, schedule.id))["can_join"] is False


class TestLeave:
    async def test_leaving_a_waiting_entry_moves_the_others_up(self, client, db, catalog):
        schedule, _ = await sold_out(client, db, catalog)
        first, second = await new_patient(client), await new_patient(client)
        mine, theirs = await joined(client, first, schedule.id), await joined(client, second, schedule.id)

        answer = await client.delete(f"{WAITLIST}/{mine['id']}", headers=first.auth)
        again = await client.delete(f"{WAITLIST}/{mine['id']}", headers=first.auth)

        assert answer.status_code == 204 and again.status_code == 204
        left = await entry(client, first, mine["id"])
        assert (left["status"], left["end_reason"], left["position"]) == ("ended", "已取消候补", None)
        assert (await entry(client, second, theirs["id"]))["position"] == 1

    async def test_leaving_an_offer_passes_the_slot_on(self, client, db, catalog):
        _, head, mine, second, theirs = await offered_to(client, db, catalog)

        assert (await client.delete(f"{WAITLIST}/{mine['id']}", headers=head.auth)).status_code == 204

        assert (await entry(client, second, theirs["id"]))["status"] == "offered"

    async def test_a_booked_entry_is_cancelled_as_an_appointment(self, client, db, catalog):
        _, head, mine, _, _ = await offered_to(client, db, catalog)
        assert (await confirm(client, head, mine["id"])).status_code == 201

        answer = await client.delete(f"{WAITLIST}/{mine['id']}", headers=head.auth)

        assert answer.status_code == 409 and answer.json()["code"] == "WAITLIST_ALREADY_BOOKED"


class TestSessionEnds:
    async def test_a_suspension_ends_every_open_entry_and_frees_the_held_slot(self, client, db, catalog, jobs):
        schedule, head, mine, second, theirs = await offered_to(client, db, catalog)
        admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)

        answer = await client.post(
            f"/api/v1/staff/schedules/{schedule.id}/suspend", json={"reason": "医生外出会诊"}, headers=admin
        )

        assert answer.status_code == 200, answer.text
        for patient, one in ((head, mine), (second, theirs)):
            got = await entry(client, patient, one["id"])
            assert (got["status"], got["end_reason"]) == ("ended", "医生停诊")
        assert await slot_statuses(db, schedule.id) == ["available"]

    async def test_entries_still_waiting_end_when_booking_closes(self, client, db, catalog, clock: FrozenClock, jobs):
        schedule, _ = await sold_out(client, db, catalog)
        patient = await new_patient(client)
        mine = await joined(client, patient, schedule.id)
        clock.set(schedule.starts_at - timedelta(seconds=1))
        await jobs.drain()
        patient.auth = await login_via(client, patient.openid)
        assert (await entry(client, patient, mine["id"]))["status"] == "waiting"

        clock.set(schedule.starts_at)  # stop_minutes_before is 0: booking closes as the session starts
        await jobs.drain()

        got = await entry(client, patient, mine["id"])
        assert (got["status"], got["end_reason"]) == ("ended", "已停止挂号")


class TestMyWaitlist:
    async def test_offers_first_then_those_waiting_then_the_rest(self, client, db, catalog):
        patient = await new_patient(client)
        relatives = [await add_patient(client, patient.auth, name=n, relationship="child") for n in ("李一", "李二")]
        tomorrow, [holder] = await sold_out(client, db, catalog, capacity=1, days_ahead=1)
        later, _ = await sold_out(client, db, catalog, capacity=1, days_ahead=2)
        left = await joined(client, patient, later.id)
        assert (await client.delete(f"{WAITLIST}/{left['id']}", headers=patient.auth)).status_code == 204
        waiting = await joined(client, Patient(patient.auth, relatives[0], ""), later.id)
        offered = await joined(client, Patient(patient.auth, relatives[1], ""), tomorrow.id)
        await cancel(client, holder)

        answer = await client.get(WAITLIST, headers=patient.auth)

        assert answer.status_code == 200
        body = answer.json()
        assert body["total"] == 3
        assert [(e["id"], e["status"]) for e in body["items"]] == [
            (offered["id"], "offered"),
            (waiting["id"], "waiting"),
            (left["id"], "ended"),
        ]
        assert (await client.get(WAITLIST, headers=(await new_patient(client)).auth)).json()["total"] == 0
        assert (await client.get(WAITLIST)).status_code == 401
