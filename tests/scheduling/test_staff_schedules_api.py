"""The hospital's schedules through the staff API: the list, one-off sessions (临时加诊), changing a
session's numbers before and after release, and 放号 on demand; other hospitals and roles are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.scheduling.models import Period, Schedule, ScheduleTemplate, Slot

SCHEDULES = "/api/v1/staff/schedules"
RELEASE = "/api/v1/staff/schedules/release"
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> dict[str, str]:
    return await staff_login(client, (await make_staff(db, catalog=catalog)).username)


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def session_body(catalog: Catalog, offset: int, **more: Any) -> dict[str, Any]:
    return {"doctor_id": catalog.doctor.id, "visit_date": day(offset), "period": "morning", "capacity": 10, **more}


async def slots_of(client: httpx.AsyncClient, schedule_id: int) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/v1/schedules/{schedule_id}/slots")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def actions(db: Database) -> list[str]:
    async with db.session() as session:
        return [a.action for a in await session.scalars(select(AuditLog).order_by(AuditLog.id))]


class TestList:
    async def test_lists_the_window_with_how_full_each_session_is_and_its_state(
        self, client, db, login: Login, catalog, admin
    ):
        today = await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, capacity=4)
        later = await make_schedule(db, catalog, days_ahead=3, doctor=catalog.other_doctor)
        unreleased = await make_schedule(db, catalog, days_ahead=7 + 1, capacity=6)
        beyond = await make_schedule(db, catalog, days_ahead=20)
        await book_appointment(client, await login(), today.id)
        await client.post(f"{SCHEDULES}/{later.id}/suspend", json={"reason": "外出会诊"}, headers=admin)

        answer = await client.get(SCHEDULES, headers=admin)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["start"], body["end"], body["total"]) == (day(0), day(7), 2)
        first, second = body["items"]
        assert first["id"] == today.id and first["period_label"] == "下午"
        assert (first["capacity"], first["taken"], first["available"], first["state_label"]) == (4, 1, 3, "开放")
        assert first["doctor_name"] == "李明华" and first["department_name"] == "心血管内科"
        assert second["id"] == later.id and second["state"] == "suspended" and second["state_label"] == "停诊"
        wider = (await client.get(f"{SCHEDULES}?end={day(10)}", headers=admin)).json()
        assert [s["id"] for s in wider["items"]] == [today.id, later.id, unreleased.id]
        assert wider["items"][2]["state"] == "unreleased" and wider["items"][2]["state_label"] == "未放号"
        assert beyond.id not in [s["id"] for s in wider["items"]]

    async def test_filters_by_clinic_or_its_parent_and_by_doctor(self, client, db, catalog, admin):
        mine = await make_schedule(db, catalog, days_ahead=1)
        theirs = await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)

        async def ids(query: str) -> list[int]:
            answer = await client.get(f"{SCHEDULES}?{query}", headers=admin)
            assert answer.status_code == 200, answer.text
            return [s["id"] for s in answer.json()["items"]]

        assert await ids(f"department_id={catalog.parent.id}") == [mine.id, theirs.id]
        assert await ids(f"department_id={catalog.clinic.id}&doctor_id={catalog.other_doctor.id}") == [theirs.id]
        assert await ids("page=2&page_size=1") == [theirs.id]

    async def test_a_range_over_31_days_or_backwards_is_refused(self, client, admin):
        too_long = await client.get(f"{SCHEDULES}?start={day(0)}&end={day(31)}", headers=admin)
        backwards = await client.get(f"{SCHEDULES}?start={day(3)}&end={day(2)}", headers=admin)
        not_a_date = await client.get(f"{SCHEDULES}?start=tomorrow", headers=admin)

        assert too_long.status_code == 422 and too_long.json()["code"] == "INVALID_DATE_RANGE"
        assert backwards.json()["code"] == "INVALID_DATE_RANGE"
        assert not_a_date.status_code == 422 and not_a_date.json()["code"] == "VALIDATION_ERROR"

    async def test_a_doctor_sees_only_their_own_sessions(self, client, db, catalog):
        own = await make_schedule(db, catalog, days_ahead=1)
        await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)
        doctor = await staff_login(client, (await make_staff(db, role="doctor", catalog=catalog)).username)

        answer = await client.get(SCHEDULES, headers=doctor)
        colleague = await client.get(f"{SCHEDULES}?doctor_id={catalog.other_doctor.id}", headers=doctor)

        assert [s["id"] for s in answer.json()["items"]] == [own.id]
        assert colleague.json()["items"] == []

    async def test_a_platform_admin_names_the_hospital_and_others_see_only_their_own(self, client, db, catalog):
        schedule = await make_schedule(db, catalog, days_ahead=1)
        other = await make_catalog(db, name="别家医院")
        root = await staff_login(client, (await make_staff(db, role="platform_admin")).username)
        stranger = await staff_login(client, (await make_staff(db, catalog=other)).username)

        unnamed = await client.get(SCHEDULES, headers=root)
        named = await client.get(f"{SCHEDULES}?hospital_id={catalog.hospital.id}", headers=root)
        peeking = await client.get(f"{SCHEDULES}?hospital_id={catalog.hospital.id}", headers=stranger)
        one = await client.get(f"{SCHEDULES}/{schedule.id}", headers=stranger)

        assert unnamed.status_code == 422 and unnamed.json()["code"] == "HOSPITAL_ID_REQUIRED"
        assert [s["id"] for s in named.json()["items"]] == [schedule.id]
        assert peeking.status_code == 404 and peeking.json()["code"] == "HOSPITAL_NOT_FOUND"
        assert one.status_code == 404 and one.json()["code"] == "SCHEDULE_NOT_FOUND"
        assert (await client.get(SCHEDULES, headers=stranger)).json()["items"] == []


class TestAddSession:
    async def test_a_session_past_the_window_waits_for_its_release_with_on_site_numbers_last(
        self, client, db, catalog, admin
    ):
        answer = await client.post(
            SCHEDULES, json=session_body(catalog, 10, capacity=8, onsite_quota=2, slot_minutes=30), headers=admin
        )

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["state"], body["capacity"], body["onsite_quota"]) == ("unreleased", 8, 2)
        assert (body["available"], body["onsite_free"], body["fee_fen"]) == (6, 2, 5000)
        slots = await slots_of(client, body["id"])
        assert [s["status"] for s in slots] == ["available"] * 6 + ["onsite"] * 2
        assert slots[0]["starts_at"] == body["starts_at"]
        assert slots[1]["starts_at"] == slots[0]["ends_at"]  # 30-minute windows, one number each
        assert await actions(db) == ["schedule.create"]

    async def test_a_session_inside_the_window_opens_at_once(self, client, login: Login, catalog, admin):
        answer = await client.post(SCHEDULES, json=session_body(catalog, 2, period="evening"), headers=admin)

        assert answer.status_code == 201 and answer.json()["state"] == "open"
        booked = await book_appointment(client, await login(), answer.json()["id"])
        assert booked["queue_number"] == 1

    async def test_the_same_doctor_date_and_period_twice_is_refused(self, client, catalog, admin):
        assert (await client.post(SCHEDULES, json=session_body(catalog, 2), headers=admin)).status_code == 201

        again = await client.post(SCHEDULES, json=session_body(catalog, 2, capacity=5), headers=admin)

        assert again.status_code == 409 and again.json()["code"] == "SCHEDULE_EXISTS"

    @pytest.mark.parametrize(
        ("offset", "period"), [(0, "morning"), (-1, "afternoon"), (7 + 28 + 1, "morning")], ids=["begun", "past", "far"]
    )
    async def test_a_date_outside_the_window_is_refused(self, client, catalog, admin, offset: int, period: str):
        answer = await client.post(SCHEDULES, json=session_body(catalog, offset, period=period), headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "VISIT_DATE_OUT_OF_WINDOW"

    @pytest.mark.parametrize(
        ("more", "field"),
        [({"capacity": 0}, "capacity"), ({"onsite_quota": 11}, "onsite_quota"), ({"slot_minutes": 90}, "slot_minutes")],
    )
    async def test_impossible_numbers_are_named(self, client, catalog, admin, more: dict[str, int], field: str):
        answer = await client.post(SCHEDULES, json=session_body(catalog, 2, **more), headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_SESSION"
        assert list(answer.json()["detail"]) == [field]

    async def test_a_doctor_who_left_or_of_another_hospital_gets_no_session(self, client, db, catalog, admin):
        other = await make_catalog(db, name="别家医院")
        async with db.session() as session:
            (await session.get_one(Doctor, catalog.other_doctor.id)).active = False

        left = await client.post(
            SCHEDULES, json={**session_body(catalog, 2), "doctor_id": catalog.other_doctor.id}, headers=admin
        )
        elsewhere = await client.post(
            SCHEDULES, json={**session_body(catalog, 2), "doctor_id": other.doctor.id}, headers=admin
        )

        assert left.status_code == 409 and left.json()["code"] == "DOCTOR_INACTIVE"
        assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "DOCTOR_NOT_FOUND"

    @pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
    async def test_only_a_hospital_admin_adds_sessions(self, client, db, catalog, role: str):
        auth = await staff_login(client, (await make_staff(db, role=role, catalog=catalog)).username)

        answer = await client.post(SCHEDULES, json=session_body(catalog, 2), headers=auth)

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"

    async def test_a_malformed_body_is_refused(self, client, catalog, admin):
        answer = await client.post(SCHEDULES, json={**session_body(catalog, 2), "period": "night"}, headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


class TestChangeNumbers:
    async def test_before_release_numbers_grow_and_shrink_with_on_site_numbers_last(self, client, db, catalog, admin):
        schedule = (await client.post(SCHEDULES, json=session_body(catalog, 10, capacity=6), headers=admin)).json()

        grown = await client.patch(
            f"{SCHEDULES}/{schedule['id']}", json={"capacity": 9, "onsite_quota": 3}, headers=admin
        )
        grown_slots = await slots_of(client, schedule["id"])
        shrunk = await client.patch(f"{SCHEDULES}/{schedule['id']}", json={"capacity": 4}, headers=admin)

        assert grown.status_code == 200, grown.text
        assert (grown.json()["capacity"], grown.json()["available"], grown.json()["onsite_free"]) == (9, 6, 3)
        assert [s["status"] for s in grown_slots] == ["available"] * 6 + ["onsite"] * 3
        assert [s["number"] for s in grown_slots] == list(range(1, 10))
        assert shrunk.status_code == 200 and shrunk.json()["onsite_quota"] == 3
        assert [s["status"] for s in await slots_of(client, schedule["id"])] == [
            "available",
            "onsite",
            "onsite",
            "onsite",
        ]
        async with db.session() as session:
            rows = list(await session.scalars(select(AuditLog).where(AuditLog.action == "schedule.update")))
        assert [r.detail["after"] for r in rows] == [
            {"capacity": 9, "onsite_quota": 3},
            {"capacity": 4, "onsite_quota": 3},
        ]
        assert rows[0].detail["before"] == {"capacity": 6, "onsite_quota": 0} and rows[0].detail["released"] is False

    async def test_before_release_never_below_a_number_already_taken(self, client, db, catalog, admin):
        schedule = (await client.post(SCHEDULES, json=session_body(catalog, 10), headers=admin)).json()
        async with db.session() as session:  # a walk-in registered at the window holds number 7
            await session.execute(
                update(Slot).where(Slot.schedule_id == schedule["id"], Slot.number == 7).values(status="booked")
            )

        below = await client.patch(f"{SCHEDULES}/{schedule['id']}", json={"capacity": 6}, headers=admin)
        on_site_taken = await client.patch(f"{SCHEDULES}/{schedule['id']}", json={"onsite_quota": 4}, headers=admin)
        fine = await client.patch(f"{SCHEDULES}/{schedule['id']}", json={"capacity": 7}, headers=admin)

        assert below.status_code == 409 and below.json()["code"] == "CAPACITY_BELOW_TAKEN"
        assert on_site_taken.status_code == 409 and on_site_taken.json()["code"] == "ONSITE_SLOTS_TAKEN"
        assert fine.status_code == 200 and fine.json()["taken"] == 1

    async def test_after_release_numbers_only_grow_and_new_ones_are_bookable(
        self, client, db, login: Login, catalog, admin
    ):
        schedule = await make_schedule(db, catalog, days_ahead=1, capacity=1)
        await book_appointment(client, await login(), schedule.id)

        shrink = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"capacity": 0}, headers=admin)
        too_many = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"capacity": 201}, headers=admin)
        keep_quota_down = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"onsite_quota": 1}, headers=admin)
        grown = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"capacity": 4, "onsite_quota": 1}, headers=admin)

        assert shrink.status_code == 409 and shrink.json()["code"] == "RELEASED_CAPACITY_ONLY_GROWS"
        assert too_many.status_code == 422 and too_many.json()["detail"] == {"capacity": "号源数须为1-200"}
        assert keep_quota_down.status_code == 409 and keep_quota_down.json()["code"] == "RELEASED_ONSITE_QUOTA"
        assert grown.status_code == 200, grown.text
        assert (grown.json()["available"], grown.json()["onsite_free"], grown.json()["taken"]) == (2, 1, 1)
        assert [s["status"] for s in await slots_of(client, schedule.id)] == [
            "booked",
            "available",
            "available",
            "onsite",
        ]
        second = await book_appointment(client, await login(), schedule.id)
        assert second["queue_number"] == 2
        smaller = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"capacity": 3}, headers=admin)
        assert smaller.status_code == 409 and smaller.json()["code"] == "RELEASED_CAPACITY_ONLY_GROWS"

    async def test_a_suspended_or_finished_session_is_not_changed(self, client, db, catalog, admin):
        suspended = await make_schedule(db, catalog, days_ahead=1)
        await client.post(f"{SCHEDULES}/{suspended.id}/suspend", json={"reason": "外出会诊"}, headers=admin)
        finished = await make_schedule(db, catalog, days_ahead=-1)

        for schedule in (suspended, finished):
            answer = await client.patch(f"{SCHEDULES}/{schedule.id}", json={"capacity": 20}, headers=admin)
            assert answer.status_code == 409 and answer.json()["code"] == "SCHEDULE_CLOSED"

    async def test_another_hospitals_session_is_not_found_and_other_roles_may_not(self, client, db, catalog):
        other = await make_catalog(db, name="别家医院")
        theirs = await make_schedule(db, other, days_ahead=1)
        ours = await make_schedule(db, catalog, days_ahead=1)
        admin = await staff_login(client, (await make_staff(db, catalog=catalog)).username)
        desk = await staff_login(client, (await make_staff(db, role="front_desk", catalog=catalog)).username)

        elsewhere = await client.patch(f"{SCHEDULES}/{theirs.id}", json={"capacity": 20}, headers=admin)
        by_desk = await client.patch(f"{SCHEDULES}/{ours.id}", json={"capacity": 20}, headers=desk)
        malformed = await client.patch(f"{SCHEDULES}/{ours.id}", json={"capacity": "lots"}, headers=admin)

        assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "SCHEDULE_NOT_FOUND"
        assert by_desk.status_code == 403 and by_desk.json()["code"] == "FORBIDDEN_ROLE"
        assert malformed.status_code == 422
        async with db.session() as session:
            assert (await session.get_one(Schedule, theirs.id)).capacity == 10


class TestReleaseNow:
    @pytest.fixture
    async def templates(self, db: Database, catalog: Catalog) -> None:
        async with db.session() as session:
            session.add_all(
                [
                    ScheduleTemplate(
                        hospital_id=catalog.hospital.id,
                        doctor_id=catalog.doctor.id,
                        weekday=weekday,
                        period="morning",
                        capacity=12,
                        onsite_quota=3,
                        slot_minutes=20,
                        active=True,
                    )
                    for weekday in range(7)
                ]
            )

    async def test_makes_the_next_days_from_the_templates_once(self, client, db, catalog, admin, templates):
        first = await client.post(RELEASE, json={"days": 3}, headers=admin)
        again = await client.post(RELEASE, json={"days": 3}, headers=admin)
        more = await client.post(RELEASE, json={"days": 5}, headers=admin)

        assert first.status_code == 200, first.text
        assert first.json() == {"made": 3, "first": day(1), "last": day(3)}
        assert again.json()["made"] == 0 and more.json()["made"] == 2
        listed = (await client.get(SCHEDULES, headers=admin)).json()["items"]
        assert [s["visit_date"] for s in listed] == [day(i) for i in range(1, 6)]
        assert {(s["capacity"], s["onsite_quota"], s["available"], s["state"]) for s in listed} == {(12, 3, 9, "open")}
        slots = await slots_of(client, listed[0]["id"])
        assert [s["status"] for s in slots[-4:]] == ["available", "onsite", "onsite", "onsite"]
        async with db.session() as session:
            hospital = await session.get_one(Hospital, catalog.hospital.id)
            rows = list(await session.scalars(select(AuditLog).where(AuditLog.action == "schedule.release")))
        assert hospital.released_through == TODAY + timedelta(days=5)
        assert [r.detail["made"] for r in rows] == [3, 0, 2]

    async def test_the_release_job_honours_the_templates_too(self, client, db, catalog, admin, templates):
        from yiyue.scheduling import service as scheduling

        async with db.session() as session:
            made = await scheduling.release_from_templates(session, now=NOW)

        listed = (await client.get(SCHEDULES, headers=admin)).json()["items"]
        assert made == 7 and {(s["available"], s["onsite_free"]) for s in listed} == {(9, 3)}

    async def test_doctors_who_left_and_closed_clinics_get_no_sessions(self, client, db, catalog, admin, templates):
        async with db.session() as session:
            (await session.get_one(Doctor, catalog.doctor.id)).active = False

        assert (await client.post(RELEASE, json={"days": 7}, headers=admin)).json()["made"] == 0
        async with db.session() as session:
            (await session.get_one(Doctor, catalog.doctor.id)).active = True
            (await session.get_one(Department, catalog.clinic.id)).active = False
        assert (await client.post(RELEASE, json={"days": 7}, headers=admin)).json()["made"] == 0

    @pytest.mark.parametrize("days", [0, 8])
    async def test_days_outside_the_release_period_are_refused(self, client, admin, days: int):
        answer = await client.post(RELEASE, json={"days": days}, headers=admin)

        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_RELEASE_DAYS"

    @pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
    async def test_only_a_hospital_admin_releases(self, client, db, catalog, role: str):
        auth = await staff_login(client, (await make_staff(db, role=role, catalog=catalog)).username)

        answer = await client.post(RELEASE, json={"days": 1}, headers=auth)

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
