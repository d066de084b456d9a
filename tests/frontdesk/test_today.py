"""今日概览 through the staff API: one day of the hospital counted from what patients booked and staff did;
a doctor sees their own sessions, the platform one row per hospital; another hospital is not found."""

from __future__ import annotations

from datetime import time, timedelta

import httpx
import pytest

from tests.conftest import NOW, Login
from tests.factories import FAST_HASHER, BusyDay, make_busy_day, make_catalog, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.core.clock import FrozenClock, at_local
from yiyue.core.db import Database

TODAY = "/api/v1/staff/today"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def day(client: httpx.AsyncClient, db: Database, clock: FrozenClock, login: Login) -> BusyDay:
    return await make_busy_day(client, db, clock, login)


async def overview(client: httpx.AsyncClient, username: str, query: str = "") -> httpx.Response:
    return await client.get(f"{TODAY}{query}", headers=await staff_login(client, username))


async def test_the_hospitals_day_counts_what_was_booked_checked_in_and_missed(client, day: BusyDay) -> None:
    answer = await overview(client, day.admin.username)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["date"] == NOW.date().isoformat() and body["hospitals"] == []
    hospital = body["hospital"]
    assert hospital["hospital_id"] == day.catalog.hospital.id and hospital["booking_open"] is True
    assert hospital["totals"] == {
        "sessions": 3,
        "suspended": 1,
        "capacity": 9,  # 5 + 4: the suspended evening offers nothing
        "capacity_online": 8,
        "capacity_onsite": 1,
        "booked": 4,  # A completed, B and D checked in, C no-show; F cancelled and G suspended are not
        "booked_online": 4,
        "booked_onsite": 0,
        "checked_in": 3,
        "completed": 1,
        "no_shows": 1,
    }
    assert hospital["cancelled"] == 1
    assert hospital["departments"] == [
        {"department_id": day.catalog.clinic.id, "name": "心血管内科", "sessions": 3, "booked": 4, "capacity": 9}
    ]
    assert hospital["upcoming"] == []  # both afternoons ended at 17:30; the evening is suspended


async def test_the_next_sessions_are_the_open_ones_not_yet_over_earliest_first(
    client, day: BusyDay, clock: FrozenClock
) -> None:
    clock.set(at_local(NOW.date(), time(13, 0)))

    upcoming = (await overview(client, day.admin.username)).json()["hospital"]["upcoming"]

    assert [s["schedule_id"] for s in upcoming] == [day.afternoon.id, day.colleague.id]  # 李明华 before 王芳
    first = upcoming[0]
    assert first["doctor_name"] == "李明华" and first["period_label"] == "下午"
    assert (first["booked"], first["capacity"], first["checked_in"]) == (3, 5, 2)


async def test_another_date_is_counted_on_its_own(client, day: BusyDay) -> None:
    tomorrow = (NOW.date() + timedelta(days=1)).isoformat()

    body = (await overview(client, day.admin.username, f"?date={tomorrow}")).json()

    assert body["date"] == tomorrow
    totals = body["hospital"]["totals"]
    assert (totals["sessions"], totals["booked"], totals["capacity"], totals["checked_in"]) == (1, 1, 10, 0)
    assert body["hospital"]["cancelled"] == 0


async def test_a_doctor_sees_only_their_own_sessions_and_patients(client, db, day: BusyDay) -> None:
    await make_staff(db, role="doctor", catalog=day.catalog, username="dr.li")

    hospital = (await overview(client, "dr.li")).json()["hospital"]

    totals = hospital["totals"]
    assert (totals["sessions"], totals["suspended"], totals["capacity"], totals["booked"]) == (2, 1, 5, 3)
    assert (totals["checked_in"], totals["completed"], totals["no_shows"]) == (2, 1, 1)
    assert hospital["cancelled"] == 0  # F was the colleague's patient


async def test_the_front_desk_sees_the_whole_hospital(client, db, day: BusyDay) -> None:
    await make_staff(db, role="front_desk", catalog=day.catalog, username="desk.wang")

    totals = (await overview(client, "desk.wang")).json()["hospital"]["totals"]

    assert (totals["sessions"], totals["booked"], totals["checked_in"]) == (3, 4, 3)


async def test_the_platform_sees_one_row_per_hospital(client, db, day: BusyDay) -> None:
    quiet = await make_catalog(db, name="安静医院", booking_open=False)
    await make_staff(db, role="platform_admin", username="platform.zhou")

    body = (await overview(client, "platform.zhou")).json()

    assert body["hospital"] is None
    assert body["hospitals"] == [
        {
            "hospital_id": day.catalog.hospital.id,
            "name": "测试人民医院",
            "city": "北京",
            "booking_open": True,
            "sessions": 3,
            "suspended": 1,
            "booked": 4,
            "capacity": 9,
        },
        {
            "hospital_id": quiet.hospital.id,
            "name": "安静医院",
            "city": "北京",
            "booking_open": False,
            "sessions": 0,
            "suspended": 0,
            "booked": 0,
            "capacity": 0,
        },
    ]


async def test_the_platform_can_open_one_hospitals_day(client, db, day: BusyDay) -> None:
    await make_staff(db, role="platform_admin", username="platform.zhou")

    body = (await overview(client, "platform.zhou", f"?hospital_id={day.catalog.hospital.id}")).json()

    assert body["hospital"]["totals"]["booked"] == 4 and body["hospitals"] == []


async def test_another_hospital_or_one_that_does_not_exist_is_not_found(client, db, day: BusyDay) -> None:
    other = await make_catalog(db, name="别家医院")
    await make_staff(db, role="platform_admin", username="platform.zhou")

    theirs = await overview(client, day.admin.username, f"?hospital_id={other.hospital.id}")
    missing = await overview(client, "platform.zhou", "?hospital_id=999999")

    assert theirs.status_code == 404 and theirs.json()["code"] == "HOSPITAL_NOT_FOUND"
    assert missing.status_code == 404 and missing.json()["code"] == "HOSPITAL_NOT_FOUND"


async def test_a_bad_date_is_refused(client, db) -> None:
    catalog = await make_catalog(db)
    await make_staff(db, catalog=catalog, username="admin.li")

    answer = await overview(client, "admin.li", "?date=today")

    assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"


async def test_only_staff_may_ask(client, login: Login) -> None:
    anonymous = await client.get(TODAY)
    patient = await client.get(TODAY, headers=await login())

    assert anonymous.status_code == 401
    assert patient.status_code == 403 and patient.json()["code"] == "STAFF_ONLY"


async def test_an_empty_day_is_all_zeros(client, db) -> None:
    catalog = await make_catalog(db)
    await make_staff(db, catalog=catalog, username="admin.li")

    hospital = (await overview(client, "admin.li")).json()["hospital"]

    assert set(hospital["totals"].values()) == {0}
    assert hospital["departments"] == [] and hospital["upcoming"] == [] and hospital["cancelled"] == 0
