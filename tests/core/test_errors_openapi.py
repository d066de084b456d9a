"""Domain errors in the OpenAPI contract: the ``responses()`` helper, what FastAPI makes of it, and the
errors the patient-facing routers declare (and answer)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from yiyue.core.errors import (
    AUTH_ERRORS,
    BODY_ERRORS,
    ERROR_CODES_KEY,
    INPUT_ERRORS,
    Conflict,
    DomainError,
    ErrorOut,
    InvalidInput,
    NotFound,
    responses,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
ERROR_OUT_REF = "#/components/schemas/ErrorOut"
JSON = {"Content-Type": "application/json"}


class WidgetNotFound(NotFound):
    code = "WIDGET_NOT_FOUND"
    message = "部件不存在"


class WidgetBusy(Conflict):
    code = "WIDGET_BUSY"
    message = "部件正忙"


class WidgetLocked(Conflict):
    code = "WIDGET_LOCKED"
    message = "部件已锁定"


class GoneAway(DomainError):
    status = 401
    code = "GONE_AWAY"
    message = "账号已注销"


# --- the helper on its own --------------------------------------------------------------------------


def test_errors_are_grouped_by_status_in_ascending_order() -> None:
    declared = responses(WidgetLocked, WidgetNotFound, *INPUT_ERRORS, WidgetBusy)

    assert list(declared) == [404, 409, 422]
    assert declared[409][ERROR_CODES_KEY] == ["WIDGET_LOCKED", "WIDGET_BUSY"]  # in the order given
    assert declared[404][ERROR_CODES_KEY] == ["WIDGET_NOT_FOUND"]
    assert declared[422][ERROR_CODES_KEY] == ["VALIDATION_ERROR"]


def test_each_status_has_the_error_model_a_chinese_description_and_one_example_per_code() -> None:
    entry = responses(WidgetBusy, WidgetLocked)[409]

    assert entry["model"] is ErrorOut
    assert entry["description"] == "可能的错误码：\n\n- `WIDGET_BUSY`：部件正忙\n- `WIDGET_LOCKED`：部件已锁定"
    assert entry["content"] == {
        "application/json": {
            "examples": {
                "WIDGET_BUSY": {
                    "summary": "部件正忙",
                    "value": {"code": "WIDGET_BUSY", "message": "部件正忙", "detail": None},
                },
                "WIDGET_LOCKED": {
                    "summary": "部件已锁定",
                    "value": {"code": "WIDGET_LOCKED", "message": "部件已锁定", "detail": None},
                },
            }
        }
    }


def test_a_code_given_twice_counts_once_so_shared_tuples_combine() -> None:
    declared = responses(*INPUT_ERRORS, *BODY_ERRORS, InvalidInput, WidgetBusy, WidgetBusy)

    assert declared[422][ERROR_CODES_KEY] == ["VALIDATION_ERROR"]
    assert declared[409][ERROR_CODES_KEY] == ["WIDGET_BUSY"]
    assert list(declared[422]["content"]["application/json"]["examples"]) == ["VALIDATION_ERROR"]


def test_a_route_specific_error_joins_the_shared_auth_errors_of_its_status() -> None:
    declared = responses(*AUTH_ERRORS, GoneAway)

    assert declared[401][ERROR_CODES_KEY] == [
        "UNAUTHENTICATED",
        "TOKEN_EXPIRED",
        "INVALID_TOKEN",
        "SESSION_REVOKED",
        "GONE_AWAY",
    ]
    assert declared[403][ERROR_CODES_KEY] == ["FORBIDDEN"]


def test_the_shared_tuples() -> None:
    assert responses(*AUTH_ERRORS) == responses(*AUTH_ERRORS, *AUTH_ERRORS)
    assert {s: r[ERROR_CODES_KEY] for s, r in responses(*AUTH_ERRORS).items()} == {
        401: ["UNAUTHENTICATED", "TOKEN_EXPIRED", "INVALID_TOKEN", "SESSION_REVOKED"],
        403: ["FORBIDDEN"],
    }
    assert {s: r[ERROR_CODES_KEY] for s, r in responses(*BODY_ERRORS).items()} == {
        400: ["MALFORMED_JSON"],
        413: ["PAYLOAD_TOO_LARGE"],
        422: ["VALIDATION_ERROR"],
    }


def test_the_same_call_gives_equal_but_separate_answers() -> None:
    first, second = responses(WidgetBusy), responses(WidgetBusy)

    assert first == second
    first[409][ERROR_CODES_KEY].append("OOPS")
    assert second[409][ERROR_CODES_KEY] == ["WIDGET_BUSY"]


def test_no_errors_declare_nothing() -> None:
    assert responses() == {}


def test_every_example_is_a_valid_error_body() -> None:
    for entry in responses(*AUTH_ERRORS, *BODY_ERRORS, WidgetNotFound, WidgetBusy).values():
        for example in entry["content"]["application/json"]["examples"].values():
            assert ErrorOut.model_validate(example["value"]).model_dump() == example["value"]


# --- what FastAPI makes of it -------------------------------------------------------------------------


def toy_schema() -> dict[str, Any]:
    app = FastAPI()

    @app.get("/widgets/{widget_id}", responses=responses(*INPUT_ERRORS, WidgetNotFound, WidgetBusy))
    async def widget(widget_id: int) -> dict[str, int]:
        return {"id": widget_id}

    @app.get("/plain/{widget_id}")
    async def plain(widget_id: int) -> dict[str, int]:
        return {"id": widget_id}

    return app.openapi()


def test_fastapi_renders_the_error_model_the_codes_and_the_examples() -> None:
    schema = toy_schema()
    answers = schema["paths"]["/widgets/{widget_id}"]["get"]["responses"]

    assert sorted(answers) == ["200", "404", "409", "422"]
    not_found = answers["404"]
    assert not_found[ERROR_CODES_KEY] == ["WIDGET_NOT_FOUND"]
    assert not_found["content"]["application/json"]["schema"] == {"$ref": ERROR_OUT_REF}
    assert list(not_found["content"]["application/json"]["examples"]) == ["WIDGET_NOT_FOUND"]
    assert CJK.search(not_found["description"])


def test_declaring_422_replaces_fastapis_own_validation_error_shape() -> None:
    schema = toy_schema()

    declared = schema["paths"]["/widgets/{widget_id}"]["get"]["responses"]["422"]
    assert declared["content"]["application/json"]["schema"] == {"$ref": ERROR_OUT_REF}
    assert declared[ERROR_CODES_KEY] == ["VALIDATION_ERROR"]
    # A route without responses= keeps FastAPI's default, which is not what the app answers.
    default = schema["paths"]["/plain/{widget_id}"]["get"]["responses"]["422"]
    assert default["content"]["application/json"]["schema"]["$ref"].endswith("/HTTPValidationError")


def test_the_error_model_has_the_three_fields_of_every_error_body() -> None:
    error_out = toy_schema()["components"]["schemas"]["ErrorOut"]

    assert set(error_out["properties"]) == {"code", "message", "detail"}
    assert sorted(error_out["required"]) == ["code", "detail", "message"]
    assert all(CJK.search(p["description"]) for p in error_out["properties"].values())


# --- the routers that declare their errors --------------------------------------------------------------

# The WeChat Pay notify endpoint answers WeChat Pay in its own format ({"code": "FAIL", ...}), not ErrorOut.
NOT_ERROR_OUT = {("post", "/api/v1/payments/wechat/notify")}


def routers() -> list[APIRouter]:
    # Imported here, not at the top: the helper's tests above must not depend on every domain importing.
    from yiyue.accounts.endpoints import router as accounts
    from yiyue.accounts.staff.endpoints import router as staff
    from yiyue.booking.endpoints import router as booking
    from yiyue.frontdesk.staff_endpoints import router as frontdesk
    from yiyue.hospitals.endpoints import router as hospitals
    from yiyue.notifications.endpoints import router as notifications
    from yiyue.payments.endpoints import router as payments
    from yiyue.scheduling.endpoints import router as scheduling

    return [accounts, hospitals, scheduling, booking, notifications, payments, staff, frontdesk]


def declared_schema() -> dict[str, Any]:
    app = FastAPI()
    for router in routers():
        app.include_router(router)
    return app.openapi()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def codes(op: dict[str, Any], status: int) -> list[str]:
    found: list[str] = op["responses"].get(str(status), {}).get(ERROR_CODES_KEY, [])
    return found


@pytest.fixture(scope="module")
def declared() -> dict[str, Any]:
    return declared_schema()


def test_every_error_response_is_an_error_out_with_its_codes_and_examples(declared: dict[str, Any]) -> None:
    for method, path, op in operations(declared):
        if (method, path) in NOT_ERROR_OUT:
            continue
        for status, answer in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            where = f"{method.upper()} {path} {status}"
            content = answer["content"]["application/json"]
            assert content["schema"] == {"$ref": ERROR_OUT_REF}, where
            assert answer.get(ERROR_CODES_KEY), where
            assert list(content["examples"]) == answer[ERROR_CODES_KEY], where


def test_no_route_keeps_fastapis_validation_error_shape(declared: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in declared.get("components", {}).get("schemas", {})


def behind(schema: dict[str, Any], scheme: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for m, p, op in operations(schema) if any(scheme in s for s in op.get("security", []))]


def test_every_route_behind_a_patient_login_declares_the_auth_errors(declared: dict[str, Any]) -> None:
    guarded = behind(declared, "HTTPBearer")

    assert len(guarded) >= 12  # 就诊人 x4, 预约 x4, 消息 x3, 支付
    for method, path, op in guarded:
        assert codes(op, 401)[:3] == ["UNAUTHENTICATED", "TOKEN_EXPIRED", "INVALID_TOKEN"], (method, path)
        assert codes(op, 403)[:1] == ["FORBIDDEN"], (method, path)


def test_every_route_behind_a_staff_login_declares_the_staff_auth_errors(declared: dict[str, Any]) -> None:
    guarded = behind(declared, "StaffBearer")

    assert len(guarded) >= 6  # me, list, check-in x2, complete, 停诊
    for method, path, op in guarded:
        assert codes(op, 401)[:3] == ["UNAUTHENTICATED", "TOKEN_EXPIRED", "INVALID_TOKEN"], (method, path)
        assert codes(op, 403)[:2] == ["STAFF_ONLY", "STAFF_DISABLED"], (method, path)


def test_every_route_with_a_json_body_declares_malformed_json(declared: dict[str, Any]) -> None:
    with_body = [(m, p, op) for m, p, op in operations(declared) if "requestBody" in op]

    assert len(with_body) >= 4
    for method, path, op in with_body:
        assert codes(op, 400)[:1] == ["MALFORMED_JSON"], (method, path)


@pytest.mark.parametrize(
    ("method", "path", "status", "expected"),
    [
        ("get", "/api/v1/hospitals/{hospital_id}", 404, ["HOSPITAL_NOT_FOUND"]),
        ("get", "/api/v1/hospitals", 422, ["VALIDATION_ERROR"]),
        ("get", "/api/v1/doctors/{doctor_id}/schedules", 422, ["VALIDATION_ERROR", "INVALID_DATE_RANGE"]),
        ("get", "/api/v1/schedules/{schedule_id}/slots", 404, ["SCHEDULE_NOT_FOUND"]),
        ("post", "/api/v1/auth/wechat-login", 401, ["WECHAT_CODE_INVALID"]),
        ("post", "/api/v1/auth/wechat-login", 503, ["WECHAT_UNAVAILABLE", "WECHAT_MISCONFIGURED"]),
        (
            "post",
            "/api/v1/auth/refresh",
            401,
            ["TOKEN_EXPIRED", "INVALID_TOKEN", "REFRESH_TOKEN_REUSED", "SESSION_REVOKED", "ACCOUNT_NOT_FOUND"],
        ),
        (
            "post",
            "/api/v1/me/patients",
            409,
            ["TOO_MANY_VISIT_PERSONS", "SELF_ALREADY_EXISTS", "VISIT_PERSON_EXISTS"],
        ),
        ("post", "/api/v1/me/patients", 422, ["VALIDATION_ERROR", "INVALID_ID_NUMBER", "INVALID_PHONE"]),
        ("patch", "/api/v1/me/patients/{patient_id}", 404, ["VISIT_PERSON_NOT_FOUND"]),
        ("post", "/api/v1/me/notifications/{notification_id}/read", 404, ["NOTIFICATION_NOT_FOUND"]),
        (
            "post",
            "/api/v1/appointments/{appointment_id}/pay",
            409,
            ["NOT_AWAITING_PAYMENT", "PAYMENT_EXPIRED", "HOLD_EXPIRED", "WECHAT_PAY_ORDER_CONFLICT"],
        ),
        ("post", "/api/v1/appointments/{appointment_id}/pay", 404, ["APPOINTMENT_NOT_FOUND"]),
        (
            "post",
            "/api/v1/appointments",
            409,
            [
                "PERSON_NOT_VERIFIED",
                "HOSPITAL_CLOSED",
                "DOCTOR_UNAVAILABLE",
                "SOLD_OUT",
                "SLOT_TAKEN",
                "DUPLICATE_BOOKING",
                "BOOKING_LIMIT",
                "TOO_MANY_UNPAID_HOLDS",
                "NOT_RELEASED",
                "RELEASE_NOT_OPEN",
                "RELEASE_WINDOW_OPEN",
                "RELEASE_DRAW_PENDING",
                "BOOKING_CLOSED",
                "SCHEDULE_SUSPENDED",
                "MEMBER_SHARE_ONLY",
            ],
        ),
        ("post", "/api/v1/appointments", 400, ["MALFORMED_JSON", "IDEMPOTENCY_KEY_REQUIRED"]),
        ("post", "/api/v1/appointments/{appointment_id}/cancel", 409, ["NOT_CANCELLABLE", "CANCEL_DEADLINE_PASSED"]),
        (
            "post",
            "/api/v1/appointments/{appointment_id}/rebook",
            409,
            [
                "REBOOK_OFFER_EXPIRED",
                "REBOOK_ALREADY_ACCEPTED",
                "DUPLICATE_BOOKING",
                "HOSPITAL_CLOSED",
                "BOOKING_CLOSED",
                "SCHEDULE_SUSPENDED",
            ],
        ),
        (
            "post",
            "/api/v1/appointments/{appointment_id}/rebook",
            404,
            ["APPOINTMENT_NOT_FOUND", "VISIT_PERSON_NOT_FOUND", "REBOOK_OPTION_NOT_FOUND"],
        ),
        ("post", "/api/v1/staff/check-in", 404, ["CHECK_IN_CODE_NOT_FOUND"]),
        (
            "post",
            "/api/v1/staff/schedules/{schedule_id}/suspend",
            403,
            ["STAFF_ONLY", "STAFF_DISABLED", "FORBIDDEN_ROLE"],
        ),
    ],
)
def test_route_declares(declared: dict[str, Any], method: str, path: str, status: int, expected: list[str]) -> None:
    assert codes(declared["paths"][path][method], status) == expected


# --- what the app answers is what it declares ----------------------------------------------------------


async def declared_codes(client: httpx.AsyncClient, method: str, path: str, status: int) -> list[str]:
    schema = (await client.get("/openapi.json")).json()
    return codes(schema["paths"][path][method], status)


@pytest.mark.parametrize(
    ("method", "template", "url", "kwargs", "status"),
    [
        ("get", "/api/v1/hospitals/{hospital_id}", "/api/v1/hospitals/999999", {}, 404),
        ("get", "/api/v1/hospitals", "/api/v1/hospitals?page=0", {}, 422),
        ("get", "/api/v1/me/patients", "/api/v1/me/patients", {}, 401),
        (
            "get",
            "/api/v1/me/notifications",
            "/api/v1/me/notifications",
            {"headers": {"Authorization": "Bearer x"}},
            401,
        ),
        ("post", "/api/v1/auth/wechat-login", "/api/v1/auth/wechat-login", {"content": b"{", "headers": JSON}, 400),
        ("post", "/api/v1/auth/wechat-login", "/api/v1/auth/wechat-login", {"json": {"code": "nope"}}, 401),
    ],
)
async def test_the_app_answers_a_declared_code(
    client: httpx.AsyncClient, method: str, template: str, url: str, kwargs: dict[str, Any], status: int
) -> None:
    response = await client.request(method.upper(), url, **kwargs)

    assert response.status_code == status, response.text
    body = ErrorOut.model_validate(response.json())
    assert set(response.json()) == set(ErrorOut.model_fields)
    assert body.code in await declared_codes(client, method, template, status)


# --- the app's own document (core.openapi): every 422 as sent, required headers required -----------------


def test_contract_replaces_fastapis_422_where_a_route_declared_none() -> None:
    from yiyue.core.openapi import contract

    schema = contract(toy_schema())

    plain = schema["paths"]["/plain/{widget_id}"]["get"]["responses"]["422"]
    assert plain["content"]["application/json"]["schema"] == {"$ref": ERROR_OUT_REF}
    assert plain[ERROR_CODES_KEY] == ["VALIDATION_ERROR"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "ValidationError" not in schema["components"]["schemas"]
    declared = schema["paths"]["/widgets/{widget_id}"]["get"]["responses"]
    assert declared["404"][ERROR_CODES_KEY] == ["WIDGET_NOT_FOUND"]  # what a route declared stays


@pytest.fixture
async def served(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


async def test_the_served_document_has_no_validation_shape_the_app_never_sends(served: dict[str, Any]) -> None:
    assert not {"HTTPValidationError", "ValidationError"} & set(served["components"]["schemas"])
    for method, path, op in operations(served):
        if op.get("parameters") or op.get("requestBody"):
            answer = op["responses"].get("422")
            assert answer is not None, (method, path)
            assert answer["content"]["application/json"]["schema"] == {"$ref": ERROR_OUT_REF}, (method, path)
            assert "VALIDATION_ERROR" in answer[ERROR_CODES_KEY], (method, path)


async def test_every_served_error_response_is_an_error_out(served: dict[str, Any]) -> None:
    for method, path, op in operations(served):
        if (method, path) in NOT_ERROR_OUT:
            continue
        for status, answer in op["responses"].items():
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_OUT_REF}, (method, path, status)


async def test_the_booking_post_requires_its_idempotency_key(served: dict[str, Any]) -> None:
    [header] = [
        p for p in served["paths"]["/api/v1/appointments"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
    ]

    assert header["in"] == "header" and header["required"] is True
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 100}
    assert codes(served["paths"]["/api/v1/appointments"]["post"], 400)[:2] == [
        "MALFORMED_JSON",
        "IDEMPOTENCY_KEY_REQUIRED",
    ]


async def test_the_wechat_pay_notify_route_declares_wechats_reply_format(served: dict[str, Any]) -> None:
    notify = served["paths"]["/api/v1/payments/wechat/notify"]["post"]["responses"]

    assert {"204", "400", "404", "409"} <= set(notify)
    assert notify["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WeChatPayReply"}


async def test_date_range_routes_declare_invalid_date_range(served: dict[str, Any]) -> None:
    for path in (
        "/api/v1/departments/{department_id}/availability",
        "/api/v1/doctors/{doctor_id}/schedules",
        "/api/v1/departments/{department_id}/doctors",
    ):
        assert codes(served["paths"][path]["get"], 422) == ["VALIDATION_ERROR", "INVALID_DATE_RANGE"], path


async def test_the_console_and_the_fake_wechat_are_not_in_the_document(served: dict[str, Any]) -> None:
    assert not [p for p in served["paths"] if p.startswith(("/admin", "/__wechat__"))]
