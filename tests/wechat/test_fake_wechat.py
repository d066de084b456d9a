"""The fake WeChat speaks WeChat's protocol: paths, fields, error codes, expiry and one-time rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from yiyue.core.clock import FrozenClock
from yiyue.wechat.fake import (
    DEFAULT_TEMPLATES,
    TEMPLATE_BOOKING_CANCELLED,
    TEMPLATE_BOOKING_CONFIRMED,
    TEMPLATE_VISIT_REMINDER,
    TEMPLATE_WAITLIST_OFFERED,
    create_fake_wechat_app,
)
from yiyue.wechat.fake.messages import TEMPLATE_RELEASE_RESULT

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret-0123456789abcdef"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
START = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
RID_SUFFIX = re.compile(r", rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")

BOOKING_DATA = {
    "name1": "张三",
    "thing2": "心血管内科",
    "thing3": "李医生 主任医师",
    "time4": "2025年3月2日 09:30",
    "character_string5": "YY20250302-0001",
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def fake_app(clock: FrozenClock) -> FastAPI:
    return create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock)


@pytest_asyncio.fixture
async def wechat(fake_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as client:
        yield client


def advance(clock: FrozenClock, **delta: float) -> None:
    clock.set(clock.now() + timedelta(**delta))


async def mint_code(wechat: httpx.AsyncClient, openid: str = OPENID, **extra: Any) -> str:
    response = await wechat.post("/__fake__/login-code", json={"openid": openid, **extra})
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


async def jscode2session(wechat: httpx.AsyncClient, code: str, **overrides: str | None) -> dict[str, Any]:
    params: dict[str, str | None] = {"appid": APPID, "secret": SECRET, "js_code": code}
    params.update({"grant_type": "authorization_code", **overrides})
    response = await wechat.get("/sns/jscode2session", params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200  # WeChat answers errors with HTTP 200 too
    body: dict[str, Any] = response.json()
    return body


async def login(wechat: httpx.AsyncClient, openid: str = OPENID) -> None:
    body = await jscode2session(wechat, await mint_code(wechat, openid))
    assert body["openid"] == openid


async def classic_token(wechat: httpx.AsyncClient) -> str:
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    token: str = (await wechat.get("/cgi-bin/token", params=params)).json()["access_token"]
    return token


async def stable_token(wechat: httpx.AsyncClient, *, force_refresh: bool = False) -> dict[str, Any]:
    payload = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": force_refresh}
    body: dict[str, Any] = (await wechat.post("/cgi-bin/stable_token", json=payload)).json()
    return body


async def send(wechat: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await wechat.post("/cgi-bin/message/subscribe/send", params={"access_token": token}, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def token_errcode(wechat: httpx.AsyncClient, token: str) -> int:
    """0 when the token is accepted: an empty body gets past the token check and fails on touser (40003)."""
    errcode: int = (await send(wechat, token, {}))["errcode"]
    return 0 if errcode == 40003 else errcode


async def subscribe(wechat: httpx.AsyncClient, template_id: str, *, openid: str = OPENID, count: int = 1) -> None:
    payload = {"openid": openid, "template_id": template_id, "count": count}
    response = await wechat.post("/__fake__/subscribe", json=payload)
    assert response.status_code == 200, response.text


def booking_message(openid: str = OPENID, **data: str) -> dict[str, Any]:
    values = {**BOOKING_DATA, **data}
    return {
        "touser": openid,
        "template_id": TEMPLATE_BOOKING_CONFIRMED,
        "page": "pages/appointment/detail?id=42",
        "data": {key: {"value": value} for key, value in values.items()},
    }


def assert_wechat_error(body: dict[str, Any], errcode: int, errmsg_prefix: str) -> None:
    assert body["errcode"] == errcode, body
    assert body["errmsg"].startswith(errmsg_prefix), body
    assert RID_SUFFIX.search(body["errmsg"]), body


@pytest.mark.asyncio
class TestJsCode2Session:
    async def test_a_fresh_code_gives_the_openid_and_a_session_key(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, await mint_code(wechat))
        assert body["openid"] == OPENID
        assert body["session_key"]
        assert "unionid" not in body
        assert "errcode" not in body

    async def test_the_unionid_comes_back_only_when_the_code_was_minted_with_one(
        self, wechat: httpx.AsyncClient
    ) -> None:
        body = await jscode2session(wechat, await mint_code(wechat, unionid="oUnion_123"))
        assert body["unionid"] == "oUnion_123"

    @pytest.mark.parametrize(
        ("missing", "errcode", "errmsg"),
        [("appid", 41002, "appid missing"), ("secret", 41004, "appsecret missing"), ("js_code", 41008, "missing code")],
    )
    async def test_a_missing_parameter_is_named_by_its_errcode(
        self, wechat: httpx.AsyncClient, missing: str, errcode: int, errmsg: str
    ) -> None:
        body = await jscode2session(wechat, await mint_code(wechat), **{missing: None})
        assert_wechat_error(body, errcode, errmsg)

    async def test_a_wrong_appid_is_40013(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, await mint_code(wechat), appid="wx_someone_else")
        assert_wechat_error(body, 40013, "invalid appid")

    async def test_a_wrong_secret_is_40125(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, await mint_code(wechat), secret="not-the-secret")
        assert_wechat_error(body, 40125, "invalid appsecret")

    async def test_a_wrong_grant_type_is_40002(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, await mint_code(wechat), grant_type="client_credential")
        assert_wechat_error(body, 40002, "invalid grant_type")

    async def test_an_unknown_code_is_40029(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, "never-minted")
        assert_wechat_error(body, 40029, "invalid code")

    async def test_a_code_is_good_for_five_minutes(self, wechat: httpx.AsyncClient, clock: FrozenClock) -> None:
        code = await mint_code(wechat)
        advance(clock, minutes=5)
        assert (await jscode2session(wechat, code))["openid"] == OPENID

    async def test_a_code_older_than_five_minutes_is_40029(self, wechat: httpx.AsyncClient, clock: FrozenClock) -> None:
        code = await mint_code(wechat)
        advance(clock, minutes=5, seconds=1)
        assert_wechat_error(await jscode2session(wechat, code), 40029, "invalid code")

    async def test_a_code_is_good_once_and_then_40163(self, wechat: httpx.AsyncClient) -> None:
        code = await mint_code(wechat)
        await jscode2session(wechat, code)
        assert_wechat_error(await jscode2session(wechat, code), 40163, "code been used")

    async def test_a_code_of_a_high_risk_user_is_40226(self, wechat: httpx.AsyncClient) -> None:
        body = await jscode2session(wechat, await mint_code(wechat, high_risk=True))
        assert_wechat_error(body, 40226, "high risk user")

    async def test_more_than_100_logins_a_minute_for_one_user_is_45011(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        for _ in range(100):
            await jscode2session(wechat, await mint_code(wechat))
        code = await mint_code(wechat)
        assert_wechat_error(await jscode2session(wechat, code), 45011, "api minute-quota reach limit")
        assert (await jscode2session(wechat, await mint_code(wechat, openid="o_another_user")))["openid"]
        advance(clock, minutes=1)
        assert (await jscode2session(wechat, code))["openid"] == OPENID  # the limited call did not use it


@pytest.mark.asyncio
class TestLoginCodeHelper:
    async def test_each_code_is_new(self, wechat: httpx.AsyncClient) -> None:
        assert await mint_code(wechat) != await mint_code(wechat)

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"openid": ""},
            {"openid": 123},
            {"openid": "has spaces"},
            {"openid": OPENID, "high_risk": "yes"},
            {"openid": OPENID, "unionid": ""},
            {"openid": OPENID, "nickname": "extra fields are refused"},
            ["not", "an", "object"],
        ],
    )
    async def test_bad_input_is_a_400_json_error(self, wechat: httpx.AsyncClient, payload: Any) -> None:
        response = await wechat.post("/__fake__/login-code", json=payload)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    async def test_a_body_that_is_not_json_is_a_400_json_error(self, wechat: httpx.AsyncClient) -> None:
        response = await wechat.post("/__fake__/login-code", content=b"openid=x")
        assert response.status_code == 400
        assert response.json()["message"] == "请求参数有误"


@pytest.mark.asyncio
class TestAccessToken:
    async def test_a_token_lives_7200_seconds(self, wechat: httpx.AsyncClient, clock: FrozenClock) -> None:
        params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        body = (await wechat.get("/cgi-bin/token", params=params)).json()
        assert body["expires_in"] == 7200
        advance(clock, seconds=7199)
        assert await token_errcode(wechat, body["access_token"]) == 0
        advance(clock, seconds=1)
        assert await token_errcode(wechat, body["access_token"]) == 42001

    async def test_a_new_fetch_retires_the_previous_token_after_five_minutes(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        first = await classic_token(wechat)
        second = await classic_token(wechat)
        assert first != second
        advance(clock, minutes=4, seconds=59)
        assert await token_errcode(wechat, first) == 0
        advance(clock, seconds=1)
        assert await token_errcode(wechat, first) == 40001
        assert await token_errcode(wechat, second) == 0

    @pytest.mark.parametrize(
        ("params", "errcode"),
        [
            ({"grant_type": "authorization_code", "appid": APPID, "secret": SECRET}, 40002),
            ({"appid": APPID, "secret": SECRET}, 40002),
            ({"grant_type": "client_credential", "appid": "wx_other", "secret": SECRET}, 40013),
            ({"grant_type": "client_credential", "appid": APPID, "secret": "wrong"}, 40125),
            ({"grant_type": "client_credential", "secret": SECRET}, 41002),
        ],
    )
    async def test_bad_credentials_are_refused(
        self, wechat: httpx.AsyncClient, params: dict[str, str], errcode: int
    ) -> None:
        body = (await wechat.get("/cgi-bin/token", params=params)).json()
        assert body["errcode"] == errcode
        assert "access_token" not in body

    async def test_an_unknown_token_is_40001_and_a_missing_one_41001(self, wechat: httpx.AsyncClient) -> None:
        assert await token_errcode(wechat, "made-up-token") == 40001
        response = await wechat.post("/cgi-bin/message/subscribe/send", json={})
        assert_wechat_error(response.json(), 41001, "access_token missing")


@pytest.mark.asyncio
class TestStableToken:
    async def test_repeated_calls_return_the_same_token_with_the_time_left(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        first = await stable_token(wechat)
        advance(clock, minutes=10)
        second = await stable_token(wechat)
        assert second["access_token"] == first["access_token"]
        assert (first["expires_in"], second["expires_in"]) == (7200, 7200 - 600)

    async def test_in_its_last_five_minutes_a_new_token_is_given_and_the_old_one_still_works(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        old = (await stable_token(wechat))["access_token"]
        advance(clock, seconds=7200 - 300)
        renewed = await stable_token(wechat)
        assert renewed["access_token"] != old
        assert renewed["expires_in"] == 7200
        assert await token_errcode(wechat, old) == 0
        advance(clock, seconds=300)
        assert await token_errcode(wechat, old) == 42001

    async def test_a_forced_refresh_invalidates_the_previous_token_at_once(self, wechat: httpx.AsyncClient) -> None:
        old = (await stable_token(wechat))["access_token"]
        new = (await stable_token(wechat, force_refresh=True))["access_token"]
        assert new != old
        assert await token_errcode(wechat, old) == 40001
        assert await token_errcode(wechat, new) == 0

    async def test_a_forced_refresh_within_30_seconds_of_the_last_returns_the_current_token(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        forced = (await stable_token(wechat, force_refresh=True))["access_token"]
        advance(clock, seconds=29)
        assert (await stable_token(wechat, force_refresh=True))["access_token"] == forced
        advance(clock, seconds=1)
        assert (await stable_token(wechat, force_refresh=True))["access_token"] != forced

    async def test_at_most_20_forced_refreshes_a_day(self, wechat: httpx.AsyncClient, clock: FrozenClock) -> None:
        for _ in range(20):
            assert "access_token" in await stable_token(wechat, force_refresh=True)
            advance(clock, seconds=30)
        assert (await stable_token(wechat, force_refresh=True))["errcode"] == 45009
        advance(clock, days=1)
        assert "access_token" in await stable_token(wechat, force_refresh=True)

    async def test_stable_and_classic_tokens_do_not_affect_each_other(
        self, wechat: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        stable = (await stable_token(wechat))["access_token"]
        classic = await classic_token(wechat)
        await classic_token(wechat)
        await stable_token(wechat, force_refresh=True)
        advance(clock, minutes=1)
        assert await token_errcode(wechat, classic) == 0  # still inside its own overlap
        assert await token_errcode(wechat, stable) == 40001  # only the forced refresh retired it

    @pytest.mark.parametrize(
        ("payload", "errcode"),
        [
            ({"grant_type": "authorization_code", "appid": APPID, "secret": SECRET}, 40002),
            ({"grant_type": "client_credential", "appid": "wx_other", "secret": SECRET}, 40013),
            ({"grant_type": "client_credential", "appid": APPID, "secret": "wrong"}, 40125),
            ({"grant_type": "client_credential", "appid": APPID}, 41004),
            ({"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": "yes"}, 47001),
            (["not", "an", "object"], 47001),
        ],
    )
    async def test_bad_requests_are_refused(self, wechat: httpx.AsyncClient, payload: Any, errcode: int) -> None:
        body = (await wechat.post("/cgi-bin/stable_token", json=payload)).json()
        assert body["errcode"] == errcode

    async def test_a_body_that_is_not_json_is_47001(self, wechat: httpx.AsyncClient) -> None:
        body = (await wechat.post("/cgi-bin/stable_token", content=b"grant_type=client_credential")).json()
        assert_wechat_error(body, 47001, "data format error")


@pytest.mark.asyncio
class TestSubscribeSend:
    @pytest_asyncio.fixture
    async def token(self, wechat: httpx.AsyncClient) -> str:
        await login(wechat)
        return str((await stable_token(wechat))["access_token"])

    async def test_a_granted_subscription_lets_one_message_through(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        body = await send(wechat, token, booking_message())
        assert (body["errcode"], body["errmsg"]) == (0, "ok")
        messages = (await wechat.get("/__fake__/messages", params={"openid": OPENID})).json()
        assert len(messages) == 1
        assert messages[0]["msgid"] == body["msgid"]
        assert messages[0]["template_id"] == TEMPLATE_BOOKING_CONFIRMED
        assert messages[0]["page"] == "pages/appointment/detail?id=42"
        assert messages[0]["data"]["thing2"] == {"value": "心血管内科"}
        assert (messages[0]["miniprogram_state"], messages[0]["lang"]) == ("formal", "zh_CN")

    async def test_each_send_uses_one_subscription_and_then_43101(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED, count=2)
        assert (await send(wechat, token, booking_message()))["errcode"] == 0
        assert (await send(wechat, token, booking_message()))["errcode"] == 0
        assert_wechat_error(await send(wechat, token, booking_message()), 43101, "user refuse to accept the msg")

    async def test_without_a_subscription_it_is_43101(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_VISIT_REMINDER)  # a subscription to another template does not count
        assert_wechat_error(await send(wechat, token, booking_message()), 43101, "user refuse")

    async def test_an_openid_never_seen_at_login_is_40003(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED, openid="o_never_logged_in")
        body = await send(wechat, token, booking_message(openid="o_never_logged_in"))
        assert_wechat_error(body, 40003, "invalid openid")

    async def test_an_unknown_template_is_40037(self, wechat: httpx.AsyncClient, token: str) -> None:
        body = await send(wechat, token, {**booking_message(), "template_id": "not-configured"})
        assert_wechat_error(body, 40037, "invalid template_id")

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("thing2", "心" * 21),
            ("thing2", ""),
            ("character_string5", "A" * 33),
            ("character_string5", "预约号123"),
            ("character_string5", "has space"),
            ("name1", "张三1"),
            ("name1", "欧阳" * 5 + "某"),
            ("name1", "A" * 21),
            ("time4", "25:00"),
            ("time4", "明天上午"),
            ("time4", "2025年13月1日 09:30"),
        ],
    )
    async def test_a_value_beyond_its_kind_limit_is_47003_naming_the_field(
        self, wechat: httpx.AsyncClient, token: str, key: str, value: str
    ) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        body = await send(wechat, token, booking_message(**{key: value}))
        assert_wechat_error(body, 47003, f"argument invalid! data.{key}.value")

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("name1", "A" * 20),
            ("name1", "张*三"),
            ("name1", "欧阳" * 5),
            ("thing2", "心" * 20),
            ("character_string5", "A-1_b!~" * 4 + "abcd"),
            ("time4", "09:30"),
            ("time4", "2025-03-02 09:30~10:00"),
            ("time4", "2025年3月2日"),
        ],
    )
    async def test_a_value_within_its_kind_limit_is_accepted(
        self, wechat: httpx.AsyncClient, token: str, key: str, value: str
    ) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        assert (await send(wechat, token, booking_message(**{key: value})))["errcode"] == 0

    @pytest.mark.parametrize(("value", "errcode"), [("已取消", 0), ("已经取消了啊", 47003), ("cancel", 47003)])
    async def test_a_phrase_is_at_most_five_chinese_characters(
        self, wechat: httpx.AsyncClient, token: str, value: str, errcode: int
    ) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CANCELLED)
        values = {"name1": "张三", "thing2": "心血管内科", "time3": "2025年3月2日 09:30", "phrase4": value}
        values["thing5"] = "医生停诊"
        message = {
            "touser": OPENID,
            "template_id": TEMPLATE_BOOKING_CANCELLED,
            "data": {key: {"value": v} for key, v in values.items()},
        }
        assert (await send(wechat, token, message))["errcode"] == errcode

    async def test_a_missing_or_extra_key_is_47003(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        message = booking_message()
        del message["data"]["thing3"]
        assert_wechat_error(await send(wechat, token, message), 47003, "argument invalid! data.thing3.value is empty")
        message = booking_message()
        message["data"]["thing9"] = {"value": "多余"}
        assert_wechat_error(await send(wechat, token, message), 47003, "argument invalid! data.thing9")

    @pytest.mark.parametrize(
        ("field", "value", "errcode"),
        [
            ("page", "pages/a b", 41030),
            ("page", 42, 41030),
            ("miniprogram_state", "production", 47003),
            ("lang", "fr_FR", 47003),
            ("data", "not an object", 47003),
        ],
    )
    async def test_invalid_message_fields_are_refused(
        self, wechat: httpx.AsyncClient, token: str, field: str, value: Any, errcode: int
    ) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        assert (await send(wechat, token, {**booking_message(), field: value}))["errcode"] == errcode

    async def test_a_refused_message_does_not_use_the_subscription(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        assert (await send(wechat, token, booking_message(thing2="心" * 21)))["errcode"] == 47003
        assert (await send(wechat, token, booking_message()))["errcode"] == 0

    async def test_a_body_that_is_not_json_is_47001(self, wechat: httpx.AsyncClient, token: str) -> None:
        response = await wechat.post(
            "/cgi-bin/message/subscribe/send", params={"access_token": token}, content=b"touser=x"
        )
        assert_wechat_error(response.json(), 47001, "data format error")

    async def test_an_expired_token_is_42001(self, wechat: httpx.AsyncClient, token: str, clock: FrozenClock) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        advance(clock, hours=2)
        assert_wechat_error(await send(wechat, token, booking_message()), 42001, "access_token expired")

    async def test_a_replaced_token_is_40001(self, wechat: httpx.AsyncClient, token: str) -> None:
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED)
        await stable_token(wechat, force_refresh=True)
        body = await send(wechat, token, booking_message())
        assert_wechat_error(body, 40001, "invalid credential, access_token is invalid or not latest")


@pytest.mark.asyncio
class TestCustomTemplates:
    TEMPLATES: ClassVar[dict[str, list[str]]] = {"tpl-all-kinds": ["number1", "phone_number2", "amount3", "date4"]}

    @pytest_asyncio.fixture
    async def wechat(self, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
        app = create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock, templates=self.TEMPLATES)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wechat.test") as client:
            yield client

    async def _send(self, wechat: httpx.AsyncClient, **values: str) -> dict[str, Any]:
        await login(wechat)
        await subscribe(wechat, "tpl-all-kinds")
        data = {"number1": "12.5", "phone_number2": "+86-10-12345678", "amount3": "¥25.00", "date4": "2025年3月2日"}
        data.update(values)
        message = {"touser": OPENID, "template_id": "tpl-all-kinds", "data": {k: {"value": v} for k, v in data.items()}}
        return await send(wechat, str((await stable_token(wechat))["access_token"]), message)

    async def test_the_configured_templates_replace_the_defaults(self, wechat: httpx.AsyncClient) -> None:
        default = {"openid": OPENID, "template_id": TEMPLATE_BOOKING_CONFIRMED}
        assert (await wechat.post("/__fake__/subscribe", json=default)).status_code == 400
        assert (await self._send(wechat))["errcode"] == 0

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("number1", "1" * 33),
            ("number1", "12a"),
            ("phone_number2", "1" * 18),
            ("phone_number2", "call me"),
            ("amount3", "¥12345678901"),
            ("amount3", "二十五元"),
            ("date4", "2025-02-30x"),
        ],
    )
    async def test_each_kind_has_its_limit(self, wechat: httpx.AsyncClient, key: str, value: str) -> None:
        body = await self._send(wechat, **{key: value})
        assert_wechat_error(body, 47003, f"argument invalid! data.{key}.value")

    @pytest.mark.parametrize(("key", "value"), [("amount3", "25元"), ("amount3", "100"), ("number1", "1" * 32)])
    async def test_values_within_the_limit_pass(self, wechat: httpx.AsyncClient, key: str, value: str) -> None:
        assert (await self._send(wechat, **{key: value}))["errcode"] == 0


class TestTemplateConfiguration:
    def test_the_default_templates_are_booking_reminder_cancellation_waitlist_offer_and_draw_result(self) -> None:
        expected = {
            TEMPLATE_BOOKING_CONFIRMED,
            TEMPLATE_VISIT_REMINDER,
            TEMPLATE_BOOKING_CANCELLED,
            TEMPLATE_WAITLIST_OFFERED,
            TEMPLATE_RELEASE_RESULT,
        }
        assert set(DEFAULT_TEMPLATES) == expected

    def test_a_key_of_an_unknown_kind_is_refused_at_start_up(self) -> None:
        with pytest.raises(ValueError, match="unknown kind"):
            create_fake_wechat_app(appid=APPID, secret=SECRET, templates={"t": ["colour1"]})


@pytest.mark.asyncio
class TestFakeHelpers:
    async def test_subscribing_to_an_unknown_template_or_a_bad_count_is_a_400(self, wechat: httpx.AsyncClient) -> None:
        for payload in (
            {"openid": OPENID, "template_id": "nope"},
            {"openid": OPENID, "template_id": TEMPLATE_BOOKING_CONFIRMED, "count": 0},
            {"template_id": TEMPLATE_BOOKING_CONFIRMED},
        ):
            response = await wechat.post("/__fake__/subscribe", json=payload)
            assert response.status_code == 400, payload

    async def test_messages_can_be_listed_for_one_user_or_all(self, wechat: httpx.AsyncClient) -> None:
        await login(wechat)
        await login(wechat, "o_second_user")
        token = str((await stable_token(wechat))["access_token"])
        for openid in (OPENID, "o_second_user"):
            await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED, openid=openid)
            assert (await send(wechat, token, booking_message(openid)))["errcode"] == 0
        assert len((await wechat.get("/__fake__/messages")).json()) == 2
        only = (await wechat.get("/__fake__/messages", params={"openid": "o_second_user"})).json()
        assert [m["touser"] for m in only] == ["o_second_user"]

    async def test_an_injected_fault_is_answered_once_before_any_other_check(self, wechat: httpx.AsyncClient) -> None:
        fault = {"path": "/sns/jscode2session", "errcode": -1, "errmsg": "system error"}
        assert (await wechat.post("/__fake__/fail-next", json=fault)).status_code == 200
        code = await mint_code(wechat)
        assert_wechat_error(await jscode2session(wechat, code), -1, "system error")
        assert (await jscode2session(wechat, code))["openid"] == OPENID

    async def test_a_fault_for_an_unknown_path_is_a_400(self, wechat: httpx.AsyncClient) -> None:
        response = await wechat.post("/__fake__/fail-next", json={"path": "/cgi-bin/nothing", "errcode": -1})
        assert response.status_code == 400

    async def test_reset_forgets_codes_tokens_subscriptions_and_messages(self, wechat: httpx.AsyncClient) -> None:
        await login(wechat)
        code = await mint_code(wechat)
        token = str((await stable_token(wechat))["access_token"])
        await subscribe(wechat, TEMPLATE_BOOKING_CONFIRMED, count=2)
        await send(wechat, token, booking_message())
        assert (await wechat.post("/__fake__/reset")).status_code == 204
        assert (await jscode2session(wechat, code))["errcode"] == 40029
        assert await token_errcode(wechat, token) == 40001
        assert (await wechat.get("/__fake__/messages")).json() == []
        await login(wechat)
        new_token = str((await stable_token(wechat))["access_token"])
        assert (await send(wechat, new_token, booking_message()))["errcode"] == 43101
