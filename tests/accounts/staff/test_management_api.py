"""Managing staff accounts through the staff API: the platform manages hospital administrators, a hospital
administrator their own hospital's staff; another hospital's accounts are not found, the front desk and
doctors may not manage anyone; passwords are never shown or audited, and a disabled account, a new
password or a new role ends the person's logins at once."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.factories import FAST_HASHER, STAFF_PASSWORD, Catalog, make_catalog, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff.models import StaffSession, StaffUser
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database

CJK = re.compile(r"[\u4e00-\u9fff]")
ACCOUNTS = "/api/v1/staff/accounts"
NEW_PASSWORD = "a-brand-new-secret-42"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def h1(db: Database) -> Catalog:
    return await make_catalog(db, name="第一医院")


@pytest.fixture
async def h2(db: Database) -> Catalog:
    return await make_catalog(db, name="第二医院")


@pytest.fixture
async def admin(db: Database, h1: Catalog) -> StaffUser:
    return await make_staff(db, catalog=h1, username="admin.one", display_name="一院管理员")


@pytest.fixture
async def auth(client: httpx.AsyncClient, admin: StaffUser) -> dict[str, str]:
    return await staff_login(client, admin.username)


@pytest.fixture
async def platform(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    await make_staff(db, role="platform_admin", username="platform.zhou")
    return await staff_login(client, "platform.zhou")


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and CJK.search(body["message"]), body
    return body


def new_account(username: str, role: str = "front_desk", **more: object) -> dict[str, object]:
    return {"username": username, "password": STAFF_PASSWORD, "role": role, "display_name": "新同事", **more}


async def audit_rows(db: Database, action: str) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


async def live_sessions(db: Database, staff_id: int) -> int:
    async with db.session() as session:
        rows = await session.scalars(
            select(StaffSession).where(StaffSession.staff_id == staff_id, StaffSession.ended_at.is_(None))
        )
        return len(list(rows))


async def console_login(app: Any, username: str, password: str = STAFF_PASSWORD) -> None:
    """A console (cookie) login of the person, in a browser of their own."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as browser:
        answer = await browser.post("/admin/login", data={"username": username, "password": password})
        assert answer.status_code == 303, answer.text


