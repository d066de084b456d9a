"""Logging in with WeChat, refreshing tokens, and what the API does with a bad or missing token."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.conftest import NOW
from tests.factories import patient_body
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings

CJK = re.compile(r"[\u4e00-\u9fff]")
PATIENTS = "/api/v1/me/patients"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == code
    assert CJK.search(body["message"]), body["message"]
    return body


def new_openid() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


async def mint_code(client: httpx.AsyncClient, openid: str, **extra: Any) -> str:
    minted = await client.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": openid, **extra})
    assert minted.status_code == 200, minted.text
    code: str = minted.json()["code"]
    return code


async def wechat_login(client: httpx.AsyncClient, code: str) -> httpx.Response:
    return await client.post("/api/v1/auth/wechat-login", json={"code": code})


async def logged_in(client: httpx.AsyncClient, openid: str | None = None) -> dict[str, Any]:
    response = await wechat_login(client, await mint_code(client, openid or new_openid()))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged_token(secret: str, *, typ: str = "access", role: str = "patient", sub: str = "1", **extra: Any) -> str:
    now = int(NOW.timestamp())
    claims = {"iss": "yiyue", "sub": sub, "role": role, "typ": typ, "iat": now, "exp": now + 3600, **extra}
    return jwt.encode(claims, secret, algorithm="HS256")


# --- WeChat login -----------------------------------------------------------------------------------


async def test_first_login_creates_a_new_account(client: httpx.AsyncClient) -> None:
    body = await logged_in(client)

    assert body["account"]["is_new"] is True
    assert isinstance(body["account"]["id"], int)
    assert body["token_type"] == "bearer"
    assert body["access_token"] and body["refresh_token"]


async def test_a_second_login_of_the_same_user_finds_the_same_account(client: httpx.AsyncClient) -> None:
    openid = new_openid()
    first = await logged_in(client, openid)

    second = await logged_in(client, openid)

    assert second["account"] == {"id": first["account"]["id"], "is_new": False}


async def test_different_wechat_users_get_different_accounts(client: httpx.AsyncClient) -> None:
    one, two = await logged_in(client), await logged_in(client)

    assert one["account"]["id"] != two["account"]["id"]


async def test_login_says_how_long_the_tokens_last(client: httpx.AsyncClient, settings: Settings) -> None:
    body = await logged_in(client)

    assert body["expires_in"] == settings.access_token_minutes * 60
    assert body["refresh_expires_in"] == settings.refresh_token_days * 24 * 3600


async def test_the_access_token_from_login_opens_the_patient_area(client: httpx.AsyncClient) -> None:
    body = await logged_in(client)

    response = await client.get(PATIENTS, headers=bearer(body["access_token"]))

    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "total": 0}


async def test_a_login_code_works_only_once(client: httpx.AsyncClient) -> None:
    code = await mint_code(client, new_openid())
    assert (await wechat_login(client, code)).status_code == 200

    assert_error(await wechat_login(client, code), 401, "WECHAT_CODE_INVALID")


async def test_an_unknown_login_code_is_refused(client: httpx.AsyncClient) -> None:
    assert_error(await wechat_login(client, "no-such-code"), 401, "WECHAT_CODE_INVALID")


async def test_a_login_code_older_than_five_minutes_is_refused(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    code = await mint_code(client, new_openid())
    clock.set(NOW + timedelta(minutes=6))

    assert_error(await wechat_login(client, code), 401, "WECHAT_CODE_INVALID")


async def test_a_user_wechat_marks_high_risk_cannot_log_in(client: httpx.AsyncClient) -> None:
    code = await mint_code(client, new_openid(), high_risk=True)

    assert_error(await wechat_login(client, code), 403, "WECHAT_USER_BLOCKED")


@pytest.mark.parametrize("body", [{"code": ""}, {"code": "   "}, {}, {"code": None}, {"code": 12345}])
async def test_login_without_a_usable_code_is_a_validation_error(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/v1/auth/wechat-login", json=body)

    detail = assert_error(response, 422, "VALIDATION_ERROR")["detail"]
    assert detail[0]["loc"] == ["body", "code"]


# --- refresh ----------------------------------------------------------------------------------------


async def test_refresh_gives_a_new_working_access_token(client: httpx.AsyncClient) -> None:
    login = await logged_in(client)

    response = await refresh(client, login["refresh_token"])

    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["account"] == {"id": login["account"]["id"], "is_new": False}
    assert renewed["access_token"] != login["access_token"]
    assert (await client.get(PATIENTS, headers=bearer(renewed["access_token"]))).status_code == 200


async def test_refresh_still_works_after_the_access_token_expired(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Settings
) -> None:
    login = await logged_in(client)
    clock.set(NOW + timedelta(minutes=settings.access_token_minutes, hours=1))

    renewed = (await refresh(client, login["refresh_token"])).json()

    assert (await client.get(PATIENTS, headers=bearer(renewed["access_token"]))).status_code == 200


async def test_the_refreshed_token_belongs_to_the_same_account(client: httpx.AsyncClient) -> None:
    login = await logged_in(client)
    added = await client.post(PATIENTS, json=patient_body(), headers=bearer(login["access_token"]))
    assert added.status_code == 201, added.text
    renewed = (await refresh(client, login["refresh_token"])).json()

    listed = (await client.get(PATIENTS, headers=bearer(renewed["access_token"]))).json()

    assert [p["id"] for p in listed["items"]] == [added.json()["id"]]


async def test_an_access_token_cannot_be_used_to_refresh(client: httpx.AsyncClient) -> None:
    login = await logged_in(client)

    assert_error(await refresh(client, login["access_token"]), 401, "INVALID_TOKEN")


async def test_a_garbage_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    assert_error(await refresh(client, "not-a-token"), 401, "INVALID_TOKEN")


async def test_an_expired_refresh_token_is_refused(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Settings
) -> None:
    login = await logged_in(client)
    clock.set(NOW + timedelta(days=settings.refresh_token_days, seconds=1))

    assert_error(await refresh(client, login["refresh_token"]), 401, "TOKEN_EXPIRED")


async def test_a_refresh_token_of_an_account_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = forged_token(settings.secret_key, typ="refresh", sub="424242")

    assert_error(await refresh(client, token), 401, "ACCOUNT_NOT_FOUND")


async def test_refresh_without_a_token_is_a_validation_error(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/api/v1/auth/refresh", json={}), 422, "VALIDATION_ERROR")


# --- the access token on protected endpoints ----------------------------------------------------------


async def test_a_request_without_authorization_is_unauthenticated(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(PATIENTS), 401, "UNAUTHENTICATED")


async def test_a_non_bearer_authorization_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await client.get(PATIENTS, headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert_error(response, 401, "UNAUTHENTICATED")


async def test_a_garbage_access_token_is_invalid(client: httpx.AsyncClient) -> None:
    assert_error(await client.get(PATIENTS, headers=bearer("garbage.token.here")), 401, "INVALID_TOKEN")


async def test_a_token_signed_with_another_secret_is_invalid(client: httpx.AsyncClient) -> None:
    token = forged_token("some-other-secret-that-is-long-enough-0123456789")

    assert_error(await client.get(PATIENTS, headers=bearer(token)), 401, "INVALID_TOKEN")


async def test_a_refresh_token_cannot_be_used_as_an_access_token(client: httpx.AsyncClient) -> None:
    login = await logged_in(client)

    assert_error(await client.get(PATIENTS, headers=bearer(login["refresh_token"])), 401, "INVALID_TOKEN")


async def test_an_access_token_expires_after_the_configured_minutes(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Settings
) -> None:
    login = await logged_in(client)
    clock.set(NOW + timedelta(minutes=settings.access_token_minutes))

    assert_error(await client.get(PATIENTS, headers=bearer(login["access_token"])), 401, "TOKEN_EXPIRED")


async def test_an_access_token_works_until_just_before_it_expires(
    client: httpx.AsyncClient, clock: FrozenClock, settings: Settings
) -> None:
    login = await logged_in(client)
    clock.set(NOW + timedelta(minutes=settings.access_token_minutes) - timedelta(seconds=1))

    assert (await client.get(PATIENTS, headers=bearer(login["access_token"]))).status_code == 200


async def test_a_token_without_the_patient_role_is_forbidden(client: httpx.AsyncClient, settings: Settings) -> None:
    login = await logged_in(client)
    token = forged_token(settings.secret_key, role="staff", sub=str(login["account"]["id"]))

    assert_error(await client.get(PATIENTS, headers=bearer(token)), 403, "FORBIDDEN")


async def test_a_token_from_another_issuer_is_invalid(client: httpx.AsyncClient, settings: Settings) -> None:
    token = forged_token(settings.secret_key, iss="someone-else")

    assert_error(await client.get(PATIENTS, headers=bearer(token)), 401, "INVALID_TOKEN")


async def test_an_unsigned_token_is_invalid(client: httpx.AsyncClient) -> None:
    now = int(NOW.timestamp())
    claims = {"iss": "yiyue", "sub": "1", "role": "patient", "typ": "access", "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, None, algorithm="none")

    assert_error(await client.get(PATIENTS, headers=bearer(token)), 401, "INVALID_TOKEN")


async def test_a_token_issued_while_the_app_clock_runs_ahead_of_wall_time_is_accepted(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    clock.set(datetime.now(UTC) + timedelta(days=30))
    login = await logged_in(client)

    response = await client.get(PATIENTS, headers=bearer(login["access_token"]))

    assert response.status_code == 200, response.text
