"""How the API answers what it cannot do, and the parts every client relies on: health, config, OpenAPI."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

CJK = re.compile(r"[\u4e00-\u9fff]")
LOGIN = "/api/v1/auth/wechat-login"
JSON = {"Content-Type": "application/json"}

ISSUE_ENDPOINTS = [
    ("POST", "/api/v1/auth/wechat-login"),
    ("POST", "/api/v1/auth/refresh"),
    ("GET", "/api/v1/hospitals"),
    ("GET", "/api/v1/hospitals/{hospital_id}"),
    ("GET", "/api/v1/hospitals/{hospital_id}/departments"),
    ("GET", "/api/v1/departments/{department_id}/doctors"),
    ("GET", "/api/v1/doctors/{doctor_id}"),
    ("GET", "/api/v1/doctors/{doctor_id}/schedules"),
    ("GET", "/api/v1/schedules/{schedule_id}/slots"),
    ("GET", "/api/v1/me/patients"),
    ("POST", "/api/v1/me/patients"),
    ("PATCH", "/api/v1/me/patients/{patient_id}"),
    ("DELETE", "/api/v1/me/patients/{patient_id}"),
    ("POST", "/api/v1/appointments"),
    ("GET", "/api/v1/me/appointments"),
    ("GET", "/api/v1/appointments/{appointment_id}"),
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"),
    ("GET", "/healthz"),
]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert CJK.search(body["message"]), body["message"]
    return body


async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema: dict[str, Any] = response.json()
    return schema


# --- bodies the API cannot read -----------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'{"code": ', b"{code: 1}", b'{"code": "a",}', b"not json"])
async def test_a_malformed_json_body_is_a_400(client: httpx.AsyncClient, content: bytes) -> None:
    body = assert_error(await client.post(LOGIN, content=content, headers=JSON), 400, "MALFORMED_JSON")

    assert body["detail"][0]["type"] == "json_invalid"


async def test_a_body_that_is_not_utf8_is_malformed_json_too(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, content=b'{"code": "\xff\xfe"}', headers=JSON)

    assert_error(response, 400, "MALFORMED_JSON")


async def test_a_body_that_is_not_utf8_still_gets_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, content=b'{"code": "\xff\xfe"}', headers=JSON)

    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "detail"}
    assert CJK.search(response.json()["message"])


# --- validation -------------------------------------------------------------------------------------


async def test_a_wrong_type_in_the_body_is_a_validation_error_listing_the_field(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(LOGIN, json={"code": ["x"]}), 422, "VALIDATION_ERROR")

    assert isinstance(body["detail"], list)
    assert body["detail"][0]["loc"] == ["body", "code"]
    assert body["detail"][0]["type"] == "string_type"
    assert body["message"] == "登录凭证：须为文本"  # the field, named in Chinese


async def test_a_json_array_where_an_object_belongs_is_a_validation_error(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(LOGIN, json=["code"]), 422, "VALIDATION_ERROR")

    assert body["detail"][0]["loc"] == ["body"]


async def test_a_wrong_type_in_the_query_is_a_validation_error(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/api/v1/hospitals", params={"page": "first"}), 422, "VALIDATION_ERROR")

    assert body["detail"][0]["loc"] == ["query", "page"]
    assert body["detail"][0]["type"] == "int_parsing"


async def test_a_bad_date_in_the_query_is_a_validation_error(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/api/v1/doctors/1/schedules?start=2026-02-30"), 422, "VALIDATION_ERROR")

    assert body["detail"][0]["loc"] == ["query", "start"]


async def test_every_problem_is_listed_in_the_detail(client: httpx.AsyncClient) -> None:
    body = assert_error(
        await client.get("/api/v1/hospitals", params={"page": 0, "page_size": 1000}), 422, "VALIDATION_ERROR"
    )

    assert sorted(tuple(e["loc"]) for e in body["detail"]) == [("query", "page"), ("query", "page_size")]


async def test_a_validation_error_does_not_echo_the_input(client: httpx.AsyncClient) -> None:
    secret_value = "x" * 129

    response = await client.post(LOGIN, json={"code": secret_value})

    assert_error(response, 422, "VALIDATION_ERROR")
    assert secret_value not in response.text


# --- validation messages in Chinese ------------------------------------------------------------------

PATIENTS = "/api/v1/me/patients"
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def chinese_detail(body: dict[str, Any]) -> list[tuple[list[Any], str, str]]:
    """(loc, type, msg) of each problem; every msg in Chinese, none in pydantic's English."""
    details = [(d["loc"], d["type"], d["msg"]) for d in body["detail"]]
    for _, _, msg in details:
        assert CJK.search(msg) and not ENGLISH_WORD.search(msg.replace("JSON", "")), msg
    return details


async def test_a_body_field_too_short_is_named_in_chinese(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(LOGIN, json={"code": ""}), 422, "VALIDATION_ERROR")

    assert chinese_detail(body) == [(["body", "code"], "string_too_short", "登录凭证：不能为空")]
    assert body["message"] == "登录凭证：不能为空"


async def test_missing_fields_of_a_body_are_each_named(client: httpx.AsyncClient, login: Any) -> None:
    auth = await login()

    response = await client.post(PATIENTS, json={"name": "张三", "relationship": "self"}, headers=auth)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert chinese_detail(body) == [
        (["body", "id_number"], "missing", "身份证号：不能为空"),
        (["body", "phone"], "missing", "手机号：不能为空"),
    ]
    assert body["message"] == "身份证号：不能为空；手机号：不能为空"


