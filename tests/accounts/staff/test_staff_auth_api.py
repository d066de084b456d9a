"""Staff accounts: creating them (validation), logging in, what their tokens are and are not good for."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import NOW, Login
from tests.factories import FAST_HASHER, STAFF_PASSWORD, Catalog, make_catalog, make_staff, staff_login
from yiyue.accounts.staff import errors as staff_errors
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.hospitals.staff_accounts import create_staff_account

CJK = re.compile(r"[\u4e00-\u9fff]")
LOGIN = "/api/v1/staff/auth/login"
ME = "/api/v1/staff/me"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and CJK.search(body["message"]), body
    return body


async def login(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    return await client.post(LOGIN, json={"username": username, "password": password})


async def stored(db: Database, staff_id: int) -> StaffUser:
    async with db.session() as session:
        return await session.get_one(StaffUser, staff_id)


async def set_columns(db: Database, staff_id: int, **values: object) -> None:
    async with db.session() as session:
        await session.execute(update(StaffUser).where(StaffUser.id == staff_id).values(**values))


class TestLogin:
    async def test_answers_a_bearer_token_and_who_logged_in(self, client, db, catalog, settings):
        admin = await make_staff(db, catalog=catalog, username="admin.li", display_name="李主任")

        answer = await login(client, "admin.li")

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in", "staff"}
        assert body["token_type"] == "bearer" and body["expires_in"] == settings.access_token_minutes * 60
        assert body["staff"] == {
            "id": admin.id,
            "username": "admin.li",
            "display_name": "李主任",
            "role": "hospital_admin",
            "hospital_id": catalog.hospital.id,
            "doctor_id": None,
        }
        claims = jwt.decode(
            body["access_token"], settings.secret_key, algorithms=["HS256"], options={"verify_exp": False}
        )
        assert claims["role"] == "hospital_admin" and claims["sub"] == str(admin.id) and claims["typ"] == "access"
        assert (await stored(db, admin.id)).last_login_at == NOW

    async def test_the_token_opens_the_staff_api(self, client, db, catalog):
        doctor = await make_staff(db, role="doctor", catalog=catalog, username="dr.li")

        me = await client.get(ME, headers=await staff_login(client, "dr.li"))

        assert me.status_code == 200
        assert me.json()["id"] == doctor.id and me.json()["doctor_id"] == catalog.doctor.id

    async def test_a_platform_admin_has_no_hospital(self, client, db):
        await make_staff(db, role="platform_admin", username="root")

        body = (await login(client, "root")).json()

        assert body["staff"]["role"] == "platform_admin" and body["staff"]["hospital_id"] is None

    async def test_the_username_is_matched_without_case_or_surrounding_spaces(self, client, db, catalog):
        await make_staff(db, catalog=catalog, username="nurse.wang")

        assert (await login(client, "  Nurse.Wang ")).status_code == 200

    async def test_unknown_user_and_wrong_password_fail_alike(self, client, db, catalog):
        await make_staff(db, catalog=catalog, username="admin.li")

        unknown = await login(client, "nobody")
        wrong = await login(client, "admin.li", "not-the-password")

        assert assert_error(unknown, 401, "INVALID_CREDENTIALS")["message"] == "用户名或密码错误"
        assert unknown.json() == wrong.json()

    async def test_an_unknown_user_costs_a_hash_verification_too(self, client, db, catalog, monkeypatch):
        calls: list[str] = []

        class Counting(PasswordHasher):
            def verify(self, hash: str | bytes, password: str | bytes) -> bool:
                calls.append("verify")
                return super().verify(hash, password)

        monkeypatch.setattr(passwords, "hasher", Counting(time_cost=1, memory_cost=1024, parallelism=1))
        await make_staff(db, catalog=catalog, username="admin.li")

        await login(client, "nobody")
        await login(client, "admin.li", "not-the-password")

        assert calls == ["verify", "verify"]

    async def test_a_disabled_account_is_refused_but_only_with_the_right_password(self, client, db, catalog):
        admin = await make_staff(db, catalog=catalog, username="gone")
        await set_columns(db, admin.id, active=False)

        right = await login(client, "gone")
        wrong = await login(client, "gone", "not-the-password")

        assert_error(right, 403, "STAFF_DISABLED")
        assert_error(wrong, 401, "INVALID_CREDENTIALS")
        assert (await stored(db, admin.id)).last_login_at is None

    @pytest.mark.parametrize(
        "body",
        [{}, {"username": "admin"}, {"password": "x" * 12}, {"username": "", "password": "x"}, {"username": 1}],
    )
    async def test_malformed_logins_are_validation_errors(self, client, body):
        assert_error(await client.post(LOGIN, json=body), 422, "VALIDATION_ERROR")

    async def test_a_hash_made_with_older_parameters_is_replaced_at_login(self, client, db, catalog, monkeypatch):
        admin = await make_staff(db, catalog=catalog, username="admin.li")
        old_hash = (await stored(db, admin.id)).password_hash
        stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
        monkeypatch.setattr(passwords, "hasher", stronger)

        assert (await login(client, "admin.li")).status_code == 200
        new_hash = (await stored(db, admin.id)).password_hash
        assert (await login(client, "admin.li")).status_code == 200

        assert new_hash != old_hash and not stronger.check_needs_rehash(new_hash)
        assert (await stored(db, admin.id)).password_hash == new_hash  # no rehash when nothing changed


class TestTokens:
    async def test_a_patient_token_never_passes_for_staff_even_with_the_same_id(self, client, db, catalog, login):
        admin = await make_staff(db, catalog=catalog)
        patient = await login()  # the first account: id 1, like the first staff user

        answer = await client.get(ME, headers=patient)

        assert admin.id == 1
        assert_error(answer, 403, "STAFF_ONLY")

    async def test_a_staff_token_never_passes_for_a_patient(self, client, db, catalog):
        await make_staff(db, catalog=catalog, username="admin.li")
        auth = await staff_login(client, "admin.li")

        for response in (
            await client.get("/api/v1/me/appointments", headers=auth),
            await client.get("/api/v1/me/patients", headers=auth),
        ):
            assert_error(response, 403, "FORBIDDEN")

    async def test_no_token_or_a_bad_one_is_unauthenticated(self, client, settings):
        forged = jwt.encode(
            {"iss": "yiyue", "sub": "1", "role": "platform_admin", "typ": "access", "iat": 0, "exp": 2**40},
            "not-our-secret-but-long-enough-for-hs256-0123",
            algorithm="HS256",
        )

        assert_error(await client.get(ME), 401, "UNAUTHENTICATED")
        assert_error(await client.get(ME, headers={"Authorization": "Bearer nonsense"}), 401, "INVALID_TOKEN")
        assert_error(await client.get(ME, headers={"Authorization": f"Bearer {forged}"}), 401, "INVALID_TOKEN")

    async def test_a_token_for_a_staff_user_that_does_not_exist_is_invalid(self, client, settings):
        now = int(NOW.timestamp())
        claims = {"iss": "yiyue", "sub": "999", "role": "platform_admin", "typ": "access", "iat": now, "exp": now + 60}
        token = jwt.encode(claims, settings.secret_key, algorithm="HS256")

        assert_error(await client.get(ME, headers={"Authorization": f"Bearer {token}"}), 401, "INVALID_TOKEN")

    async def test_the_token_expires(self, client, db, catalog, clock: FrozenClock, settings):
        await make_staff(db, catalog=catalog, username="admin.li")
        auth = await staff_login(client, "admin.li")

        clock.set(NOW + timedelta(minutes=settings.access_token_minutes))

        assert_error(await client.get(ME, headers=auth), 401, "TOKEN_EXPIRED")

    async def test_disabling_an_account_stops_its_tokens_at_once(self, client, db, catalog):
        admin = await make_staff(db, catalog=catalog, username="admin.li")
        auth = await staff_login(client, "admin.li")

        await set_columns(db, admin.id, active=False)

        assert_error(await client.get(ME, headers=auth), 403, "STAFF_DISABLED")

    async def test_a_changed_role_makes_old_tokens_invalid(self, client, db, catalog):
        admin = await make_staff(db, catalog=catalog, username="admin.li")
        auth = await staff_login(client, "admin.li")

        await set_columns(db, admin.id, role="platform_admin", hospital_id=None)

        assert_error(await client.get(ME, headers=auth), 401, "INVALID_TOKEN")


class TestCreateStaff:
    async def create(self, db: Database, **overrides: Any) -> StaffUser:
        fields: dict[str, Any] = {"username": "new.user", "password": STAFF_PASSWORD, "role": "platform_admin"}
        fields.update(overrides)
        async with db.session() as session:
            return await create_staff_account(session, now=NOW, **fields)

    async def test_stores_an_argon2id_hash_never_the_password(self, db, catalog):
        created = await self.create(db, role="hospital_admin", hospital_id=catalog.hospital.id)

        row = await stored(db, created.id)
        assert row.password_hash.startswith("$argon2id$") and STAFF_PASSWORD not in row.password_hash
        assert row.active is True and row.created_at == NOW and row.last_login_at is None
        assert row.display_name == "new.user"  # the username when no display name is given

    @pytest.mark.parametrize("username", ["abc", "a" * 32, "li.ming_2-x", "  padded  "])
    async def test_accepts_usernames_of_3_to_32_allowed_characters(self, db, username):
        assert (await self.create(db, username=username)).username == username.strip()

    @pytest.mark.parametrize("username", ["ab", "a" * 33, "Admin", "has space", "张三", "semi;colon", ""])
    async def test_refuses_other_usernames(self, db, username):
        with pytest.raises(staff_errors.InvalidUsername):
            await self.create(db, username=username)

    @pytest.mark.parametrize("password", ["", "short", "123456789", "x" * 257])
    async def test_refuses_passwords_shorter_than_10_characters(self, db, password):
        with pytest.raises(staff_errors.WeakPassword):
            await self.create(db, password=password)

    async def test_accepts_a_password_of_exactly_10_characters(self, db):
        assert (await self.create(db, password="0123456789")).id

    async def test_refuses_an_unknown_role(self, db, catalog):
        with pytest.raises(staff_errors.InvalidRole):
            await self.create(db, role="nurse", hospital_id=catalog.hospital.id)

    @pytest.mark.parametrize(
        ("role", "with_hospital", "with_doctor"),
        [
            ("platform_admin", True, False),
            ("platform_admin", False, True),
            ("hospital_admin", False, False),
            ("hospital_admin", True, True),
            ("doctor", True, False),
            ("doctor", False, True),
        ],
    )
    async def test_role_hospital_and_doctor_must_agree(self, db, catalog, role, with_hospital, with_doctor):
        with pytest.raises(staff_errors.InvalidStaffScope) as refused:
            await self.create(
                db,
                role=role,
                hospital_id=catalog.hospital.id if with_hospital else None,
                doctor_id=catalog.doctor.id if with_doctor else None,
            )
        assert CJK.search(refused.value.text)

    async def test_the_hospital_must_exist(self, db):
        with pytest.raises(staff_errors.UnknownHospital):
            await self.create(db, role="hospital_admin", hospital_id=999_999)

    async def test_a_doctor_account_is_one_of_the_hospitals_doctors(self, db, catalog):
        elsewhere = await make_catalog(db, name="另一家医院")

        with pytest.raises(staff_errors.UnknownDoctor):
            await self.create(db, role="doctor", hospital_id=catalog.hospital.id, doctor_id=elsewhere.doctor.id)
        with pytest.raises(staff_errors.UnknownDoctor):
            await self.create(db, role="doctor", hospital_id=catalog.hospital.id, doctor_id=999_999)
        created = await self.create(db, role="doctor", hospital_id=catalog.hospital.id, doctor_id=catalog.doctor.id)
        assert created.doctor_id == catalog.doctor.id

    async def test_usernames_and_doctors_have_one_account_each(self, db, catalog):
        await self.create(db, role="doctor", hospital_id=catalog.hospital.id, doctor_id=catalog.doctor.id)

        with pytest.raises(staff_errors.UsernameTaken):
            await self.create(db, role="platform_admin")
        with pytest.raises(staff_errors.DoctorHasAccount):
            await self.create(
                db, username="second", role="doctor", hospital_id=catalog.hospital.id, doctor_id=catalog.doctor.id
            )

    @pytest.mark.parametrize("display_name", ["   ", "名" * 33])
    async def test_refuses_a_blank_or_long_display_name(self, db, display_name):
        with pytest.raises(staff_errors.InvalidDisplayName):
            await self.create(db, display_name=display_name)

    async def test_the_database_refuses_an_inconsistent_row_whatever_the_code_does(self, db, catalog):
        with pytest.raises(IntegrityError):
            async with db.session() as session:
                session.add(
                    StaffUser(
                        username="sneaky",
                        display_name="sneaky",
                        password_hash="x",
                        role="doctor",
                        hospital_id=catalog.hospital.id,
                        doctor_id=None,
                        active=True,
                        created_at=NOW,
                    )
                )
        async with db.session() as session:
            assert await session.scalar(select(StaffUser).where(StaffUser.username == "sneaky")) is None


async def test_the_login_fixture_is_a_patient(login: Login, client) -> None:
    # Guards the premise of the token tests: the conftest login makes patient tokens.
    auth = await login()
    assert (await client.get("/api/v1/me/patients", headers=auth)).status_code == 200
