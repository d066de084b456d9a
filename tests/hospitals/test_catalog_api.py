"""The public catalog over HTTP: hospitals, departments, doctors, schedules and slots."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import NOW
from tests.factories import make_catalog, make_schedule
from yiyue.core.clock import HOSPITAL_TZ
from yiyue.core.db import Database
from yiyue.hospitals.models import Department
from yiyue.hospitals.search import initials
from yiyue.scheduling.models import Period

TODAY = NOW.date()
CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_ID = 2**63 - 1


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert CJK.search(body["message"]), body["message"]
    return body


async def add_department(db: Database, hospital_id: int, name: str, parent_id: int | None = None) -> Department:
    async with db.session() as session:
        department = Department(
            hospital_id=hospital_id, parent_id=parent_id, name=name, name_initials=initials(name), sort_order=9
        )
        session.add(department)
        await session.flush()
        return department


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


async def doctor_schedules(client: httpx.AsyncClient, doctor_id: int, start: date, end: date) -> httpx.Response:
    return await client.get(
        f"/api/v1/doctors/{doctor_id}/schedules", params={"start": start.isoformat(), "end": end.isoformat()}
    )


# --- hospitals --------------------------------------------------------------------------------------


async def test_hospital_list_is_paginated_with_total(client: httpx.AsyncClient, db: Database) -> None:
    for name in ("甲医院", "乙医院", "丙医院"):
        await make_catalog(db, name=name)

    first = (await client.get("/api/v1/hospitals", params={"page": 1, "page_size": 2})).json()
    second = (await client.get("/api/v1/hospitals", params={"page": 2, "page_size": 2})).json()

    assert (first["page"], first["page_size"], first["total"]) == (1, 2, 3)
    assert names(first["items"]) == ["甲医院", "乙医院"]
    assert (second["page"], second["total"], names(second["items"])) == (2, 3, ["丙医院"])


async def test_the_cities_are_those_with_hospitals_most_first(client: httpx.AsyncClient, db: Database) -> None:
    for name, city in (("甲医院", "杭州"), ("乙医院", "北京"), ("丙医院", "杭州")):
        await make_catalog(db, name=name, city=city)

    answer = await client.get("/api/v1/cities")

    assert answer.status_code == 200
    assert answer.json()["items"] == [{"city": "杭州", "hospitals": 2}, {"city": "北京", "hospitals": 1}]


async def test_hospital_list_defaults_to_first_page_of_twenty(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db)

    body = (await client.get("/api/v1/hospitals")).json()

    assert (body["page"], body["page_size"], body["total"]) == (1, 20, 1)


async def test_hospital_list_rejects_page_size_above_one_hundred(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/hospitals", params={"page_size": 101}), 422, "VALIDATION_ERROR")


async def test_hospitals_are_found_by_part_of_their_chinese_name(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db, name="测试人民医院")
    await make_catalog(db, name="北京协和医院")

    body = (await client.get("/api/v1/hospitals", params={"q": "人民"})).json()

    assert names(body["items"]) == ["测试人民医院"]
    assert body["total"] == 1


@pytest.mark.parametrize("q", ["cs", "CS", "csrm"])
async def test_hospitals_are_found_by_pinyin_initials(client: httpx.AsyncClient, db: Database, q: str) -> None:
    await make_catalog(db, name="测试人民医院")
    await make_catalog(db, name="北京协和医院")

    body = (await client.get("/api/v1/hospitals", params={"q": q})).json()

    assert names(body["items"]) == ["测试人民医院"]


async def test_a_percent_sign_in_the_search_is_matched_literally(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db)

    body = (await client.get("/api/v1/hospitals", params={"q": "%"})).json()

    assert body == {"items": [], "total": 0, "page": 1, "page_size": 20}


async def test_hospitals_are_filtered_by_city(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db, name="北京测试医院")
    await make_catalog(db, name="上海测试医院", city="上海", district="黄浦区")

    body = (await client.get("/api/v1/hospitals", params={"city": "上海"})).json()

    assert names(body["items"]) == ["上海测试医院"]
    assert body["items"][0]["city"] == "上海"


async def test_hospitals_are_filtered_by_level(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db, name="三甲医院")
    await make_catalog(db, name="二甲医院", level="二级甲等")

    body = (await client.get("/api/v1/hospitals", params={"level": "二级甲等"})).json()

    assert names(body["items"]) == ["二甲医院"]


async def test_hospital_detail_shows_its_booking_rules(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    body = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}")).json()

    assert body["name"] == "测试人民医院"
    assert body["intro"] == "测试用医院"
    assert body["booking_rules"] == {
        "release_days": 7,
        "release_time": "08:00",
        "stop_minutes_before": 0,
        "cancel_minutes_before": 120,
        "max_active_appointments": 5,
        "max_unpaid_holds": 1,
        "release_mode": "fcfs",
        "release_window_seconds": 30,
        "payment_required": False,
        "booking_open": True,
    }


async def test_an_unknown_hospital_is_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/hospitals/999"), 404, "HOSPITAL_NOT_FOUND")


# --- departments ------------------------------------------------------------------------------------


async def test_departments_are_a_tree_of_parents_with_their_clinics(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    body = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments")).json()

    assert body["total"] == 1
    [parent] = body["items"]
    assert (parent["id"], parent["name"]) == (catalog.parent.id, "内科")
    assert [(c["id"], c["name"], c["location"]) for c in parent["children"]] == [
        (catalog.clinic.id, "心血管内科", "门诊楼3层")
    ]


@pytest.mark.parametrize("q", ["心血管", "xxg"])
async def test_department_search_keeps_matching_clinics_and_their_parent(
    client: httpx.AsyncClient, db: Database, q: str
) -> None:
    catalog = await make_catalog(db)
    await add_department(db, catalog.hospital.id, "消化内科", catalog.parent.id)
    surgery = await add_department(db, catalog.hospital.id, "外科")
    await add_department(db, catalog.hospital.id, "骨科", surgery.id)

    body = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments", params={"q": q})).json()

    assert [(p["name"], names(p["children"])) for p in body["items"]] == [("内科", ["心血管内科"])]


async def test_department_search_matching_nothing_is_empty(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    body = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments", params={"q": "眼科"})).json()

    assert body == {"items": [], "total": 0}


async def test_departments_of_an_unknown_hospital_are_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/hospitals/999/departments"), 404, "HOSPITAL_NOT_FOUND")


async def test_department_detail_names_its_hospital_and_parent(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    body = (await client.get(f"/api/v1/departments/{catalog.clinic.id}")).json()

    assert body == {
        "id": catalog.clinic.id,
        "name": "心血管内科",
        "location": "门诊楼3层",
        "intro": "",
        "hospital_id": catalog.hospital.id,
        "parent_id": catalog.parent.id,
    }


async def test_an_unknown_department_is_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/departments/999"), 404, "DEPARTMENT_NOT_FOUND")


# --- doctors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["明华", "lmh", "LMH"])
async def test_doctors_are_found_by_name_or_initials(client: httpx.AsyncClient, db: Database, q: str) -> None:
    await make_catalog(db)

    body = (await client.get("/api/v1/doctors", params={"q": q})).json()

    assert names(body["items"]) == ["李明华"]
    assert body["total"] == 1


async def test_doctors_are_filtered_by_hospital(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db, name="甲医院")
    other = await make_catalog(db, name="乙医院")

    body = (await client.get("/api/v1/doctors", params={"hospital_id": other.hospital.id})).json()

    assert sorted(d["id"] for d in body["items"]) == sorted([other.doctor.id, other.other_doctor.id])


async def test_doctors_are_filtered_by_department(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db, name="甲医院")
    await make_catalog(db, name="乙医院")

    by_clinic = (await client.get("/api/v1/doctors", params={"department_id": catalog.clinic.id})).json()
    by_parent = (await client.get("/api/v1/doctors", params={"department_id": catalog.parent.id})).json()

    assert names(by_clinic["items"]) == ["李明华", "王芳"]
    assert by_parent["total"] == 0


async def test_doctor_detail_includes_hospital_and_department(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    body = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()

    assert (body["name"], body["title"], body["fee_fen"], body["intro"]) == ("李明华", "主任医师", 5000, "从医二十年")
    assert body["hospital"] == {"id": catalog.hospital.id, "name": "测试人民医院"}
    assert body["department"] == {"id": catalog.clinic.id, "name": "心血管内科", "location": "门诊楼3层"}


async def test_an_unknown_doctor_is_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/doctors/999"), 404, "DOCTOR_NOT_FOUND")


# --- who works on a day, and the date strip -----------------------------------------------------------


async def test_doctors_on_a_day_are_only_those_working_with_their_remaining_slots(
    client: httpx.AsyncClient, db: Database
) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=1, capacity=10)
    await make_schedule(db, catalog, days_ahead=2, capacity=4, doctor=catalog.other_doctor)

    body = (
        await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors", params={"date": day(1).isoformat()})
    ).json()

    assert body["date"] == day(1).isoformat()
    assert body["total"] == 1
    [doctor] = body["items"]
    assert (doctor["id"], doctor["name"], doctor["remaining"]) == (catalog.doctor.id, "李明华", 10)
    assert [(s["period"], s["capacity"], s["remaining"]) for s in doctor["schedules"]] == [("morning", 10, 10)]


async def test_doctors_on_a_day_default_to_today(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=0, doctor=catalog.other_doctor)
    await make_schedule(db, catalog, days_ahead=1)

    body = (await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors")).json()

    assert body["date"] == TODAY.isoformat()
    assert names(body["items"]) == ["王芳"]


async def test_doctors_of_an_unknown_department_are_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/departments/999/doctors"), 404, "DEPARTMENT_NOT_FOUND")


async def test_availability_sums_capacity_and_remaining_per_day(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=1, capacity=10)
    await make_schedule(db, catalog, days_ahead=1, capacity=5, doctor=catalog.other_doctor)
    await make_schedule(db, catalog, days_ahead=3, capacity=6)

    body = (await client.get(f"/api/v1/departments/{catalog.clinic.id}/availability")).json()

    assert [(d["date"], d["capacity"], d["remaining"], d["released"]) for d in body["items"]] == [
        (day(1).isoformat(), 15, 15, True),
        (day(3).isoformat(), 6, 6, True),
    ]


async def test_availability_marks_days_not_yet_released(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=10)

    body = (
        await client.get(
            f"/api/v1/departments/{catalog.clinic.id}/availability",
            params={"start": day(0).isoformat(), "end": day(14).isoformat()},
        )
    ).json()

    [strip] = body["items"]
    assert (strip["date"], strip["released"]) == (day(10).isoformat(), False)
    assert instant(strip["release_at"]) == datetime(2026, 3, 5, 8, 0, tzinfo=HOSPITAL_TZ)


# --- a doctor's schedules -----------------------------------------------------------------------------


async def test_a_released_schedule_with_free_slots_is_bookable(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, days_ahead=1, capacity=10)

    body = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/schedules")).json()

    [item] = body["items"]
    assert item["id"] == schedule.id
    assert (item["visit_date"], item["period"], item["period_label"]) == (day(1).isoformat(), "morning", "上午")
    assert (item["capacity"], item["remaining"], item["fee_fen"], item["status"]) == (10, 10, 5000, "open")
    assert (item["released"], item["bookable"]) == (True, True)
    assert instant(item["starts_at"]) == datetime(2026, 3, 3, 8, 0, tzinfo=HOSPITAL_TZ)
    assert instant(item["ends_at"]) == datetime(2026, 3, 3, 12, 0, tzinfo=HOSPITAL_TZ)


async def test_a_schedule_beyond_the_release_window_is_neither_released_nor_bookable(
    client: httpx.AsyncClient, db: Database
) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=10)

    body = (await doctor_schedules(client, catalog.doctor.id, day(0), day(14))).json()

    [item] = body["items"]
    assert (item["visit_date"], item["released"], item["bookable"]) == (day(10).isoformat(), False, False)
    assert instant(item["release_at"]) == datetime(2026, 3, 5, 8, 0, tzinfo=HOSPITAL_TZ)


async def test_a_session_that_already_started_is_not_bookable(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=0)

    [item] = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/schedules")).json()["items"]

    assert (item["released"], item["bookable"]) == (True, False)


async def test_doctor_schedules_default_to_the_release_window(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=1)
    await make_schedule(db, catalog, days_ahead=7)
    await make_schedule(db, catalog, days_ahead=10)

    body = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/schedules")).json()

    assert [s["visit_date"] for s in body["items"]] == [day(1).isoformat(), day(7).isoformat()]
    assert body["total"] == 2


async def test_schedules_only_of_the_asked_doctor_are_listed(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    await make_schedule(db, catalog, days_ahead=1, doctor=catalog.other_doctor)

    body = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/schedules")).json()

    assert body == {"items": [], "total": 0}


async def test_a_range_ending_before_it_starts_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    response = await doctor_schedules(client, catalog.doctor.id, day(5), day(4))

    assert_error(response, 422, "INVALID_DATE_RANGE")


async def test_a_range_longer_than_31_days_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    response = await doctor_schedules(client, catalog.doctor.id, day(0), day(31))

    assert_error(response, 422, "INVALID_DATE_RANGE")


async def test_a_range_of_exactly_31_days_is_accepted(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)

    response = await doctor_schedules(client, catalog.doctor.id, day(0), day(30))

    assert response.status_code == 200, response.text


async def test_schedules_of_an_unknown_doctor_are_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/doctors/999/schedules"), 404, "DOCTOR_NOT_FOUND")


# --- slots ------------------------------------------------------------------------------------------


async def test_slots_are_numbered_one_to_capacity(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=10)

    body = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()

    assert [s["number"] for s in body["items"]] == list(range(1, 11))
    assert body["total"] == 10
    assert {s["status"] for s in body["items"]} == {"available"}


@pytest.mark.parametrize(("period", "capacity"), [("morning", 10), ("afternoon", 30), ("evening", 1)])
async def test_slot_time_windows_lie_inside_the_session_in_order(
    client: httpx.AsyncClient, db: Database, period: str, capacity: int
) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=capacity, period=Period(period))

    body = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()

    session_start, session_end = instant(body["schedule"]["starts_at"]), instant(body["schedule"]["ends_at"])
    windows = [(instant(s["starts_at"]), instant(s["ends_at"])) for s in body["items"]]
    assert len(windows) == capacity
    assert all(session_start <= start < end <= session_end for start, end in windows)
    assert [start for start, _ in windows] == sorted(start for start, _ in windows)


async def test_slots_come_with_their_schedule(client: httpx.AsyncClient, db: Database) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=10)

    body = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()

    assert body["schedule"]["id"] == schedule.id
    assert (body["schedule"]["doctor_id"], body["schedule"]["remaining"]) == (catalog.doctor.id, 10)


async def test_slots_of_an_unknown_schedule_are_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/schedules/999/slots"), 404, "SCHEDULE_NOT_FOUND")


# --- ids --------------------------------------------------------------------------------------------

ID_PATHS = [
    "/api/v1/hospitals/{id}",
    "/api/v1/hospitals/{id}/departments",
    "/api/v1/departments/{id}",
    "/api/v1/departments/{id}/doctors",
    "/api/v1/departments/{id}/availability",
    "/api/v1/doctors/{id}",
    "/api/v1/doctors/{id}/schedules",
    "/api/v1/schedules/{id}/slots",
]


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", "1.5", str(MAX_ID + 1)])
@pytest.mark.parametrize("path", ID_PATHS)
async def test_ids_that_cannot_exist_are_refused_as_invalid(client: httpx.AsyncClient, path: str, bad_id: str) -> None:
    body = assert_error(await client.get(path.format(id=bad_id)), 422, "VALIDATION_ERROR")

    assert isinstance(body["detail"], list)
    assert body["detail"][0]["loc"][0] == "path"


@pytest.mark.parametrize("path", ID_PATHS)
async def test_the_largest_possible_id_is_simply_not_found(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path.format(id=MAX_ID))

    assert response.status_code == 404, response.text
    assert response.json()["code"].endswith("_NOT_FOUND")


@pytest.mark.parametrize("param", ["hospital_id", "department_id"])
@pytest.mark.parametrize("bad_id", ["0", "-5", "x", str(MAX_ID + 1)])
async def test_doctor_search_refuses_impossible_filter_ids(client: httpx.AsyncClient, param: str, bad_id: str) -> None:
    assert_error(await client.get("/api/v1/doctors", params={param: bad_id}), 422, "VALIDATION_ERROR")