async def test_a_bad_choice_in_a_body_is_named(client: httpx.AsyncClient, login: Any) -> None:
    auth = await login()
    person = {"name": "张三", "id_number": "x", "phone": "x", "relationship": "friend"}

    body = assert_error(await client.post(PATIENTS, json=person, headers=auth), 422, "VALIDATION_ERROR")

    assert chinese_detail(body) == [(["body", "relationship"], "enum", "关系：取值无效")]


async def test_a_field_a_patch_does_not_take_is_named(client: httpx.AsyncClient, login: Any) -> None:
    auth = await login()

    response = await client.patch(f"{PATIENTS}/1", json={"id_number": "110105194912310021"}, headers=auth)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert chinese_detail(body) == [(["body", "id_number"], "extra_forbidden", "身份证号：不支持该字段")]


async def test_query_parameters_are_named_in_chinese(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/hospitals", params={"page": "first", "page_size": 1000})

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert sorted(chinese_detail(body)) == [
        (["query", "page"], "int_parsing", "页码：须为整数"),
        (["query", "page_size"], "less_than_equal", "每页条数：不能大于100"),
    ]


async def test_a_bad_date_in_the_query_says_what_a_date_looks_like(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get("/api/v1/doctors/1/schedules?start=2026-02-30"), 422, "VALIDATION_ERROR")

    [(loc, _, msg)] = chinese_detail(body)
    assert (loc, msg) == (["query", "start"], "开始日期：须为日期，如 2026-12-01")


@pytest.mark.parametrize(
    ("bad_id", "error_type", "msg"),
    [("abc", "int_parsing", "就诊人：须为整数"), ("0", "greater_than_equal", "就诊人：不能小于1")],
)
async def test_a_path_parameter_is_named_in_chinese(
    client: httpx.AsyncClient, login: Any, bad_id: str, error_type: str, msg: str
) -> None:
    auth = await login()

    response = await client.patch(f"{PATIENTS}/{bad_id}", json={"name": "张三"}, headers=auth)

    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert chinese_detail(body) == [(["path", "patient_id"], error_type, msg)]


async def test_a_missing_body_is_named(client: httpx.AsyncClient, login: Any) -> None:
    auth = await login()

    body = assert_error(await client.post(PATIENTS, headers=auth), 422, "VALIDATION_ERROR")

    assert chinese_detail(body) == [(["body"], "missing", "请求体：不能为空")]


async def test_a_json_array_where_an_object_belongs_says_so(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(LOGIN, json=["code"]), 422, "VALIDATION_ERROR")

    [(loc, _, msg)] = chinese_detail(body)
    assert (loc, msg) == (["body"], "请求体：须为对象")


async def test_bad_json_is_explained_in_chinese_too(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.post(LOGIN, content=b'{"code": ', headers=JSON), 400, "MALFORMED_JSON")

    [(loc, error_type, msg)] = chinese_detail(body)
    assert (loc[0], error_type, msg) == ("body", "json_invalid", "请求体：不是合法的 JSON")
    assert body["message"] == "请求体不是合法的 JSON"


async def test_a_visit_persons_name_gets_its_own_words(client: httpx.AsyncClient, login: Any) -> None:
    auth = await login()
    person = {"name": "a1", "id_number": "x", "phone": "x", "relationship": "self"}

    body = assert_error(await client.post(PATIENTS, json=person, headers=auth), 422, "VALIDATION_ERROR")

    assert chinese_detail(body) == [(["body", "name"], "person_name", "姓名须为2-30个汉字或字母，可含·")]
    assert body["message"] == "姓名须为2-30个汉字或字母，可含·"


# --- routes and methods -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/nope", "/api/v2/hospitals"])
async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient, path: str) -> None:
    body = assert_error(await client.get(path), 404, "NOT_FOUND")

    assert body["detail"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/hospitals"), ("DELETE", "/api/v1/hospitals/1"), ("GET", LOGIN), ("POST", "/healthz")],
)
async def test_a_wrong_method_is_a_json_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    assert_error(await client.request(method, path), 405, "METHOD_NOT_ALLOWED")


async def test_a_405_says_which_methods_are_allowed(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/hospitals")

    assert response.status_code == 405
    assert "GET" in response.headers.get("allow", "")


# --- health, config and the OpenAPI document ----------------------------------------------------------------


async def test_healthz_says_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_needs_no_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Authorization": "Bearer garbage"})

    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), ISSUE_ENDPOINTS, ids=[f"{m} {p}" for m, p in ISSUE_ENDPOINTS])
async def test_the_openapi_document_lists_every_endpoint_of_the_issue(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    paths = (await openapi(client))["paths"]

    assert path in paths
    assert method.lower() in paths[path]


async def test_the_openapi_document_describes_the_api_in_chinese(client: httpx.AsyncClient) -> None:
    schema = await openapi(client)

    assert CJK.search(schema["info"]["title"])
    summaries = [op.get("summary", "") for ops in schema["paths"].values() for op in ops.values()]
    assert all(CJK.search(s) for s in summaries), summaries


async def test_the_openapi_document_does_not_expose_the_fake_wechat(client: httpx.AsyncClient) -> None:
    paths = (await openapi(client))["paths"]

    assert not [p for p in paths if p.startswith("/__wechat__")]


async def test_public_config_lists_the_subscribe_templates(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/config")

    assert response.status_code == 200
    body = response.json()
    assert body["subscribe_templates"] == {
        "booking_confirmed": "yiyue-booking-confirmed",
        "visit_reminder": "yiyue-visit-reminder",
        "cancelled": "yiyue-booking-cancelled",
        "waitlist_offered": "yiyue-waitlist-offered",
        "release_result": "yiyue-release-result",
    }
    assert (body["hospital_timezone"], body["max_visit_persons"]) == ("Asia/Shanghai", 5)
