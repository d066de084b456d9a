"""Our WeChat client against the fake WeChat: sessions, error mapping, token cache and the stale-token retry."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI

from yiyue.core.clock import FrozenClock
from yiyue.core.errors import DomainError, RateLimited
from yiyue.wechat.client import WeChatClient, WeChatSession, redact_url
from yiyue.wechat.errors import (
    SubscribeMessageRejected,
    WeChatCodeInvalid,
    WeChatMisconfigured,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)
from yiyue.wechat.fake import TEMPLATE_BOOKING_CONFIRMED, create_fake_wechat_app

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret-0123456789abcdef"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
START = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
BASE = "http://wechat.test"
SEND_PATH = "/cgi-bin/message/subscribe/send"
TOKEN_PATH = "/cgi-bin/stable_token"
BOOKING_DATA = {
    "name1": "张三",
    "thing2": "心血管内科",
    "thing3": "李医生 主任医师",
    "time4": "2025年3月2日 09:30",
    "character_string5": "YY20250302-0001",
}


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes requests to the fake and remembers their paths, to count what the client really asked."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def fake_app(clock: FrozenClock) -> FastAPI:
    return create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock)


@pytest.fixture
def transport(fake_app: FastAPI) -> RecordingTransport:
    return RecordingTransport(httpx.ASGITransport(app=fake_app))


@pytest_asyncio.fixture
async def phone(fake_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """What happens on the patient's phone: ``wx.login`` and accepting subscriptions (the fake's helpers)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake_app), base_url=BASE) as client:
        yield client


@pytest_asyncio.fixture
async def make_client(transport: RecordingTransport, clock: FrozenClock) -> AsyncIterator[Callable[..., WeChatClient]]:
    made: list[WeChatClient] = []

    def make(**overrides: Any) -> WeChatClient:
        options: dict[str, Any] = {"api_base": BASE, "appid": APPID, "secret": SECRET, "transport": transport}
        client = WeChatClient(**{**options, "clock": clock, **overrides})
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def wechat(make_client: Callable[..., WeChatClient]) -> WeChatClient:
    return make_client()


def failing_client(make_client: Callable[..., WeChatClient], handler: Callable[[httpx.Request], Any]) -> WeChatClient:
    return make_client(transport=httpx.MockTransport(handler))


async def wx_login(phone: httpx.AsyncClient, openid: str = OPENID, **extra: Any) -> str:
    response = await phone.post("/__fake__/login-code", json={"openid": openid, **extra})
    code: str = response.json()["code"]
    return code


async def accept_subscription(phone: httpx.AsyncClient, openid: str = OPENID, count: int = 1) -> None:
    payload = {"openid": openid, "template_id": TEMPLATE_BOOKING_CONFIRMED, "count": count}
    assert (await phone.post("/__fake__/subscribe", json=payload)).status_code == 200


async def inject_fault(phone: httpx.AsyncClient, path: str, errcode: int, count: int = 1) -> None:
    payload = {"path": path, "errcode": errcode, "count": count}
    assert (await phone.post("/__fake__/fail-next", json=payload)).status_code == 200


async def sent_messages(phone: httpx.AsyncClient) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (await phone.get("/__fake__/messages")).json()
    return messages


async def logged_in_and_subscribed(wechat: WeChatClient, phone: httpx.AsyncClient, count: int = 1) -> None:
    await wechat.code2session(await wx_login(phone))
    await accept_subscription(phone, count=count)


async def send_booking_confirmation(wechat: WeChatClient, **overrides: Any) -> None:
    message: dict[str, Any] = {"openid": OPENID, "template_id": TEMPLATE_BOOKING_CONFIRMED, "data": BOOKING_DATA}
    await wechat.send_subscribe_message(**{**message, **overrides})


def assert_domain_error(error: DomainError, status: int, code: str) -> None:
    assert (error.status, error.code) == (status, code)
    assert error.text  # a Chinese message for people


