"""Logging in to the console: the cookie session, its end, CSRF, and who may open which page."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleLogin, csrf_of
from tests.factories import STAFF_PASSWORD, make_catalog, make_staff
from yiyue.accounts.staff.models import StaffSession
from yiyue.admin import nav
from yiyue.admin.console import COOKIE
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database


async def test_a_page_without_a_login_sends_the_browser_to_the_login_form(client: httpx.AsyncClient) -> None:
    answer = await client.get("/admin/?day=2026-03-02")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/login?next=%2Fadmin%2F%3Fday%3D2026-03-02"


async def test_an_htmx_request_without_a_login_is_redirected_by_htmx(client: httpx.AsyncClient) -> None:
    answer = await client.get("/admin/", headers={"HX-Request": "true"})

    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"].startswith("/admin/login?next=")


async def test_the_login_form_is_in_chinese(client: httpx.AsyncClient) -> None:
    answer = await client.get("/admin/login")

    assert answer.status_code == 200
    assert "医院工作人员登录" in answer.text and 'name="password"' in answer.text


async def test_logging_in_sets_an_http_only_strict_cookie_and_opens_the_console(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await make_staff(db, role="platform_admin")

    answer = await client.post(
        "/admin/login", data={"username": staff.username, "password": STAFF_PASSWORD, "next": "/admin/hospitals"}
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/hospitals"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/admin" in cookie
    home = await client.get("/admin/")
    assert home.status_code == 200 and staff.display_name in home.text


async def test_a_wrong_password_shows_the_form_again_with_the_reason(client: httpx.AsyncClient, db: Database) -> None:
    staff = await make_staff(db, role="platform_admin")

    answer = await client.post("/admin/login", data={"username": staff.username, "password": "wrong-password-1"})

    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text and COOKIE not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/api/v1/hospitals"])
async def test_login_never_redirects_off_the_console(client: httpx.AsyncClient, db: Database, target: str) -> None:
    staff = await make_staff(db, role="platform_admin")

    answer = await client.post(
        "/admin/login", data={"username": staff.username, "password": STAFF_PASSWORD, "next": target}
    )

    assert answer.headers["location"] == "/admin/"


async def test_the_login_is_audited_with_the_client_address(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin
) -> None:
    staff = await make_staff(db, role="platform_admin")

    await console(staff.username)

    async with db.session() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.action == "staff.login"))
    assert row is not None and row.actor == f"staff:{staff.id}" and row.ip == "127.0.0.1"


async def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin
) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)

    answer = await client.post("/admin/logout", data={})

    assert answer.status_code == 403 and "页面已过期" in answer.text
    assert (await client.get("/admin/")).status_code == 200  # still logged in


async def test_a_wrong_csrf_header_is_refused(client: httpx.AsyncClient, db: Database, console: ConsoleLogin) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)

    answer = await client.post("/admin/logout", headers={"HX-Request": "true", "X-CSRF-Token": "forged"})

    assert answer.status_code == 403 and answer.headers["HX-Retarget"] == "#toast"


async def test_logout_ends_the_session_for_good(client: httpx.AsyncClient, db: Database, console: ConsoleLogin) -> None:
    staff = await make_staff(db, role="platform_admin")
    browser = await console(staff.username)
    token = client.cookies.get(COOKIE)

    answer = await browser.post("/admin/logout")

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/login"
    client.cookies.set(COOKIE, token or "", path="/admin")  # a copied cookie is worth nothing now
    assert (await client.get("/admin/")).status_code == 303


async def test_an_idle_session_ends(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin, clock: FrozenClock
) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)

    clock.advance(timedelta(minutes=29))
    assert (await client.get("/admin/")).status_code == 200
    clock.advance(timedelta(minutes=29))  # seen 29 minutes ago: still alive
    assert (await client.get("/admin/")).status_code == 200
    clock.advance(timedelta(minutes=31))
    assert (await client.get("/admin/")).status_code == 303


async def test_a_session_ends_after_a_working_day_however_busy(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin, clock: FrozenClock
) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)

    for _ in range(12 * 4):
        clock.advance(timedelta(minutes=15))
        await client.get("/admin/")

    assert (await client.get("/admin/")).status_code == 303


async def test_only_a_hash_of_the_cookie_is_stored(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin
) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)
    token = client.cookies.get(COOKIE)

    async with db.session() as session:
        stored = list(await session.scalars(select(StaffSession.token_hash)))
    assert token and stored and token not in stored


async def test_a_disabled_account_is_logged_out_at_its_next_request(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin
) -> None:
    staff = await make_staff(db, role="platform_admin")
    await console(staff.username)
    async with db.session() as session:
        (await session.get_one(type(staff), staff.id)).active = False

    assert (await client.get("/admin/")).status_code == 303


@pytest.mark.parametrize("role", ["platform_admin", "hospital_admin", "doctor", "front_desk"])
async def test_the_menu_shows_exactly_the_pages_of_the_role(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin, role: str
) -> None:
    catalog = await make_catalog(db)
    staff = await make_staff(db, role=role, catalog=catalog)
    browser = await console(staff.username)

    home = await browser.get("/admin/")

    for page in nav.PAGES:
        shown = f'href="{page.path}"' in home.text
        assert shown == (role in page.roles), (role, page.key)


async def test_the_page_carries_its_csrf_token_for_htmx(
    client: httpx.AsyncClient, db: Database, console: ConsoleLogin
) -> None:
    staff = await make_staff(db, role="platform_admin")
    browser = await console(staff.username)

    home = await browser.get("/admin/")

    assert csrf_of(home.text) == browser.csrf and f'"X-CSRF-Token": "{browser.csrf}"'.lower() in home.text.lower()