class TestList:
    async def test_a_hospital_admin_sees_their_hospitals_staff_only(self, client, db, h1, h2, admin, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        doctor = await make_staff(db, role="doctor", catalog=h1, username="dr.one")
        await make_staff(db, role="front_desk", catalog=h2, username="desk.two")
        await make_staff(db, role="platform_admin", username="platform.zhou")

        answer = await client.get(ACCOUNTS, headers=auth)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 3
        assert [a["username"] for a in body["items"]] == ["dr.one", "desk.one", "admin.one"]
        item = next(a for a in body["items"] if a["id"] == doctor.id)
        assert item["role"] == "doctor" and item["role_label"] == "医生" and item["doctor_id"] == h1.doctor.id
        assert item["active"] is True and item["hospital_id"] == h1.hospital.id
        assert "password" not in answer.text and "argon2" not in answer.text
        assert desk.id in [a["id"] for a in body["items"]]

    async def test_filters_by_role_state_and_name(self, client, db, h1, admin, auth):
        await make_staff(db, role="front_desk", catalog=h1, username="desk.one", display_name="导诊小王")
        await make_staff(db, role="front_desk", catalog=h1, username="desk.two", display_name="挂号小李")

        async def names(query: str) -> list[str]:
            answer = await client.get(f"{ACCOUNTS}?{query}", headers=auth)
            assert answer.status_code == 200, answer.text
            return [a["username"] for a in answer.json()["items"]]

        assert await names("role=front_desk") == ["desk.one", "desk.two"]
        assert await names("q=小李") == ["desk.two"]
        assert await names("q=ONE") == ["desk.one", "admin.one"]
        assert await names("active=false") == []
        assert await names("page=2&page_size=2") == ["admin.one"]

    async def test_the_platform_sees_the_hospital_administrators_of_every_hospital(
        self, client, db, h1, h2, admin, platform
    ):
        other = await make_staff(db, catalog=h2, username="admin.two")
        await make_staff(db, role="front_desk", catalog=h1, username="desk.one")

        everyone = (await client.get(ACCOUNTS, headers=platform)).json()
        second = (await client.get(f"{ACCOUNTS}?hospital_id={h2.hospital.id}", headers=platform)).json()

        assert [a["username"] for a in everyone["items"]] == ["admin.one", "admin.two"]
        assert [a["id"] for a in second["items"]] == [other.id]

    async def test_naming_another_hospital_is_not_found(self, client, h2, auth):
        answer = await client.get(f"{ACCOUNTS}?hospital_id={h2.hospital.id}", headers=auth)

        assert_error(answer, 404, "HOSPITAL_NOT_FOUND")

    async def test_a_bad_filter_is_refused(self, client, auth):
        assert_error(await client.get(f"{ACCOUNTS}?role=boss", headers=auth), 422, "VALIDATION_ERROR")


class TestCreate:
    async def test_a_hospital_admin_creates_a_front_desk_account_that_can_log_in(self, client, db, h1, admin, auth):
        answer = await client.post(ACCOUNTS, json=new_account("desk.new"), headers=auth)

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["username"] == "desk.new" and body["role"] == "front_desk" and body["role_label"] == "导诊/挂号"
        assert body["hospital_id"] == h1.hospital.id and body["active"] is True and "password" not in body
        await staff_login(client, "desk.new")
        [row] = await audit_rows(db, "staff.create")
        assert row.actor == f"staff:{admin.id}" and row.subject == f"staff:{body['id']}"
        assert row.hospital_id == h1.hospital.id
        assert row.detail["after"]["role"] == "front_desk" and STAFF_PASSWORD not in str(row.detail)

    async def test_a_doctor_account_is_linked_to_a_doctor_of_the_hospital(self, client, h1, h2, auth):
        mine = await client.post(ACCOUNTS, json=new_account("dr.li", "doctor", doctor_id=h1.doctor.id), headers=auth)
        again = await client.post(ACCOUNTS, json=new_account("dr.li2", "doctor", doctor_id=h1.doctor.id), headers=auth)
        theirs = await client.post(ACCOUNTS, json=new_account("dr.x", "doctor", doctor_id=h2.doctor.id), headers=auth)
        nobody = await client.post(ACCOUNTS, json=new_account("dr.y", "doctor"), headers=auth)

        assert mine.status_code == 201 and mine.json()["doctor_id"] == h1.doctor.id
        assert_error(again, 409, "DOCTOR_HAS_ACCOUNT")
        assert_error(theirs, 422, "UNKNOWN_DOCTOR")
        assert_error(nobody, 422, "INVALID_STAFF_SCOPE")

    async def test_a_hospital_admin_creates_staff_of_their_own_hospital_only(self, client, h1, h2, auth):
        elsewhere = await client.post(ACCOUNTS, json=new_account("desk.x", hospital_id=h2.hospital.id), headers=auth)
        platform = await client.post(ACCOUNTS, json=new_account("boss", "platform_admin"), headers=auth)
        own = await client.post(ACCOUNTS, json=new_account("desk.y", hospital_id=h1.hospital.id), headers=auth)

        assert_error(elsewhere, 404, "HOSPITAL_NOT_FOUND")
        assert_error(platform, 403, "ROLE_NOT_ASSIGNABLE")
        assert own.status_code == 201

    async def test_the_platform_creates_hospital_administrators_only(self, client, db, h2, platform):
        made = await client.post(
            ACCOUNTS, json=new_account("admin.two", "hospital_admin", hospital_id=h2.hospital.id), headers=platform
        )
        desk = await client.post(ACCOUNTS, json=new_account("desk.two", hospital_id=h2.hospital.id), headers=platform)
        homeless = await client.post(ACCOUNTS, json=new_account("admin.x", "hospital_admin"), headers=platform)
        nowhere = await client.post(
            ACCOUNTS, json=new_account("admin.y", "hospital_admin", hospital_id=999999), headers=platform
        )

        assert made.status_code == 201 and made.json()["hospital_id"] == h2.hospital.id
        [row] = await audit_rows(db, "staff.create")
        assert row.hospital_id == h2.hospital.id  # the new admin's hospital reads it in its own log
        assert_error(desk, 403, "ROLE_NOT_ASSIGNABLE")
        assert_error(homeless, 422, "INVALID_STAFF_SCOPE")
        assert_error(nowhere, 422, "UNKNOWN_HOSPITAL")

    @pytest.mark.parametrize(
        ("change", "status", "code"),
        [
            ({"password": "short"}, 422, "WEAK_PASSWORD"),
            ({"username": "Not Valid!"}, 422, "INVALID_USERNAME"),
            ({"username": "admin.one"}, 409, "USERNAME_TAKEN"),
            ({"role": "janitor"}, 422, "INVALID_ROLE"),
            ({"display_name": "   "}, 422, "INVALID_DISPLAY_NAME"),
            ({"is_root": True}, 422, "VALIDATION_ERROR"),
        ],
    )
    async def test_bad_input_is_refused_and_creates_nothing(self, client, db, auth, change, status, code):
        answer = await client.post(ACCOUNTS, json={**new_account("desk.new"), **change}, headers=auth)

        assert_error(answer, status, code)
        assert await audit_rows(db, "staff.create") == []


class TestScope:
    async def test_another_hospitals_account_is_not_found_whatever_is_asked(self, client, db, h2, auth):
        theirs = await make_staff(db, role="front_desk", catalog=h2, username="desk.two")
        path = f"{ACCOUNTS}/{theirs.id}"

        assert_error(await client.get(path, headers=auth), 404, "STAFF_NOT_FOUND")
        assert_error(await client.patch(path, json={"display_name": "改名"}, headers=auth), 404, "STAFF_NOT_FOUND")
        assert_error(
            await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=auth), 404, "STAFF_NOT_FOUND"
        )
        assert_error(await client.post(f"{path}/disable", headers=auth), 404, "STAFF_NOT_FOUND")
        assert_error(await client.post(f"{path}/enable", headers=auth), 404, "STAFF_NOT_FOUND")
        assert (await stored(db, theirs.id)).display_name == "desk.two"

    async def test_the_platform_does_not_reach_other_roles(self, client, db, h1, platform):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")

        assert_error(await client.get(f"{ACCOUNTS}/{desk.id}", headers=platform), 404, "STAFF_NOT_FOUND")

    @pytest.mark.parametrize("role", ["front_desk", "doctor"])
    async def test_the_front_desk_and_doctors_manage_no_one(self, client, db, h1, admin, role):
        await make_staff(db, role=role, catalog=h1, username="someone")
        auth = await staff_login(client, "someone")
        path = f"{ACCOUNTS}/{admin.id}"

        for answer in (
            await client.get(ACCOUNTS, headers=auth),
            await client.post(ACCOUNTS, json=new_account("desk.new"), headers=auth),
            await client.get(path, headers=auth),
            await client.patch(path, json={"display_name": "改名"}, headers=auth),
            await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=auth),
            await client.post(f"{path}/disable", headers=auth),
        ):
            assert_error(answer, 403, "FORBIDDEN_ROLE")

    async def test_without_a_staff_token_nothing_is_answered(self, client):
        assert_error(await client.get(ACCOUNTS), 401, "UNAUTHENTICATED")


