"""Visit persons (就诊人) over HTTP: adding, listing, changing, removing, and keeping personal data private."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import Login
from tests.factories import id_number, patient_body
from yiyue.accounts import service
from yiyue.accounts.idcard import check_digit
from yiyue.accounts.models import VisitPerson
from yiyue.core.db import Database
from yiyue.core.errors import DomainError

PATIENTS = "/api/v1/me/patients"
PHONE = "13812345678"
CJK = re.compile(r"[\u4e00-\u9fff]")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

Auth = dict[str, str]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert CJK.search(body["message"]), body["message"]
    return body


def with_check_digit(first17: str) -> str:
    return first17 + check_digit(first17)


def id_ending_in_x() -> str:
    return next(number for serial in range(1000) if (number := id_number(date(1985, 6, 15), serial)).endswith("X"))


def masked_id(number: str) -> str:
    return number[:3] + "*" * 11 + number[-4:]


async def add(client: httpx.AsyncClient, auth: Auth, **fields: str) -> httpx.Response:
    return await client.post(PATIENTS, json=patient_body(**fields), headers=auth)


async def added(client: httpx.AsyncClient, auth: Auth, **fields: str) -> dict[str, Any]:
    response = await add(client, auth, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(client: httpx.AsyncClient, auth: Auth) -> list[dict[str, Any]]:
    response = await client.get(PATIENTS, headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def patch(client: httpx.AsyncClient, auth: Auth, person_id: int, **fields: Any) -> httpx.Response:
    return await client.patch(f"{PATIENTS}/{person_id}", json=fields, headers=auth)


async def delete(client: httpx.AsyncClient, auth: Auth, person_id: int) -> httpx.Response:
    return await client.delete(f"{PATIENTS}/{person_id}", headers=auth)


async def stored_people(db: Database) -> list[VisitPerson]:
    async with db.session() as session:
        return list(await session.scalars(select(VisitPerson).order_by(VisitPerson.id)))


# --- adding -----------------------------------------------------------------------------------------


async def test_adding_a_visit_person_answers_with_masked_personal_data(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_number(date(1990, 1, 1), 123)

    person = await added(client, auth, name="张三", id_number=number, phone=PHONE)

    assert person["name"] == "张三"
    assert person["id_number_masked"] == masked_id(number)
    assert re.fullmatch(r"110\*{11}\d{3}[\dX]", person["id_number_masked"])
    assert person["phone_masked"] == "138****5678"
    assert (person["relationship"], person["relationship_label"]) == ("self", "本人")


async def test_birth_date_and_age_are_derived_from_the_id_number(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()

    person = await added(client, auth, id_number=id_number(date(1990, 1, 1)))

    assert person["birth_date"] == "1990-01-01"
    assert person["age"] == 36


async def test_age_does_not_count_a_birthday_still_to_come_this_year(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()

    person = await added(client, auth, id_number=id_number(date(1990, 3, 3)))

    assert person["age"] == 35


@pytest.mark.parametrize(("serial", "sex"), [(123, "男"), (124, "女")])
async def test_sex_is_derived_from_the_seventeenth_digit(
    client: httpx.AsyncClient, login: Login, serial: int, sex: str
) -> None:
    auth = await login()

    person = await added(client, auth, id_number=id_number(serial=serial))

    assert person["sex"] == sex


async def test_an_id_number_typed_with_a_lowercase_x_is_accepted(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_ending_in_x()

    person = await added(client, auth, id_number=number.lower())

    assert person["id_number_masked"] == masked_id(number)


async def test_added_visit_persons_are_listed_in_the_order_added(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    me = await added(client, auth, name="张三", relationship="self")
    mother = await added(client, auth, name="李秀英", relationship="parent")

    response = await client.get(PATIENTS, headers=auth)

    assert response.json() == {"items": [me, mother], "total": 2}


async def test_adding_without_login_is_unauthenticated(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(PATIENTS, json=patient_body()), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda n: n[:17] + ("0" if n[17] != "0" else "1"), id="wrong-checksum"),
        pytest.param(lambda n: with_check_digit("110105" + "19901332" + "123"), id="no-such-date"),
        pytest.param(lambda n: with_check_digit("110105" + "20300101" + "123"), id="born-in-the-future"),
        pytest.param(lambda n: with_check_digit("110105" + "18991231" + "123"), id="born-before-1900"),
        pytest.param(lambda n: n[:17], id="17-digits"),
        pytest.param(lambda n: n + "1", id="19-digits"),
        pytest.param(lambda n: n[:15] + "AB" + n[17], id="letters"),
        pytest.param(lambda n: with_check_digit("990105" + "19900101" + "123"), id="unknown-region"),
    ],
)
async def test_an_invalid_id_number_is_refused(client: httpx.AsyncClient, login: Login, bad: Any) -> None:
    auth = await login()

    response = await add(client, auth, id_number=bad(id_number()))

    body = assert_error(response, 422, "INVALID_ID_NUMBER")
    assert body["message"].startswith("身份证号码无效")


async def test_the_reason_for_an_invalid_id_number_is_given(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_number()

    response = await add(client, auth, id_number=number[:17] + ("0" if number[17] != "0" else "1"))

    assert "校验码" in response.json()["message"]


@pytest.mark.parametrize("phone", ["12812345678", "1381234567", "138123456789", "02012345678", "phone-numbr"])
async def test_an_invalid_phone_is_refused(client: httpx.AsyncClient, login: Login, phone: str) -> None:
    auth = await login()

    assert_error(await add(client, auth, phone=phone), 422, "INVALID_PHONE")


@pytest.mark.parametrize("field", ["name", "id_number", "phone", "relationship"])
async def test_every_field_is_required(client: httpx.AsyncClient, login: Login, field: str) -> None:
    auth = await login()
    body = patient_body()
    del body[field]

    response = await client.post(PATIENTS, json=body, headers=auth)

    detail = assert_error(response, 422, "VALIDATION_ERROR")["detail"]
    assert detail[0]["loc"] == ["body", field]


async def test_an_unknown_relationship_is_refused(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()

    assert_error(await add(client, auth, relationship="friend"), 422, "VALIDATION_ERROR")


async def test_a_sixth_visit_person_is_refused(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    await added(client, auth, relationship="self")
    for _ in range(4):
        await added(client, auth, relationship="other")

    response = await add(client, auth, relationship="other")

    assert_error(response, 409, "TOO_MANY_VISIT_PERSONS")
    assert len(await listed(client, auth)) == 5


async def test_a_second_self_is_refused(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    await added(client, auth, relationship="self")

    assert_error(await add(client, auth, relationship="self"), 409, "SELF_ALREADY_EXISTS")


# --- families: one ID number, several accounts; once per account ------------------------------------------


async def test_two_accounts_may_add_the_same_id_number(client: httpx.AsyncClient, login: Login) -> None:
    daughter, son = await login(), await login()
    mother = id_number(date(1960, 5, 4), 124)

    by_daughter = await added(client, daughter, name="王秀英", id_number=mother, relationship="parent")
    by_son = await added(client, son, name="王秀英", id_number=mother, relationship="parent")

    assert by_daughter["id"] != by_son["id"]
    assert by_daughter["id_number_masked"] == by_son["id_number_masked"] == masked_id(mother)
    assert [p["id"] for p in await listed(client, daughter)] == [by_daughter["id"]]
    assert [p["id"] for p in await listed(client, son)] == [by_son["id"]]


async def test_an_id_number_cannot_be_added_twice_to_one_account(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_number()
    await added(client, auth, id_number=number, relationship="self")

    body = assert_error(await add(client, auth, id_number=number, relationship="child"), 409, "VISIT_PERSON_EXISTS")

    assert body["message"] == "您已添加过该就诊人"
    assert len(await listed(client, auth)) == 1


async def test_an_id_number_already_added_is_found_whatever_its_case(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_ending_in_x()
    await added(client, auth, id_number=number)

    assert_error(await add(client, auth, id_number=number.lower(), relationship="other"), 409, "VISIT_PERSON_EXISTS")


async def test_an_id_number_already_added_written_in_full_width_digits_is_not_added_again(
    client: httpx.AsyncClient, login: Login
) -> None:
    auth = await login()
    number = id_number(date(1990, 1, 1), 123)
    await added(client, auth, id_number=number)
    same_number_full_width = number[:6] + number[6:17].translate(FULL_WIDTH) + number[17]

    response = await add(client, auth, id_number=same_number_full_width, relationship="other")

    assert response.status_code in (409, 422), response.text
    assert len(await listed(client, auth)) == 1


async def test_one_account_adding_the_same_person_twice_at_once_gets_one(
    client: httpx.AsyncClient, login: Login
) -> None:
    auth = await login()
    number = id_number()

    answers = await asyncio.gather(*(add(client, auth, id_number=number, relationship="other") for _ in range(4)))

    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"VISIT_PERSON_EXISTS"}
    assert len(await listed(client, auth)) == 1


async def test_nothing_says_an_id_number_belongs_to_another_account(client: httpx.AsyncClient, login: Login) -> None:
    alice, bob = await login(), await login()
    number = id_number()
    alices = await added(client, alice, id_number=number, relationship="parent")

    answers = [
        await add(client, bob, id_number=number, relationship="parent"),
        await add(client, bob, id_number=number, relationship="other"),  # bob's own second try
        await client.get(PATIENTS, headers=bob),
    ]

    assert [a.status_code for a in answers] == [201, 409, 200]
    for answer in answers:
        assert not re.search("其他账号|他人|已被|已注册|已绑定", answer.text), answer.text
    assert answers[1].json()["message"] == "您已添加过该就诊人"
    assert [p["id"] for p in answers[2].json()["items"]] == [answers[0].json()["id"]] != [alices["id"]]


def test_no_visit_person_error_speaks_of_other_accounts() -> None:
    errors = [e for e in vars(service).values() if isinstance(e, type) and issubclass(e, DomainError)]

    assert "VISIT_PERSON_EXISTS" in {e.code for e in errors}
    assert "ID_NUMBER_TAKEN" not in {e.code for e in errors}
    for error in errors:
        assert not re.search("其他账号|他人|已被|已注册|已绑定", error.message), error


async def test_a_phone_written_in_full_width_digits_is_refused_or_normalised(
    client: httpx.AsyncClient, login: Login
) -> None:
    auth = await login()

    response = await add(client, auth, phone="138" + "12345678".translate(FULL_WIDTH))

    assert response.status_code == 422 or response.json()["phone_masked"] == "138****5678", response.text


# --- names ------------------------------------------------------------------------------------------

NAME_ERROR = "姓名须为2-30个汉字或字母，可含·"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("张三", "张三"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),  # look-alike dots become the middle dot
        ("阿依古丽 • 买买提", "阿依古丽·买买提"),
        ("John Smith", "John Smith"),
        ("  John   Smith ", "John Smith"),
    ],
)
async def test_a_name_of_chinese_letters_and_middle_dots_is_accepted(
    client: httpx.AsyncClient, login: Login, typed: str, stored: str
) -> None:
    auth = await login()

    person = await added(client, auth, name=typed)

    assert person["name"] == stored


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("a1", id="digit"),
        pytest.param("张", id="one-character"),
        pytest.param("张3", id="chinese-and-digit"),
        pytest.param("张 三", id="space-between-chinese"),
        pytest.param("张" * 31, id="31-characters"),
        pytest.param("张三😀", id="emoji"),
        pytest.param("张三!", id="symbol"),
        pytest.param("·张三", id="leading-dot"),
    ],
)
async def test_a_name_with_digits_symbols_or_the_wrong_length_is_refused(
    client: httpx.AsyncClient, login: Login, name: str
) -> None:
    auth = await login()

    body = assert_error(await add(client, auth, name=name), 422, "VALIDATION_ERROR")

    assert body["message"] == NAME_ERROR
    assert [(d["loc"], d["type"], d["msg"]) for d in body["detail"]] == [(["body", "name"], "person_name", NAME_ERROR)]
    assert await listed(client, auth) == []


async def test_a_changed_name_follows_the_same_rule(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth, name="张三")

    refused = await patch(client, auth, person["id"], name="张3")
    changed = await patch(client, auth, person["id"], name="阿依古丽•买买提")

    assert assert_error(refused, 422, "VALIDATION_ERROR")["message"] == NAME_ERROR
    assert changed.json()["name"] == "阿依古丽·买买提"


# --- changing ---------------------------------------------------------------------------------------


async def test_name_phone_and_relationship_can_be_changed(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth, name="张三", relationship="self")

    response = await patch(client, auth, person["id"], name="张小三", phone="13900001111", relationship="spouse")

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["phone_masked"]) == ("张小三", "139****1111")
    assert (changed["relationship"], changed["relationship_label"]) == ("spouse", "配偶")
    assert changed["id_number_masked"] == person["id_number_masked"]
    assert await listed(client, auth) == [changed]


async def test_a_patch_changes_only_the_fields_it_names(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth, name="张三")

    changed = (await patch(client, auth, person["id"], phone="13900001111")).json()

    assert {**person, "phone_masked": "139****1111"} == changed


async def test_the_id_number_cannot_be_patched(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth)

    response = await patch(client, auth, person["id"], id_number=id_number())

    assert_error(response, 422, "VALIDATION_ERROR")
    assert await listed(client, auth) == [person]


async def test_an_invalid_phone_is_refused_in_a_patch(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth)

    assert_error(await patch(client, auth, person["id"], phone="12345"), 422, "INVALID_PHONE")


async def test_changing_a_relative_into_a_second_self_is_refused(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    await added(client, auth, relationship="self")
    father = await added(client, auth, relationship="parent")

    assert_error(await patch(client, auth, father["id"], relationship="self"), 409, "SELF_ALREADY_EXISTS")


async def test_patching_an_unknown_visit_person_is_not_found(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()

    assert_error(await patch(client, auth, 999, name="张三"), 404, "VISIT_PERSON_NOT_FOUND")


# --- removing ---------------------------------------------------------------------------------------


async def test_removing_a_visit_person_answers_204_and_drops_them_from_the_list(
    client: httpx.AsyncClient, login: Login
) -> None:
    auth = await login()
    me = await added(client, auth, relationship="self")
    child = await added(client, auth, relationship="child")

    response = await delete(client, auth, child["id"])

    assert response.status_code == 204
    assert response.content == b""
    assert await listed(client, auth) == [me]


async def test_a_removed_visit_person_cannot_be_removed_again(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth)
    await delete(client, auth, person["id"])

    assert_error(await delete(client, auth, person["id"]), 404, "VISIT_PERSON_NOT_FOUND")


async def test_a_removed_visit_person_cannot_be_patched(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    person = await added(client, auth)
    await delete(client, auth, person["id"])

    assert_error(await patch(client, auth, person["id"], name="李四"), 404, "VISIT_PERSON_NOT_FOUND")


async def test_removing_frees_the_id_number_for_the_same_account(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    number = id_number()
    first = await added(client, auth, id_number=number)
    await delete(client, auth, first["id"])

    again = await add(client, auth, id_number=number)

    assert again.status_code == 201, again.text
    assert again.json()["id"] != first["id"]


async def test_removing_frees_a_place_under_the_limit(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    people = [await added(client, auth, relationship="other") for _ in range(5)]
    await delete(client, auth, people[0]["id"])

    assert (await add(client, auth, relationship="other")).status_code == 201


async def test_removing_self_allows_a_new_self(client: httpx.AsyncClient, login: Login) -> None:
    auth = await login()
    me = await added(client, auth, relationship="self")
    await delete(client, auth, me["id"])

    assert (await add(client, auth, relationship="self")).status_code == 201


# --- one account cannot touch another's -----------------------------------------------------------------


async def test_another_account_does_not_see_my_visit_persons(client: httpx.AsyncClient, login: Login) -> None:
    alice, bob = await login(), await login()
    await added(client, alice)

    assert await listed(client, bob) == []


async def test_another_account_cannot_patch_my_visit_person(client: httpx.AsyncClient, login: Login) -> None:
    alice, bob = await login(), await login()
    person = await added(client, alice, name="张三")

    response = await patch(client, bob, person["id"], name="李四", phone="13900001111", relationship="other")

    assert_error(response, 404, "VISIT_PERSON_NOT_FOUND")
    assert await listed(client, alice) == [person]


async def test_another_account_cannot_remove_my_visit_person(client: httpx.AsyncClient, login: Login) -> None:
    alice, bob = await login(), await login()
    person = await added(client, alice)

    assert_error(await delete(client, bob, person["id"]), 404, "VISIT_PERSON_NOT_FOUND")
    assert await listed(client, alice) == [person]


async def test_not_mine_and_not_existing_look_the_same(client: httpx.AsyncClient, login: Login) -> None:
    alice, bob = await login(), await login()
    person = await added(client, alice)

    not_mine = await delete(client, bob, person["id"])
    missing = await delete(client, bob, person["id"] + 1000)

    assert not_mine.json() == missing.json()


@pytest.mark.parametrize("bad_id", ["0", "-1", "abc", str(2**63)])
async def test_an_impossible_visit_person_id_is_a_validation_error(
    client: httpx.AsyncClient, login: Login, bad_id: str
) -> None:
    auth = await login()

    assert_error(await client.delete(f"{PATIENTS}/{bad_id}", headers=auth), 422, "VALIDATION_ERROR")


# --- personal data ----------------------------------------------------------------------------------


async def test_the_plain_id_number_and_phone_never_appear_in_any_response(
    client: httpx.AsyncClient, login: Login
) -> None:
    alice, bob = await login(), await login()
    number, new_phone = id_number(), "13987654321"
    responses = [await add(client, alice, id_number=number, phone=PHONE)]
    person_id = responses[0].json()["id"]
    responses += [
        await client.get(PATIENTS, headers=alice),
        await patch(client, alice, person_id, name="张小三"),
        await patch(client, alice, person_id, phone=new_phone),
        await patch(client, alice, person_id, id_number=number),
        await add(client, bob, id_number=number, phone=PHONE),
        await add(client, bob, id_number=number[:17] + ("0" if number[17] != "0" else "1"), phone=PHONE),
        await add(client, bob, id_number=id_number(), phone=PHONE + "0"),
        await client.get(PATIENTS, headers=alice),
    ]

    assert [r.status_code for r in responses] == [201, 200, 200, 200, 422, 201, 422, 422, 200]
    for response in responses:
        assert number not in response.text
        assert number[6:14] not in response.text  # not even the birth-date digits in one piece
        assert PHONE not in response.text
        assert new_phone not in response.text


async def test_the_id_number_and_phone_are_stored_encrypted(
    client: httpx.AsyncClient, login: Login, db: Database
) -> None:
    auth = await login()
    number = id_number()
    await added(client, auth, id_number=number, phone=PHONE)

    [row] = await stored_people(db)

    assert number not in row.id_number_encrypted
    assert PHONE not in row.phone_encrypted
    assert row.id_number_encrypted.startswith("v1:")
    assert row.phone_encrypted.startswith("v1:")


async def test_the_stored_values_decrypt_to_what_was_given(
    client: httpx.AsyncClient, login: Login, db: Database, app: Any
) -> None:
    auth = await login()
    number = id_number()
    await added(client, auth, id_number=number, phone=PHONE)

    [row] = await stored_people(db)

    cipher = app.state.cipher
    assert cipher.decrypt(row.id_number_encrypted, context="visit_persons.id_number") == number
    assert cipher.decrypt(row.phone_encrypted, context="visit_persons.phone") == PHONE


async def test_the_blind_index_is_not_the_plain_id_number(
    client: httpx.AsyncClient, login: Login, db: Database
) -> None:
    auth = await login()
    number = id_number()
    await added(client, auth, id_number=number)

    [row] = await stored_people(db)

    assert row.id_number_index != number
    assert number not in row.id_number_index
    assert re.fullmatch(r"[0-9a-f]{64}", row.id_number_index)


async def test_a_changed_phone_is_stored_encrypted_too(client: httpx.AsyncClient, login: Login, db: Database) -> None:
    auth = await login()
    person = await added(client, auth)
    await patch(client, auth, person["id"], phone="13987654321")

    [row] = await stored_people(db)

    assert "13987654321" not in row.phone_encrypted
    assert row.phone_masked == "139****4321"
