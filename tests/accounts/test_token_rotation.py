"""Refresh tokens rotate, reuse revokes the family, logout revokes (accounts.tokens, decision 0014).

Before: a refresh token worked any number of times for 30 days; there was no rotation, revocation or logout.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.factories import FAST_HASHER, STAFF_PASSWORD, make_catalog, make_staff
from yiyue.accounts.models import RefreshToken, TokenFamily
from yiyue.accounts.staff import passwords
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.security import issue_pair

PATIENTS = "/api/v1/me/patients"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


async def logged_in(client: httpx.AsyncClient) -> dict[str, Any]:
    minted = await client.post(
        f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": f"o-{uuid.uuid4().hex[:10]}"}
    )
    answer = await client.post("/api/v1/auth/wechat-login", json={"code": minted.json()["code"]})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


def refused(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def families(db: Database) -> list[TokenFamily]:
    async with db.session() as session:
        return list(await session.scalars(select(TokenFamily).order_by(TokenFamily.id)))


async def test_a_refresh_rotates_and_the_old_token_is_spent(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    login = await logged_in(client)

    renewed = await refresh(client, login["refresh_token"])

    assert renewed.status_code == 200, renewed.text
    pair = renewed.json()
    assert pair["refresh_token"] != login["refresh_token"] and pair["access_token"] != login["access_token"]
    assert (await client.get(PATIENTS, headers=bearer(pair["access_token"]))).status_code == 200
    # The next rotation takes the new token, and the one after takes its successor.
    again = await refresh(client, pair["refresh_token"])
    assert again.status_code == 200
    assert (await refresh(client, again.json()["refresh_token"])).status_code == 200


async def test_reusing_a_rotated_token_revokes_the_whole_family(
    client: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    login = await logged_in(client)
    owner = (await refresh(client, login["refresh_token"])).json()  # the owner rotates
    clock.advance(timedelta(minutes=5))

    stolen = refused(await refresh(client, login["refresh_token"]), "REFRESH_TOKEN_REUSED")  # a copy of the old one

    assert stolen["detail"] == {"family_revoked": True}
    assert "请重新登录" in stolen["message"]
    refused(await refresh(client, owner["refresh_token"]), "SESSION_REVOKED")
    refused(await client.get(PATIENTS, headers=bearer(owner["access_token"])), "SESSION_REVOKED")
    refused(await client.get(PATIENTS, headers=bearer(login["access_token"])), "SESSION_REVOKED")
    (family,) = await families(db)
    assert family.revoked_reason == "reuse" and family.revoked_at is not None
    # A new login is a new family and works.
    fresh = await logged_in(client)
    assert (await client.get(PATIENTS, headers=bearer(fresh["access_token"]))).status_code == 200


async def test_two_refreshes_with_one_token_at_once_give_one_pair(
    client: httpx.AsyncClient, clock: FrozenClock, db: Database
) -> None:
    login = await logged_in(client)

    answers = await asyncio.gather(*(refresh(client, login["refresh_token"]) for _ in range(20)))

    assert Counter(a.status_code for a in answers) == {200: 1, 401: 19}
    assert {a.json()["code"] for a in answers if a.status_code == 401} == {"REFRESH_TOKEN_REUSED"}
    winner = next(a.json() for a in answers if a.status_code == 200)
    # Racing refreshes (within the grace) are refused without ending the winner's session.
    assert (await client.get(PATIENTS, headers=bearer(winner["access_token"]))).status_code == 200
    assert (await refresh(client, winner["refresh_token"])).status_code == 200
    async with db.session() as session:
        rows = list(await session.scalars(select(RefreshToken).order_by(RefreshToken.issued_at)))
    assert len(rows) == 3 and sum(r.used_at is not None for r in rows) == 2


async def test_logout_with_the_access_token_ends_the_session(client: httpx.AsyncClient, db: Database) -> None:
    login = await logged_in(client)
    other = await logged_in(client)

    answer = await client.post(LOGOUT, headers=bearer(login["access_token"]))

    assert answer.status_code == 204 and answer.content == b""
    refused(await client.get(PATIENTS, headers=bearer(login["access_token"])), "SESSION_REVOKED")
    refused(await refresh(client, login["refresh_token"]), "SESSION_REVOKED")
    assert (await client.get(PATIENTS, headers=bearer(other["access_token"]))).status_code == 200
    assert [f.revoked_reason for f in await families(db)] == ["logout", ""]
    assert (await client.post(LOGOUT, headers=bearer(login["access_token"]))).status_code == 204  # twice is fine


async def test_logout_with_the_refresh_token_in_the_body(client: httpx.AsyncClient) -> None:
    login = await logged_in(client)

    assert (await client.post(LOGOUT, json={"refresh_token": login["refresh_token"]})).status_code == 204

    refused(await client.get(PATIENTS, headers=bearer(login["access_token"])), "SESSION_REVOKED")


async def test_logout_needs_a_token(client: httpx.AsyncClient) -> None:
    refused(await client.post(LOGOUT), "UNAUTHENTICATED")
    refused(await client.post(LOGOUT, json={"refresh_token": "garbage"}), "INVALID_TOKEN")


async def test_a_refresh_token_from_before_families_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    login = await logged_in(client)
    legacy = issue_pair(
        secret=settings.secret_key,
        subject_id=login["account"]["id"],
        role="patient",
        now=NOW,
        access_ttl=timedelta(hours=2),
        refresh_ttl=timedelta(days=30),
    )

    refused(await refresh(client, legacy.refresh_token), "INVALID_TOKEN")
    # Its access token lives out its two hours (nothing to revoke it by).
    assert (await client.get(PATIENTS, headers=bearer(legacy.access_token))).status_code == 200


async def test_another_process_sees_a_revocation_within_its_recheck(settings: Settings, clock: FrozenClock) -> None:
    one = create_app(settings, clock=clock)
    two = create_app(settings.model_copy(update={"revoked_family_recheck_seconds": 0.2}), clock=clock)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://one.test") as first,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://two.test") as second,
        ):
            login = await logged_in(first)
            assert (await second.get(PATIENTS, headers=bearer(login["access_token"]))).status_code == 200

            assert (await first.post(LOGOUT, headers=bearer(login["access_token"]))).status_code == 204
            await asyncio.sleep(0.3)

            refused(await second.get(PATIENTS, headers=bearer(login["access_token"])), "SESSION_REVOKED")
    finally:
        for app in (one, two):
            await app.state.wechat.aclose()
            await app.state.db.dispose()


# --- staff ---------------------------------------------------------------------------------------------


@pytest.fixture
async def staff_user(db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)
    catalog = await make_catalog(db)
    await make_staff(db, catalog=catalog, username="admin.zhou")
    return "admin.zhou"


async def staff_login(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    answer = await client.post("/api/v1/staff/auth/login", json={"username": username, "password": STAFF_PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_staff_tokens_rotate_and_reuse_revokes(
    client: httpx.AsyncClient, clock: FrozenClock, staff_user: str, settings: Settings
) -> None:
    login = await staff_login(client, staff_user)
    assert login["refresh_expires_in"] == settings.staff_session_max_hours * 3600

    renewed = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    pair = renewed.json()
    assert pair["staff"]["username"] == staff_user
    assert (await client.get("/api/v1/staff/me", headers=bearer(pair["access_token"]))).status_code == 200
    clock.advance(timedelta(minutes=1))

    reused = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": login["refresh_token"]})

    refused(reused, "REFRESH_TOKEN_REUSED")
    refused(await client.get("/api/v1/staff/me", headers=bearer(pair["access_token"])), "SESSION_REVOKED")


async def test_staff_logout_revokes(client: httpx.AsyncClient, staff_user: str) -> None:
    login = await staff_login(client, staff_user)

    assert (await client.post("/api/v1/staff/auth/logout", headers=bearer(login["access_token"]))).status_code == 204

    refused(await client.get("/api/v1/staff/me", headers=bearer(login["access_token"])), "SESSION_REVOKED")
    again = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": login["refresh_token"]})
    refused(again, "SESSION_REVOKED")


async def test_a_patient_refresh_token_is_no_staff_token(client: httpx.AsyncClient, staff_user: str) -> None:
    patient = await logged_in(client)

    answer = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": patient["refresh_token"]})

    refused(answer, "INVALID_TOKEN")
    staff = await staff_login(client, staff_user)
    refused(await refresh(client, staff["refresh_token"]), "ACCOUNT_NOT_FOUND")


async def test_a_staff_login_ends_after_the_working_day_however_often_it_is_refreshed(
    client: httpx.AsyncClient, clock: FrozenClock, staff_user: str, settings: Settings
) -> None:
    start = clock.now()
    login = await staff_login(client, staff_user)
    clock.set(start + timedelta(hours=settings.staff_session_max_hours - 1))
    renewed = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_expires_in"] == 3600  # what is left of the day, not another day

    clock.set(start + timedelta(hours=settings.staff_session_max_hours, minutes=1))
    late = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": renewed.json()["refresh_token"]})

    refused(late, "TOKEN_EXPIRED")


async def test_a_password_reset_ends_the_staff_users_api_logins(
    client: httpx.AsyncClient, db: Database, clock: FrozenClock, staff_user: str
) -> None:
    await make_staff(db, role="platform_admin", username="platform.li")
    clerk = await staff_login(client, staff_user)
    platform = await staff_login(client, "platform.li")

    reset = await client.post(
        f"/api/v1/staff/accounts/{clerk['staff']['id']}/password",
        json={"password": "a-new-password-2026"},
        headers=bearer(platform["access_token"]),
    )
    assert reset.status_code in (200, 204), reset.text
    clock.set(clock.now() + timedelta(seconds=10))  # past every process's recheck of revoked logins

    refused(await client.get("/api/v1/staff/me", headers=bearer(clerk["access_token"])), "SESSION_REVOKED")
    stolen = await client.post("/api/v1/staff/auth/refresh", json={"refresh_token": clerk["refresh_token"]})
    refused(stolen, "SESSION_REVOKED")