class TestUpdate:
    async def test_renaming_keeps_the_logins(self, app, client, db, h1, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        await console_login(app, "desk.one")

        answer = await client.patch(f"{ACCOUNTS}/{desk.id}", json={"display_name": "导诊台小王"}, headers=auth)

        assert answer.status_code == 200 and answer.json()["display_name"] == "导诊台小王"
        assert await live_sessions(db, desk.id) == 1
        [row] = await audit_rows(db, "staff.update")
        assert (
            row.detail["before"]["display_name"] == "desk.one" and row.detail["after"]["display_name"] == "导诊台小王"
        )

    async def test_a_new_role_ends_the_persons_logins(self, app, client, db, h1, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        await console_login(app, "desk.one")
        token = await staff_login(client, "desk.one")

        answer = await client.patch(
            f"{ACCOUNTS}/{desk.id}", json={"role": "doctor", "doctor_id": h1.other_doctor.id}, headers=auth
        )

        assert answer.status_code == 200, answer.text
        assert answer.json()["role"] == "doctor" and answer.json()["doctor_id"] == h1.other_doctor.id
        assert await live_sessions(db, desk.id) == 0
        assert (await client.get("/api/v1/staff/me", headers=token)).status_code == 401  # the old role's token
        [row] = await audit_rows(db, "staff.update")
        assert row.detail["before"]["role"] == "front_desk" and row.detail["after"]["role"] == "doctor"
        assert row.detail["sessions_ended"] == 1

    async def test_a_doctor_account_becomes_front_desk_and_frees_its_doctor(self, client, db, h1, auth):
        doctor = await make_staff(db, role="doctor", catalog=h1, username="dr.one")

        answer = await client.patch(f"{ACCOUNTS}/{doctor.id}", json={"role": "front_desk"}, headers=auth)
        linked = await client.post(ACCOUNTS, json=new_account("dr.new", "doctor", doctor_id=h1.doctor.id), headers=auth)

        assert answer.status_code == 200 and answer.json()["doctor_id"] is None
        assert linked.status_code == 201

    async def test_bad_changes_are_refused_and_change_nothing(self, client, db, h1, h2, admin, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        await make_staff(db, role="doctor", catalog=h1, username="dr.one")
        path = f"{ACCOUNTS}/{desk.id}"

        assert_error(
            await client.patch(path, json={"role": "platform_admin"}, headers=auth), 403, "ROLE_NOT_ASSIGNABLE"
        )
        assert_error(await client.patch(path, json={"role": "doctor"}, headers=auth), 422, "INVALID_STAFF_SCOPE")
        assert_error(
            await client.patch(path, json={"role": "doctor", "doctor_id": h1.doctor.id}, headers=auth),
            409,
            "DOCTOR_HAS_ACCOUNT",
        )
        assert_error(
            await client.patch(path, json={"role": "doctor", "doctor_id": h2.doctor.id}, headers=auth),
            422,
            "UNKNOWN_DOCTOR",
        )
        assert_error(await client.patch(path, json={"display_name": ""}, headers=auth), 422, "INVALID_DISPLAY_NAME")
        assert_error(
            await client.patch(path, json={"doctor_id": h1.other_doctor.id}, headers=auth), 422, "INVALID_STAFF_SCOPE"
        )
        assert_error(
            await client.patch(f"{ACCOUNTS}/{admin.id}", json={"role": "front_desk"}, headers=auth),
            409,
            "NOT_ON_YOURSELF",
        )
        assert (await stored(db, desk.id)).role == "front_desk"
        assert await audit_rows(db, "staff.update") == []

    async def test_the_platform_renames_but_does_not_re_role(self, client, db, admin, platform):
        renamed = await client.patch(f"{ACCOUNTS}/{admin.id}", json={"display_name": "院办主任"}, headers=platform)
        demoted = await client.patch(f"{ACCOUNTS}/{admin.id}", json={"role": "front_desk"}, headers=platform)

        assert renamed.status_code == 200 and renamed.json()["display_name"] == "院办主任"
        assert_error(demoted, 403, "ROLE_NOT_ASSIGNABLE")


class TestPassword:
    async def test_a_reset_password_replaces_the_old_one_and_ends_the_logins(self, app, client, db, h1, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        await console_login(app, "desk.one")

        answer = await client.post(f"{ACCOUNTS}/{desk.id}/password", json={"password": NEW_PASSWORD}, headers=auth)

        assert answer.status_code == 204 and answer.content == b""
        old = await client.post("/api/v1/staff/auth/login", json={"username": "desk.one", "password": STAFF_PASSWORD})
        assert old.status_code == 401
        await staff_login(client, "desk.one", NEW_PASSWORD)
        assert await live_sessions(db, desk.id) == 0
        [row] = await audit_rows(db, "staff.reset_password")
        assert row.subject == f"staff:{desk.id}" and NEW_PASSWORD not in str(row.detail)

    async def test_a_weak_password_is_refused(self, client, db, h1, auth):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")

        answer = await client.post(f"{ACCOUNTS}/{desk.id}/password", json={"password": "123456"}, headers=auth)

        body = assert_error(answer, 422, "WEAK_PASSWORD")
        assert "10" in body["message"]
        await staff_login(client, "desk.one")


class TestDisable:
    async def test_disabling_ends_the_persons_logins_at_once_and_enabling_lets_them_back(
        self, app, client, db, h1, auth
    ):
        desk = await make_staff(db, role="front_desk", catalog=h1, username="desk.one")
        await console_login(app, "desk.one")
        token = await staff_login(client, "desk.one")

        disabled = await client.post(f"{ACCOUNTS}/{desk.id}/disable", headers=auth)

        assert disabled.status_code == 200 and disabled.json()["active"] is False
        assert await live_sessions(db, desk.id) == 0
        # Its API logins are ended with it (a stolen refresh token must not outlive the account's disabling).
        assert_error(await client.get("/api/v1/staff/me", headers=token), 401, "SESSION_REVOKED")
        [row] = await audit_rows(db, "staff.disable")
        assert row.detail == {"username": "desk.one", "sessions_ended": 1}

        enabled = await client.post(f"{ACCOUNTS}/{desk.id}/enable", headers=auth)

        assert enabled.status_code == 200 and enabled.json()["active"] is True
        await staff_login(client, "desk.one")
        assert len(await audit_rows(db, "staff.enable")) == 1

    async def test_no_one_disables_themselves(self, client, db, admin, auth):
        assert_error(await client.post(f"{ACCOUNTS}/{admin.id}/disable", headers=auth), 409, "NOT_ON_YOURSELF")
        assert (await stored(db, admin.id)).active is True

    async def test_a_hospital_keeps_one_active_administrator(self, client, db, h1, admin, platform):
        second = await make_staff(db, catalog=h1, username="admin.second")

        first_goes = await client.post(f"{ACCOUNTS}/{second.id}/disable", headers=platform)
        last_goes = await client.post(f"{ACCOUNTS}/{admin.id}/disable", headers=platform)

        assert first_goes.status_code == 200
        assert_error(last_goes, 409, "LAST_HOSPITAL_ADMIN")
        assert (await stored(db, admin.id)).active is True


async def test_the_openapi_document_lists_the_errors_of_creating_an_account(client) -> None:
    spec = (await client.get("/openapi.json")).json()

    codes = {
        code
        for answer in spec["paths"][ACCOUNTS]["post"]["responses"].values()
        for code in answer.get("x-error-codes", [])
    }

    assert {"ROLE_NOT_ASSIGNABLE", "WEAK_PASSWORD", "UNKNOWN_DOCTOR", "DOCTOR_HAS_ACCOUNT", "FORBIDDEN_ROLE"} <= codes


async def stored(db: Database, staff_id: int) -> StaffUser:
    async with db.session() as session:
        return await session.get_one(StaffUser, staff_id)
