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
    assert "code" in body["message"]


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
    }
    assert (body["hospital_timezone"], body["max_visit_persons"]) == ("Asia/Shanghai", 5)
