"""Patients search hospitals, departments and doctors in one box (GET /api/v1/search): by Chinese name,
full pinyin, initials or a mix, doctors also by specialty and 科室, best matches first; the catalog lists
(/hospitals?q=, /doctors?q=, departments ?q=) match the same way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from tests.factories import FAST_HASHER, Catalog, make_catalog, make_staff, staff_login
from tests.hospitals.test_catalog_api import add_department, assert_error, names
from yiyue.accounts.staff import passwords
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.search import initials

SEARCH = "/api/v1/search"


async def search(client: httpx.AsyncClient, q: str, **params: Any) -> dict[str, Any]:
    answer = await client.get(SEARCH, params={"q": q, **params})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def found(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["name"], item["match"]) for item in items]


async def add_doctor(db: Database, catalog: Catalog, name: str, *, specialty: str = "常见病") -> Doctor:
    """A doctor of the catalog's 心血管内科, written as the factories write them: no pinyin given (the model
    computes it)."""
    async with db.session() as session:
        doctor = Doctor(
            hospital_id=catalog.hospital.id,
            department_id=catalog.clinic.id,
            name=name,
            name_initials=initials(name),
            gender="男",
            title="主治医师",
            specialty=specialty,
            fee_fen=2000,
        )
        session.add(doctor)
        await session.flush()
        return doctor


async def change(db: Database, model: type[Hospital | Department | Doctor], row_id: int, **values: Any) -> None:
    async with db.session() as session:
        await session.execute(update(model).where(model.id == row_id).values(**values))


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    """测试人民医院 > 内科 > 心血管内科, with 李明华 and 王芳 (both 擅长 冠心病、高血压)."""
    return await make_catalog(db)


# --- the answer -------------------------------------------------------------------------------------


async def test_the_answer_groups_hospitals_departments_and_doctors(client: httpx.AsyncClient, catalog: Catalog) -> None:
    body = await search(client, "测试")
    doctor = (await search(client, "李明华"))["doctors"]
    department = (await search(client, "心血管"))["departments"]

    assert body == {
        "query": "测试",
        "hospitals": [
            {
                "id": catalog.hospital.id,
                "name": "测试人民医院",
                "level": "三级甲等",
                "city": "北京",
                "district": "东城区",
                "address": "北京市东城区测试路1号",
                "match": "name",
            }
        ],
        "departments": [],
        "doctors": [],
    }
    assert doctor == [
        {
            "id": catalog.doctor.id,
            "name": "李明华",
            "title": "主任医师",
            "specialty": "冠心病、高血压",
            "department": {"id": catalog.clinic.id, "name": "心血管内科"},
            "hospital": {"id": catalog.hospital.id, "name": "测试人民医院"},
            "match": "name",
        }
    ]
    assert department == [
        {
            "id": catalog.clinic.id,
            "name": "心血管内科",
            "parent_name": "内科",
            "hospital": {"id": catalog.hospital.id, "name": "测试人民医院"},
            "match": "name",
        }
    ]


async def test_the_query_comes_back_trimmed(client: httpx.AsyncClient, catalog: Catalog) -> None:
    assert (await search(client, "  李明华  "))["query"] == "李明华"


async def test_a_top_level_department_has_no_parent_name(client: httpx.AsyncClient, catalog: Catalog) -> None:
    body = await search(client, "内科")

    assert [(d["name"], d["parent_name"]) for d in body["departments"]] == [("内科", None), ("心血管内科", "内科")]


# --- how names match --------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["liminghua", "LiMingHua", "li ming hua", " Li Ming Hua ", "minghua", "limingh"])
async def test_a_doctor_is_found_by_full_pinyin(client: httpx.AsyncClient, catalog: Catalog, q: str) -> None:
    body = await search(client, q)

    assert found(body["doctors"]) == [("李明华", "pinyin")]


async def test_full_pinyin_matches_from_the_start_of_a_syllable_only(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    assert (await search(client, "inghua"))["doctors"] == []


@pytest.mark.parametrize("q", ["lmh", "LMH", "mh"])
async def test_a_doctor_is_found_by_pinyin_initials(client: httpx.AsyncClient, catalog: Catalog, q: str) -> None:
    assert found((await search(client, q))["doctors"]) == [("李明华", "initials")]


@pytest.mark.parametrize(
    ("q", "match"), [("李mh", "initials"), ("李minghua", "pinyin"), ("li明华", "pinyin"), ("李ming华", "pinyin")]
)
async def test_a_doctor_is_found_by_chinese_and_pinyin_mixed(
    client: httpx.AsyncClient, catalog: Catalog, q: str, match: str
) -> None:
    assert found((await search(client, q))["doctors"]) == [("李明华", match)]


async def test_a_chinese_query_does_not_find_homophones(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await add_doctor(db, catalog, "黎明华")

    assert found((await search(client, "李明华"))["doctors"]) == [("李明华", "name")]


async def test_a_polyphonic_surname_is_found_by_its_surname_reading(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await add_doctor(db, catalog, "曾国强")

    assert found((await search(client, "zengguoqiang"))["doctors"]) == [("曾国强", "pinyin")]


@pytest.mark.parametrize(
    ("q", "match"), [("xiehe", "pinyin"), ("xhyy", "initials"), ("协和", "name"), ("协he", "pinyin")]
)
async def test_a_hospital_is_found_by_name_pinyin_or_initials(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, q: str, match: str
) -> None:
    await make_catalog(db, name="北京协和医院")

    assert found((await search(client, q))["hospitals"]) == [("北京协和医院", match)]


@pytest.mark.parametrize(("q", "match"), [("心血管", "name"), ("xinxueguan", "pinyin"), ("xxg", "initials")])
async def test_a_department_is_found_by_name_pinyin_or_initials(
    client: httpx.AsyncClient, catalog: Catalog, q: str, match: str
) -> None:
    body = await search(client, q)

    assert found(body["departments"]) == [("心血管内科", match)]


async def test_doctors_are_found_by_their_department(client: httpx.AsyncClient, catalog: Catalog) -> None:
    body = await search(client, "心血管")

    assert found(body["doctors"]) == [("王芳", "department"), ("李明华", "department")]


async def test_doctors_are_found_by_their_specialty(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> None:
    await add_doctor(db, catalog, "赵刚", specialty="骨质疏松")

    body = await search(client, "冠心病")

    assert found(body["doctors"]) == [("王芳", "specialty"), ("李明华", "specialty")]


# --- ranking ----------------------------------------------------------------------------------------


async def test_the_whole_name_comes_first_then_its_start_then_part_of_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    for name in ("北京协和医院", "协和医院西院", "协和医院"):
        await make_catalog(db, name=name)

    body = await search(client, "协和医院")

    assert found(body["hospitals"]) == [("协和医院", "name"), ("协和医院西院", "name"), ("北京协和医院", "name")]


async def test_names_come_before_pinyin_initials_specialty_and_department(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    """高: 高山 by name; 高峰 too (shorter names first among equals). gao: pinyin, then initials (g), then
    nothing else; 高血压 is 李明华's and 王芳's specialty."""
    await add_doctor(db, catalog, "李高山")
    await add_doctor(db, catalog, "高峰")
    await add_doctor(db, catalog, "高山")

    by_name = await search(client, "高", limit=20)
    by_pinyin = await search(client, "gao", limit=20)
    by_letter = await search(client, "g", limit=20)

    assert found(by_name["doctors"]) == [
        ("高峰", "name"),
        ("高山", "name"),
        ("李高山", "name"),
        ("王芳", "specialty"),
        ("李明华", "specialty"),
    ]
    assert found(by_pinyin["doctors"]) == [("高峰", "pinyin"), ("高山", "pinyin"), ("李高山", "pinyin")]
    assert [d["match"] for d in by_letter["doctors"]][:3] == ["pinyin", "pinyin", "pinyin"]


async def test_pinyin_of_the_start_of_a_name_comes_before_pinyin_inside_it(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await add_doctor(db, catalog, "张明")
    await add_doctor(db, catalog, "明远")

    body = await search(client, "ming")

    assert names(body["doctors"]) == ["明远", "张明", "李明华"]


async def test_each_group_holds_five_by_default_and_at_most_the_limit(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    for given in "一二三四五六七":
        await add_doctor(db, catalog, f"孙{given}")

    assert len((await search(client, "孙"))["doctors"]) == 5
    assert names((await search(client, "孙", limit=2))["doctors"]) == ["孙一", "孙二"]
    assert len((await search(client, "孙", limit=20))["doctors"]) == 7


# --- what patients may see --------------------------------------------------------------------------


async def test_a_closed_department_and_its_doctors_are_not_found(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await change(db, Department, catalog.clinic.id, active=False)

    body = await search(client, "心血管")

    assert (body["departments"], body["doctors"]) == ([], [])
    assert (await search(client, "liminghua"))["doctors"] == []


async def test_the_clinics_of_a_closed_top_level_department_are_not_found(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await change(db, Department, catalog.parent.id, active=False)

    body = await search(client, "内科")

    assert (body["departments"], body["doctors"]) == ([], [])


async def test_a_doctor_who_left_is_not_found(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> None:
    await change(db, Doctor, catalog.doctor.id, active=False)

    assert found((await search(client, "冠心病"))["doctors"]) == [("王芳", "specialty")]


async def test_a_hospital_closed_for_online_booking_is_still_found(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    """As in the hospital list: its catalog stays visible, booking is what is refused."""
    await change(db, Hospital, catalog.hospital.id, booking_open=False)

    assert names((await search(client, "测试"))["hospitals"]) == ["测试人民医院"]


async def test_the_city_narrows_every_group(client: httpx.AsyncClient, db: Database, catalog: Catalog) -> None:
    shanghai = await make_catalog(db, name="上海测试医院", city="上海", district="黄浦区")

    body = await search(client, "心血管", city="上海")
    hospitals = await search(client, "测试", city="上海")

    assert [d["hospital"]["id"] for d in body["departments"]] == [shanghai.hospital.id]
    assert {d["hospital"]["id"] for d in body["doctors"]} == {shanghai.hospital.id}
    assert names(hospitals["hospitals"]) == ["上海测试医院"]
    assert (await search(client, "测试", city="广州"))["hospitals"] == []


# --- bad queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "   "}, {"q": "\u3000"}, {}])
async def test_an_empty_query_is_refused(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_error(await client.get(SEARCH, params=params), 422, "SEARCH_QUERY_EMPTY")


async def test_a_query_over_fifty_characters_is_refused(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(SEARCH, params={"q": "测" * 51}), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("limit", [0, 21, "many"])
async def test_a_limit_outside_one_to_twenty_is_refused(client: httpx.AsyncClient, limit: int | str) -> None:
    assert_error(await client.get(SEARCH, params={"q": "测试", "limit": limit}), 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("q", ["%", "_", "李%", "%明华", "\\"])
async def test_like_wildcards_in_the_query_are_matched_literally(
    client: httpx.AsyncClient, catalog: Catalog, q: str
) -> None:
    body = await search(client, q)

    assert (body["hospitals"], body["departments"], body["doctors"]) == ([], [], [])


async def test_a_name_with_a_wildcard_character_is_found_by_it(client: httpx.AsyncClient, db: Database) -> None:
    await make_catalog(db, name="百分_医院")
    await make_catalog(db, name="百分百医院")

    assert names((await search(client, "分_"))["hospitals"]) == ["百分_医院"]


async def test_the_search_declares_its_errors(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"][SEARCH]["get"]

    assert "SEARCH_QUERY_EMPTY" in str(operation["responses"]["422"])


# --- the catalog lists match the same way -----------------------------------------------------------


async def test_the_doctor_list_finds_by_full_pinyin_specialty_and_department(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    by_pinyin = (await client.get("/api/v1/doctors", params={"q": "li ming hua"})).json()
    by_specialty = (await client.get("/api/v1/doctors", params={"q": "高血压"})).json()
    by_department = (await client.get("/api/v1/doctors", params={"q": "xinxueguan"})).json()

    assert names(by_pinyin["items"]) == ["李明华"]
    assert names(by_specialty["items"]) == ["王芳", "李明华"] and by_specialty["total"] == 2
    assert names(by_department["items"]) == ["王芳", "李明华"]


async def test_the_hospital_list_finds_by_full_pinyin_best_first(client: httpx.AsyncClient, db: Database) -> None:
    for name in ("北京协和医院", "协和医院"):
        await make_catalog(db, name=name)

    body = (await client.get("/api/v1/hospitals", params={"q": "xiehe"})).json()

    assert names(body["items"]) == ["协和医院", "北京协和医院"] and body["total"] == 2


async def test_the_department_list_finds_by_full_pinyin(
    client: httpx.AsyncClient, db: Database, catalog: Catalog
) -> None:
    await add_department(db, catalog.hospital.id, "眼科", parent_id=None)

    body = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments", params={"q": "xinxue"})).json()

    assert [(n["name"], names(n["children"])) for n in body["items"]] == [("内科", ["心血管内科"])]


# --- names written by the hospital ------------------------------------------------------------------


async def test_a_doctor_renamed_by_the_hospital_is_found_by_the_new_pinyin(
    client: httpx.AsyncClient, db: Database, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)
    await make_staff(db, catalog=catalog, username="admin.search")
    admin = await staff_login(client, "admin.search")
    body = {
        "name": "周振华",
        "gender": "男",
        "title": "主任医师",
        "department_id": catalog.clinic.id,
        "specialty": "冠心病",
        "intro": "",
        "fee_fen": 5000,
    }

    renamed = await client.put(f"/api/v1/staff/doctors/{catalog.doctor.id}", json=body, headers=admin)

    assert renamed.status_code == 200, renamed.text
    assert found((await search(client, "zhouzhenhua"))["doctors"]) == [("周振华", "pinyin")]
    assert (await search(client, "liminghua"))["doctors"] == []