@pytest.mark.asyncio
class TestCode2Session:
    async def test_a_fresh_code_gives_the_session(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        session = await wechat.code2session(await wx_login(phone, unionid="oUnion_1"))
        assert isinstance(session, WeChatSession)
        assert (session.openid, session.unionid) == (OPENID, "oUnion_1")
        assert session.session_key
        assert session.session_key not in repr(session)

    async def test_without_a_unionid_it_is_none(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        assert (await wechat.code2session(await wx_login(phone))).unionid is None

    async def test_an_unknown_code_is_wechat_code_invalid(self, wechat: WeChatClient) -> None:
        with pytest.raises(WeChatCodeInvalid) as caught:
            await wechat.code2session("never-minted")
        assert_domain_error(caught.value, 401, "WECHAT_CODE_INVALID")
        assert caught.value.text == "微信登录凭证无效或已使用，请重新登录"

    async def test_a_used_code_is_wechat_code_invalid(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        code = await wx_login(phone)
        await wechat.code2session(code)
        with pytest.raises(WeChatCodeInvalid) as caught:
            await wechat.code2session(code)
        assert caught.value.detail == {"errcode": 40163}

    async def test_an_empty_code_is_refused_without_asking_wechat(
        self, wechat: WeChatClient, transport: RecordingTransport
    ) -> None:
        with pytest.raises(WeChatCodeInvalid):
            await wechat.code2session("")
        assert transport.paths == []

    async def test_too_many_logins_is_wechat_rate_limited(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        await inject_fault(phone, "/sns/jscode2session", 45011)
        with pytest.raises(WeChatRateLimited) as caught:
            await wechat.code2session(await wx_login(phone))
        assert isinstance(caught.value, RateLimited)
        assert_domain_error(caught.value, 429, "WECHAT_RATE_LIMITED")

    async def test_a_high_risk_user_is_wechat_user_blocked(
        self, wechat: WeChatClient, phone: httpx.AsyncClient
    ) -> None:
        with pytest.raises(WeChatUserBlocked) as caught:
            await wechat.code2session(await wx_login(phone, high_risk=True))
        assert_domain_error(caught.value, 403, "WECHAT_USER_BLOCKED")

    async def test_system_busy_is_wechat_unavailable(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        await inject_fault(phone, "/sns/jscode2session", -1)
        with pytest.raises(WeChatUnavailable) as caught:
            await wechat.code2session(await wx_login(phone))
        assert_domain_error(caught.value, 503, "WECHAT_UNAVAILABLE")

    @pytest.mark.parametrize("overrides", [{"secret": "not-the-secret"}, {"appid": "wx_someone_else"}])
    async def test_our_wrong_credentials_are_wechat_misconfigured_and_logged_as_an_error(
        self,
        make_client: Callable[..., WeChatClient],
        phone: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
        overrides: dict[str, str],
    ) -> None:
        client = make_client(**overrides)
        with caplog.at_level(logging.DEBUG), pytest.raises(WeChatMisconfigured) as caught:
            await client.code2session(await wx_login(phone))
        assert_domain_error(caught.value, 503, "WECHAT_MISCONFIGURED")
        errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "yiyue.wechat"]
        assert len(errors) == 1
        assert "not-the-secret" not in caplog.text

    @pytest.mark.parametrize(
        "answer",
        [
            lambda request: httpx.Response(200, text="<html>502 Bad Gateway</html>"),
            lambda request: httpx.Response(200, json=["not", "an", "object"]),
            lambda request: httpx.Response(200, json={"errcode": "40029"}),
            lambda request: httpx.Response(200, json={"openid": OPENID}),
            lambda request: httpx.Response(502, json={"errcode": 0}),
        ],
        ids=["html", "json-array", "string-errcode", "no-session-key", "http-502"],
    )
    async def test_an_answer_that_is_not_wechat_json_is_wechat_unavailable(
        self, make_client: Callable[..., WeChatClient], answer: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        with pytest.raises(WeChatUnavailable):
            await failing_client(make_client, answer).code2session("a-code")

    @pytest.mark.parametrize(
        "error", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out")], ids=["network", "timeout"]
    )
    async def test_network_errors_and_timeouts_are_wechat_unavailable(
        self, make_client: Callable[..., WeChatClient], error: httpx.HTTPError
    ) -> None:
        def fail(request: httpx.Request) -> httpx.Response:
            raise error

        with pytest.raises(WeChatUnavailable) as caught:
            await failing_client(make_client, fail).code2session("a-code")
        assert caught.value.__cause__ is error

    async def test_a_wechat_that_never_answers_times_out_as_wechat_unavailable(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen()  # the kernel completes the connection; nobody ever answers it
            base_url = f"http://127.0.0.1:{silent.getsockname()[1]}"
            async with WeChatClient(api_base=base_url, appid=APPID, secret=SECRET, timeout=0.2) as wechat:
                started = time.monotonic()
                with pytest.raises(WeChatUnavailable) as caught:
                    await wechat.code2session("a-code")
        assert isinstance(caught.value.__cause__, httpx.TimeoutException)
        assert time.monotonic() - started < 2

    async def test_the_secret_the_code_and_the_session_key_never_reach_the_logs(
        self, wechat: WeChatClient, phone: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        code = await wx_login(phone)
        with caplog.at_level(logging.DEBUG):
            session = await wechat.code2session(code)
            await wechat.access_token()
        assert "HTTP Request: GET" in caplog.text  # httpx did log the request line...
        assert "secret=***" in caplog.text  # ...with the secret masked
        for secret in (SECRET, code, session.session_key):
            assert secret not in caplog.text
        assert SECRET not in repr(wechat)


class TestRedactUrl:
    def test_masks_secret_access_token_and_login_code(self) -> None:
        url = "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=s3&js_code=c0&grant_type=x"
        assert redact_url(url) == (
            "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=***&js_code=***&grant_type=x"
        )
        assert redact_url("/cgi-bin/message/subscribe/send?access_token=T0K") == (
            "/cgi-bin/message/subscribe/send?access_token=***"
        )


@pytest.mark.asyncio
class TestAccessToken:
    async def test_the_token_is_fetched_once_and_reused(
        self, wechat: WeChatClient, transport: RecordingTransport
    ) -> None:
        first = await wechat.access_token()
        assert await wechat.access_token() == first
        assert transport.paths == [TOKEN_PATH]

    async def test_concurrent_callers_share_one_fetch(
        self, wechat: WeChatClient, transport: RecordingTransport
    ) -> None:
        tokens = await asyncio.gather(*(wechat.access_token() for _ in range(20)))
        assert len(set(tokens)) == 1
        assert transport.paths == [TOKEN_PATH]

    async def test_the_token_is_renewed_five_minutes_before_it_expires(
        self, wechat: WeChatClient, transport: RecordingTransport, clock: FrozenClock
    ) -> None:
        first = await wechat.access_token()
        clock.set(START + timedelta(seconds=7200 - 301))
        assert await wechat.access_token() == first
        clock.set(START + timedelta(seconds=7200 - 300))
        assert await wechat.access_token() != first
        assert transport.paths == [TOKEN_PATH, TOKEN_PATH]

    async def test_our_wrong_secret_is_wechat_misconfigured(self, make_client: Callable[..., WeChatClient]) -> None:
        with pytest.raises(WeChatMisconfigured):
            await make_client(secret="not-the-secret").access_token()

    async def test_system_busy_is_wechat_unavailable(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        await inject_fault(phone, TOKEN_PATH, -1)
        with pytest.raises(WeChatUnavailable):
            await wechat.access_token()
        assert await wechat.access_token()  # a failed fetch is not cached


@pytest.mark.asyncio
class TestSendSubscribeMessage:
    async def test_the_message_reaches_wechat_with_its_data_and_page(
        self, wechat: WeChatClient, phone: httpx.AsyncClient
    ) -> None:
        await logged_in_and_subscribed(wechat, phone)
        await send_booking_confirmation(wechat, page="pages/appointment/detail?id=7")
        [message] = await sent_messages(phone)
        assert message["touser"] == OPENID
        assert message["page"] == "pages/appointment/detail?id=7"
        assert message["data"] == {key: {"value": value} for key, value in BOOKING_DATA.items()}

    async def test_no_subscription_left_is_rejected_with_43101(
        self, wechat: WeChatClient, phone: httpx.AsyncClient
    ) -> None:
        await wechat.code2session(await wx_login(phone))
        with pytest.raises(SubscribeMessageRejected) as caught:
            await send_booking_confirmation(wechat)
        assert caught.value.errcode == 43101
        assert caught.value.no_subscription_left
        assert not isinstance(caught.value, DomainError)

    async def test_invalid_data_is_rejected_with_47003_naming_the_field(
        self, wechat: WeChatClient, phone: httpx.AsyncClient
    ) -> None:
        await logged_in_and_subscribed(wechat, phone)
        with pytest.raises(SubscribeMessageRejected) as caught:
            await send_booking_confirmation(wechat, data={**BOOKING_DATA, "thing2": "科" * 21})
        assert caught.value.errcode == 47003
        assert caught.value.errmsg.startswith("argument invalid! data.thing2.value")
        assert not caught.value.no_subscription_left

    async def test_a_token_replaced_elsewhere_is_refetched_and_the_send_retried(
        self, wechat: WeChatClient, phone: httpx.AsyncClient, transport: RecordingTransport
    ) -> None:
        await logged_in_and_subscribed(wechat, phone)
        stale = await wechat.access_token()
        refresh = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": True}
        assert (await phone.post(TOKEN_PATH, json=refresh)).json()["access_token"] != stale
        transport.paths.clear()
        await send_booking_confirmation(wechat)
        assert transport.paths == [SEND_PATH, TOKEN_PATH, SEND_PATH]
        assert await wechat.access_token() != stale
        assert len(await sent_messages(phone)) == 1

    async def test_a_token_expired_at_wechat_is_refetched_and_the_send_retried(
        self, make_client: Callable[..., WeChatClient], phone: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        # Our clock runs behind WeChat's, so our cache still trusts a token WeChat has expired (42001).
        wechat = make_client(clock=FrozenClock(START))
        await logged_in_and_subscribed(wechat, phone)
        await wechat.access_token()
        clock.set(START + timedelta(hours=2))
        await send_booking_confirmation(wechat)
        assert len(await sent_messages(phone)) == 1

    async def test_the_retry_happens_only_once(
        self, wechat: WeChatClient, phone: httpx.AsyncClient, transport: RecordingTransport
    ) -> None:
        await logged_in_and_subscribed(wechat, phone)
        await inject_fault(phone, SEND_PATH, 40001, count=2)
        transport.paths.clear()
        with pytest.raises(SubscribeMessageRejected) as caught:
            await send_booking_confirmation(wechat)
        assert caught.value.errcode == 40001
        assert transport.paths.count(SEND_PATH) == 2

    async def test_system_busy_is_wechat_unavailable(self, wechat: WeChatClient, phone: httpx.AsyncClient) -> None:
        await logged_in_and_subscribed(wechat, phone)
        await inject_fault(phone, SEND_PATH, -1)
        with pytest.raises(WeChatUnavailable):
            await send_booking_confirmation(wechat)

    async def test_a_token_wechat_refuses_to_give_is_wechat_misconfigured(
        self, make_client: Callable[..., WeChatClient]
    ) -> None:
        with pytest.raises(WeChatMisconfigured):
            await send_booking_confirmation(make_client(secret="not-the-secret"))


@pytest.fixture
def live_fake_wechat() -> Iterator[tuple[str, FastAPI]]:
    """The fake served by a real uvicorn on a free 127.0.0.1 port, in a background thread."""
    app = create_fake_wechat_app(appid=APPID, secret=SECRET)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake WeChat server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.asyncio
async def test_code2session_over_real_tcp(live_fake_wechat: tuple[str, FastAPI]) -> None:
    base_url, _ = live_fake_wechat
    async with httpx.AsyncClient(base_url=base_url) as phone:
        code = await wx_login(phone, unionid="oUnion_tcp")
    async with WeChatClient(api_base=base_url, appid=APPID, secret=SECRET) as wechat:
        session = await wechat.code2session(code)
        assert (session.openid, session.unionid) == (OPENID, "oUnion_tcp")
        with pytest.raises(WeChatCodeInvalid):
            await wechat.code2session(code)
