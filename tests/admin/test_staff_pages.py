"""工作人员 in the console: a hospital administrator creates, renames, re-roles, resets and disables their
hospital's staff; the platform manages hospital administrators. Refusals appear beside the field in
Chinese and change nothing; disabling someone ends their logins at once."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin, console_login
from tests.factories import STAFF_PASSWORD, Catalog, make_catalog, make_staff
from yiyue.accounts.staff.models import StaffSession, StaffUser
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database

NEW_PASSWORD = "a-brand-new-secret-42"


@pytest.fixture
async def h1(db: Database) -> Catalog:
    return await make_catalog(db, name="第一医院")


@pytest.fixture
async def admin_user(db: Database, h1: Catalog) -> StaffUser:
    return await make_staff(db, catalog=h1, username="admin.one", display_name="一院管理员")


@pytest.fixture
async def admin(console: ConsoleLogin, admin_user: StaffUser) -> ConsoleClient:
    return await console(admin_user.username)


def new_form(username: str = "desk.new", **more: object) -> dict[str, object]:
    return {
        "username": username,
        "display_name": "导诊小王",
        "role": "front_desk",
        "password": STAFF_PASSWORD,
        "password_confirm": STAFF_PASSWORD,
        **more,
    }


def error_beside(page: str, field: str) -> str:
    """The error shown under the input named ``field``."""
    found = re.search(rf'name="{field}"[^>]*>\s*(?:</select>\s*)?<small class="error">([^<]+)</small>', page, re.S)
    if found is None:  # a select: the options sit between the field and its error
        found = re.search(rf'name="{field}".*?</select>\s*<small class="error">([^<]+)</small>', page, re.S)
    assert found, f"no error beside {field}"
    return found.group(1)


async def account(db: Database, username: str) -> StaffUser | None:
    async with db.session() as session:
        found: StaffUser | None = await session.scalar(select(StaffUser).where(StaffUser.username == username))
        return found


async def another_browser(app: object, username: str, password: str = STAFF_PASSWORD) -> httpx.AsyncClient:
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test")  # type: ignore[arg-type]
    await console_login(browser, username, password)
    return browser


async def test_the_list_shows_the_hospitals_staff(admin: ConsoleClient, db: Database, h1: Catalog) -> None:
    await make_staff(db, role="doctor", catalog=h1, username="dr.one", display_name="李医生")
    theirs = await make_catalog(db, name="第二医院")
    await make_staff(db, role="front_desk", catalog=theirs, username="desk.two")

    page = (await admin.get("/admin/staff")).text

    assert "dr.one" in page and "李明华（主任医师）" in page and "admin.one" in page
    assert "desk.two" not in page
    assert "共 2 条" in page


async def test_a_hospital_admin_creates_an_account_that_can_log_in(
    admin: ConsoleClient, db: Database, app: object, h1: Catalog
) -> None:
    answer = await admin.post("/admin/staff/new", new_form())

    assert answer.status_code == 303, answer.text
    created = await account(db, "desk.new")
    assert created is not None and created.role == "front_desk" and created.hospital_id == h1.hospital.id
    assert answer.headers["location"].startswith(f"/admin/staff/{created.id}?ok=")
    shown = await admin.get(answer.headers["location"])
    assert "已创建账号 desk.new" in shown.text and STAFF_PASSWORD not in shown.text
    browser = await another_browser(app, "desk.new")
    assert (await browser.get("/admin/")).status_code == 200
    await browser.aclose()


async def test_a_doctor_account_names_one_of_the_hospitals_doctors(
    admin: ConsoleClient, db: Database, h1: Catalog
) -> None:
    form = (await admin.get("/admin/staff/new")).text
    assert "李明华（心血管内科 · 主任医师）" in form and "王芳（心血管内科 · 主治医师）" in form

    missing = await admin.post("/admin/staff/new", new_form("dr.new", role="doctor"))
    made = await admin.post("/admin/staff/new", new_form("dr.new", role="doctor", doctor_id=h1.doctor.id))

    assert missing.status_code == 422 and error_beside(missing.text, "doctor_id") == "医生账号请选择对应的医生"
    assert made.status_code == 303
    created = await account(db, "dr.new")
    assert created is not None and created.doctor_id == h1.doctor.id
    assert "李明华（心血管内科" not in (await admin.get("/admin/staff/new")).text  # has an account now


async def test_a_weak_password_is_refused_beside_the_field_in_chinese(admin: ConsoleClient, db: Database) -> None:
    answer = await admin.post("/admin/staff/new", new_form(password="short", password_confirm="short"))

    assert answer.status_code == 422
    assert error_beside(answer.text, "password") == "密码长度须为10-256个字符"
    assert 'value="desk.new"' in answer.text and 'value="short"' not in answer.text  # never echoed back
    assert await account(db, "desk.new") is None


async def test_the_two_passwords_must_match(admin: ConsoleClient, db: Database) -> None:
    answer = await admin.post("/admin/staff/new", new_form(password_confirm="something-else-1"))

    assert answer.status_code == 422 and error_beside(answer.text, "password_confirm") == "两次输入的密码不一致"
    assert await account(db, "desk.new") is None


async def test_every_bad_field_is_named_at_once(admin: ConsoleClient) -> None:
    answer = await admin.post(
        "/admin/staff/new", new_form("No Good", display_name="", password="short", password_confirm="short")
    )

    assert answer.status_code == 422
    assert error_beside(answer.text, "username") == "用户名须为3-32位小写字母、数字或 _ . -"
    assert "显示名称不能为空" in error_beside(answer.text, "display_name")
    assert error_beside(answer.text, "password") == "密码长度须为10-256个字符"


async def test_a_taken_username_is_refused_beside_it(admin: ConsoleClient) -> None:
    answer = await admin.post("/admin/staff/new", new_form("admin.one"))

    assert answer.status_code == 422 and error_beside(answer.text, "username") == "该用户名已被使用"


async def test_renaming_and_changing_the_role(admin: ConsoleClient, db: Database, h1: Catalog) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")

    renamed = await admin.post(f"/admin/staff/{desk.id}", {"display_name": "导诊台小王", "role": "front_desk"})
    re_roled = await admin.post(
        f"/admin/staff/{desk.id}", {"display_name": "王医生", "role": "doctor", "doctor_id": h1.other_doctor.id}
    )

    assert renamed.status_code == 303 and re_roled.status_code == 303
    changed = await account(db, "desk.one")
    assert changed is not None and changed.display_name == "王医生"
    assert changed.role == "doctor" and changed.doctor_id == h1.other_doctor.id


async def test_one_cannot_change_ones_own_role_or_disable_oneself(admin: ConsoleClient, admin_user: StaffUser) -> None:
    page = (await admin.get(f"/admin/staff/{admin_user.id}")).text
    assert "不能修改自己的角色" in page and "不能停用自己的账号" in page and "停用账号</button>" not in page

    answer = await admin.post(f"/admin/staff/{admin_user.id}/disable")

    assert answer.status_code == 409 and "不能停用自己的账号或修改自己的角色" in answer.text


async def test_a_reset_password_is_typed_twice_and_ends_the_persons_logins(
    admin: ConsoleClient, db: Database, app: object, h1: Catalog
) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
    theirs = await another_browser(app, "desk.one")

    mismatch = await admin.post(
        f"/admin/staff/{desk.id}/password", {"password": NEW_PASSWORD, "password_confirm": "not-the-same-one"}
    )
    assert mismatch.status_code == 422 and error_beside(mismatch.text, "password_confirm") == "两次输入的密码不一致"
    assert (await theirs.get("/admin/")).status_code == 200

    done = await admin.post(
        f"/admin/staff/{desk.id}/password", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )

    assert done.status_code == 303
    assert (await theirs.get("/admin/")).status_code == 303  # logged out
    await theirs.aclose()
    again = await another_browser(app, "desk.one", NEW_PASSWORD)
    await again.aclose()
    async with db.session() as session:
        row = await session.scalar(select(AuditLog).where(AuditLog.action == "staff.reset_password"))
    assert row is not None and NEW_PASSWORD not in str(row.detail)


async def test_disabling_ends_the_persons_logins_at_once(
    admin: ConsoleClient, db: Database, app: object, h1: Catalog
) -> None:
    desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one", display_name="导诊小王")
    theirs = await another_browser(app, "desk.one")
    page = (await admin.get(f"/admin/staff/{desk.id}")).text
    assert "data-confirm=" in page and "当前登录</dt><dd>1 处" in page

    answer = await admin.post(f"/admin/staff/{desk.id}/disable")

    assert answer.status_code == 303
    assert "已停用" in (await admin.get(answer.headers["location"])).text
    async with db.session() as session:
        live = list(
            await session.scalars(
                select(StaffSession).where(StaffSession.staff_id == desk.id, StaffSession.ended_at.is_(None))
            )
        )
    assert live == []
    assert (await theirs.get("/admin/")).status_code == 303
    await theirs.aclose()

    enabled = await admin.post(f"/admin/staff/{desk.id}/enable")

    assert enabled.status_code == 303
    back = await another_browser(app, "desk.one")
    await back.aclose()


async def test_the_platform_manages_hospital_administrators(
    console: ConsoleLogin, db: Database, h1: Catalog, admin_user: StaffUser
) -> None:
    second = await make_catalog(db, name="第二医院")
    await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
    await make_staff(db, role="platform_admin", username="platform.zhou")
    platform = await console("platform.zhou")

    listed = (await platform.get("/admin/staff")).text
    form = (await platform.get("/admin/staff/new")).text
    made = await platform.post(
        "/admin/staff/new", new_form("admin.two", role="hospital_admin", hospital_id=second.hospital.id)
    )
    no_hospital = await platform.post("/admin/staff/new", new_form("admin.three", role="hospital_admin"))
    last = await platform.post(f"/admin/staff/{admin_user.id}/disable")

    assert "admin.one" in listed and "第一医院" in listed and "desk.one" not in listed
    assert "第二医院" in form and 'name="doctor_id"' not in form
    assert made.status_code == 303
    created = await account(db, "admin.two")
    assert created is not None and created.role == "hospital_admin" and created.hospital_id == second.hospital.id
    assert no_hospital.status_code == 422 and error_beside(no_hospital.text, "hospital_id") == "请选择所属医院"
    assert last.status_code == 409 and "最后一位在用的医院管理员" in last.text


async def test_another_hospitals_account_is_not_found(admin: ConsoleClient, db: Database) -> None:
    theirs = await make_catalog(db, name="第二医院")
    desk = await make_staff(db, role="front_desk", catalog=theirs, username="desk.two")

    assert (await admin.get(f"/admin/staff/{desk.id}")).status_code == 404
    assert (await admin.post(f"/admin/staff/{desk.id}/disable")).status_code == 404


@pytest.mark.parametrize("role", ["front_desk", "doctor"])
async def test_the_front_desk_and_doctors_cannot_open_the_page(
    console: ConsoleLogin, db: Database, h1: Catalog, role: str
) -> None:
    await make_staff(db, role=role, catalog=h1, username="someone")
    browser = await console("someone")

    assert (await browser.get("/admin/staff")).status_code == 403
    assert (await browser.post("/admin/staff/new", new_form())).status_code == 403
