"""实名认证 of visit persons: the provider adapter, the cache of its answers, and booking only the verified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from tests.conftest import NOW, Login, booking_headers
from tests.factories import id_number, make_catalog, make_schedule, patient_body
from yiyue.accounts.models import RealNameCheck
from yiyue.accounts.realname import HttpRealNameProvider, RealNameUnavailable, Verdict, lookup_key
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings, generate_development_pay_secrets
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import Database
from yiyue.wechat import realname as protocol
from yiyue.wechat.fake import FakeRealNameState, create_fake_wechat_app

PATIENTS = "/api/v1/me/patients"
Auth = dict[str, str]


def fake_of(app: FastAPI) -> FakeRealNameState:
    state: FakeRealNameState = app.state.fake_wechat.state.realname
    return state


async def add(client: httpx.AsyncClient, auth: Auth, **fields: str) -> dict[str, Any]:
    response = await client.post(PATIENTS, json=patient_body(**fields), headers=auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(client: httpx.AsyncClient, auth: Auth, person_id: int) -> httpx.Response:
    return await client.post(f"{PATIENTS}/{person_id}/verify", headers=auth)


async def book(client: httpx.AsyncClient, auth: Auth, schedule_id: int, person_id: int) -> httpx.Response:
    return await client.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": person_id},
        headers=booking_headers(auth),
    )


# --- the signature and the provider adapter ---------------------------------------------------------


class TestSignature:
    def test_is_the_hex_hmac_sha256_of_app_id_timestamp_nonce_and_body(self) -> None:
        body = '{"name": "张三"}'.encode()
        expected = hmac.new(b"s3cret", b"app\n1772413200\nn0nce\n" + body + b"\n", hashlib.sha256).hexdigest()

        assert protocol.signature("s3cret", app_id="app", timestamp="1772413200", nonce="n0nce", body=body) == expected

    def test_does_not_match_another_body_or_secret(self) -> None:
        given = protocol.signature("s3cret", app_id="app", timestamp="1", nonce="n", body=b"{}")

        assert protocol.signature_matches("s3cret", given, app_id="app", timestamp="1", nonce="n", body=b"{}")
        assert not protocol.signature_matches("s3cret", given, app_id="app", timestamp="1", nonce="n", body=b"{ }")
        assert not protocol.signature_matches("other", given, app_id="app", timestamp="1", nonce="n", body=b"{}")


def provider_answering(handler: Any) -> HttpRealNameProvider:
    return HttpRealNameProvider(
        api_base="http://provider.test",
        app_id="app",
        secret="s3cret",
        timeout=1.0,
        clock=FrozenClock(NOW),
        transport=httpx.MockTransport(handler),
    )


class TestHttpProvider:
    async def test_signs_its_request(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"result": "consistent", "message": "一致"})

        verdict = await provider_answering(handler).verify("张三", "110105199001010011")

        assert verdict == Verdict(verified=True)
        request = seen[0]
        assert request.url.path == protocol.PATH_VERIFY
        assert request.headers[protocol.HEADER_TIMESTAMP] == str(int(NOW.timestamp()))
        assert json.loads(request.content) == {"name": "张三", "id_number": "110105199001010011"}
        assert protocol.signature_matches(
            "s3cret",
            request.headers[protocol.HEADER_SIGNATURE],
            app_id="app",
            timestamp=request.headers[protocol.HEADER_TIMESTAMP],
            nonce=request.headers[protocol.HEADER_NONCE],
            body=request.content,
        )

    async def test_an_inconsistent_answer_is_a_failed_verdict_with_the_services_reason(self) -> None:
        provider = provider_answering(
            lambda _: httpx.Response(200, json={"result": "inconsistent", "message": "姓名与身份证号不一致"})
        )

        assert await provider.verify("张三假", "110105199001010011") == Verdict(False, "姓名与身份证号不一致")

    @pytest.mark.parametrize(
        "answer",
        [
            pytest.param(httpx.Response(503, json={"code": "SYSTEM_ERROR", "message": "busy"}), id="503"),
            pytest.param(httpx.Response(401, json={"code": "SIGN_ERROR", "message": "bad"}), id="sign-error"),
            pytest.param(httpx.Response(200, text="<html>"), id="not-json"),
            pytest.param(httpx.Response(200, json={"result": "maybe"}), id="unknown-result"),
        ],
    )
    async def test_anything_but_an_answer_is_unavailable(self, answer: httpx.Response) -> None:
        with pytest.raises(RealNameUnavailable):
            await provider_answering(lambda _: answer).verify("张三", "110105199001010011")

    async def test_a_timeout_is_unavailable(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        with pytest.raises(RealNameUnavailable):
            await provider_answering(handler).verify("张三", "110105199001010011")


class TestSettings:
    def test_production_refuses_the_in_process_fake(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("YIYUE_VAR_DIR", str(tmp_path))
        production = {
            "environment": "production",
            "database_url": "sqlite+aiosqlite://",
            "wechat_api_base": "https://api.weixin.qq.com",
            "wechat_pay_api_base": "https://api.mch.weixin.qq.com",
            "wechat_pay_mchid": "1900000109",
            "wechat_pay_notify_url": "https://yiyue.example/api/v1/payments/wechat/notify",
            "secret_key": "s" * 48,
            "data_key": base64.b64encode(b"k" * 32).decode(),
            "blind_index_key": base64.b64encode(b"i" * 32).decode(),
            "wechat_secret": "secret",
            **generate_development_pay_secrets(),
        }
        with pytest.raises(ValueError, match="YIYUE_REALNAME_API_BASE"):
            Settings(**production)
        with pytest.raises(ValueError, match="YIYUE_REALNAME_APP_SECRET"):
            Settings(**production, realname_api_base="https://verify.example")
        with pytest.raises(ValueError, match="https://"):  # names and ID numbers never in clear text
            Settings(**production, realname_api_base="http://verify.example", realname_app_secret="x" * 32)

        settings = Settings(**production, realname_api_base="https://verify.example", realname_app_secret="x" * 32)

        assert settings.realname_api_base == "https://verify.example"
        assert "x" * 32 not in repr(settings)

    def test_development_signs_with_a_secret_derived_from_the_secret_key(self, settings: Settings) -> None:
        assert len(settings.realname_app_secret) == 64
        assert settings.realname_app_secret != settings.secret_key


# --- over the API, with the fake provider -----------------------------------------------------------


async def test_a_person_added_is_verified_by_the_provider(client: httpx.AsyncClient, login: Login) -> None:
    person = await add(client, await login(), name="张三")

    assert person["realname_status"] == "verified"
    assert person["realname_label"] == "已认证"
    assert person["realname_message"] == "已通过实名认证"


async def test_a_name_ending_in_jia_fails_and_cannot_be_booked_for(
    client: httpx.AsyncClient, login: Login, db: Database
) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    auth = await login()

    person = await add(client, auth, name="张三假")
    refused = await book(client, auth, schedule.id, person["id"])
    queued = await client.post(
        "/api/v1/waitlist", json={"schedule_id": schedule.id, "patient_id": person["id"]}, headers=auth
    )
    listed = (await client.get(PATIENTS, headers=auth)).json()["items"]

    assert (person["realname_status"], person["realname_label"]) == ("failed", "认证失败")
    assert person["realname_message"].startswith("实名认证未通过：姓名与身份证号不一致")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "PERSON_NOT_VERIFIED"
    assert refused.json()["message"] == "就诊人未通过实名认证，请先完成认证"
    assert (queued.status_code, queued.json()["code"]) == (409, "PERSON_NOT_VERIFIED")
    assert listed[0]["realname_status"] == "failed"


async def test_a_provider_error_leaves_the_person_unverified_and_verifying_later_works(
    client: httpx.AsyncClient, login: Login, db: Database, app: FastAPI
) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog)
    auth = await login()
    fake = fake_of(app)
    registered = dict(fake.apps)
    fake.apps.clear()  # the service refuses our signature: it cannot answer for us

    person = await add(client, auth, name="李四")
    refused = await book(client, auth, schedule.id, person["id"])
    still_down = await verify(client, auth, person["id"])
    fake.apps.update(registered)
    verified = await verify(client, auth, person["id"])
    booked = await book(client, auth, schedule.id, person["id"])

    assert (person["realname_status"], person["realname_label"]) == ("unverified", "未认证")
    assert "暂不可用" in person["realname_message"]
    assert refused.json()["code"] == "PERSON_NOT_VERIFIED"
    assert still_down.status_code == 503
    assert still_down.json()["code"] == "REALNAME_UNAVAILABLE"
    assert verified.status_code == 200, verified.text
    assert verified.json()["realname_status"] == "verified"
    assert booked.status_code == 201, booked.text


async def test_sequence_digits_999_are_a_provider_error_answered_as_unavailable(
    client: httpx.AsyncClient, login: Login, app: FastAPI
) -> None:
    auth = await login()

    person = await add(client, auth, name="王五", id_number=id_number(serial=999))
    again = await verify(client, auth, person["id"])

    assert person["realname_status"] == "unverified"
    assert (again.status_code, again.json()["code"]) == (503, "REALNAME_UNAVAILABLE")
    assert (await client.get(PATIENTS, headers=auth)).json()["items"][0]["realname_status"] == "unverified"
    assert fake_of(app).calls == 2  # an unavailable answer is not kept: each try asks again


async def test_a_kept_answer_serves_the_same_person_added_by_another_account(
    client: httpx.AsyncClient, login: Login, app: FastAPI, settings: Settings, db: Database
) -> None:
    mother = patient_body(name="王秀英", relationship="parent")
    fake = fake_of(app)

    mine = await add(client, await login(), **mother)
    my_sisters = await add(client, await login(), **mother)
    misspelt = await add(client, await login(), **{**mother, "name": "王秀"})

    assert [mine["realname_status"], my_sisters["realname_status"], misspelt["realname_status"]] == ["verified"] * 3
    assert fake.calls == 2  # the second account's mother was the kept answer; another name is another query
    cipher = FieldCipher(settings.data_keys, settings.data_key_id, index_secret=settings.blind_index_secret)
    key = lookup_key(cipher, id_number=mother["id_number"], name="王秀英")
    assert key != cipher.blind_index(mother["id_number"], context="visit_persons.id_number")
    async with db.session() as session:
        kept = await session.scalar(select(RealNameCheck).where(RealNameCheck.lookup == key))
    assert kept is not None
    assert (kept.verified, kept.provider) == (True, "http")


async def test_a_failed_answer_is_kept_too(client: httpx.AsyncClient, login: Login, app: FastAPI) -> None:
    impostor = patient_body(name="赵六假")

    first = await add(client, await login(), **impostor)
    second = await add(client, auth := await login(), **impostor)
    retried = await verify(client, auth, second["id"])

    assert [first["realname_status"], second["realname_status"]] == ["failed", "failed"]
    assert retried.json()["realname_status"] == "failed"
    assert fake_of(app).calls == 1


async def test_renaming_resets_the_check_and_verifying_checks_the_new_name(
    client: httpx.AsyncClient, login: Login, app: FastAPI
) -> None:
    auth = await login()
    person = await add(client, auth, name="孙七")

    phone_only = await client.patch(f"{PATIENTS}/{person['id']}", json={"phone": "13900001111"}, headers=auth)
    renamed = await client.patch(f"{PATIENTS}/{person['id']}", json={"name": "孙七假"}, headers=auth)
    checked = await verify(client, auth, person["id"])
    corrected = await client.patch(f"{PATIENTS}/{person['id']}", json={"name": "孙琪"}, headers=auth)
    verified = await verify(client, auth, person["id"])
    verified_again = await verify(client, auth, person["id"])

    assert phone_only.json()["realname_status"] == "verified"
    assert (renamed.json()["realname_status"], renamed.json()["realname_label"]) == ("unverified", "未认证")
    assert checked.json()["realname_status"] == "failed"
    assert corrected.json()["realname_status"] == "unverified"
    assert verified.json()["realname_status"] == "verified"
    assert verified_again.json()["realname_status"] == "verified"
    assert fake_of(app).calls == 3  # 孙七, 孙七假, 孙琪; a verified person is not asked about again


async def test_another_accounts_person_cannot_be_verified(client: httpx.AsyncClient, login: Login) -> None:
    person = await add(client, await login())

    answer = await verify(client, await login(), person["id"])

    assert (answer.status_code, answer.json()["code"]) == (404, "VISIT_PERSON_NOT_FOUND")


def test_the_fake_is_mounted_when_wechat_is_real_but_the_provider_is_the_fake(settings: Settings) -> None:
    from yiyue.app import create_app

    app = create_app(settings.model_copy(update={"wechat_api_base": "https://api.weixin.qq.com"}))

    assert isinstance(app.state.fake_wechat.state.realname, FakeRealNameState)
    assert settings.realname_app_id in app.state.fake_wechat.state.realname.apps


def test_a_standalone_fake_knows_the_apps_it_is_given() -> None:
    fake = create_fake_wechat_app(appid="wx1", secret="s", realname_apps={"app": "secret"})

    assert fake.state.realname.apps == {"app": "secret"}
