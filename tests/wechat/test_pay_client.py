"""Our WeChat Pay adapter (over the ``wechatpayv3`` SDK) against the fake WeChat Pay, end to end: orders,
``wx.requestPayment`` parameters, notifications, refunds, error mapping, and every way a notification
can be refused."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.live import serving
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.wechat.errors import (
    InvalidPayNotification,
    WeChatPayOrderConflict,
    WeChatPayRejected,
    WeChatPayUnavailable,
)
from yiyue.wechat.fake import FakePayKeys, FakePayState, create_fake_wechat_app, generate_dev_pay_keys
from yiyue.wechat.pay import (
    WECHAT_PAY_GATEWAY,
    PayConfig,
    PayNotification,
    Refund,
    Transaction,
    WeChatPayClient,
    _point_at,
)

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret-0123456789abcdef"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
GATEWAY = "http://api.mch.test"
NOTIFY_URL = "https://yiyue.example.com/api/v1/payments/wechat/notify"
OUT_TRADE_NO = "YY202603020001"


@pytest.fixture(scope="module")
def keys() -> FakePayKeys:
    return generate_dev_pay_keys()


@pytest.fixture(scope="module")
def other_keys() -> FakePayKeys:
    """A second set, for forged signatures and wrong keys."""
    return generate_dev_pay_keys()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@dataclass
class Inbox:
    """Our notify endpoint, reduced to what it receives."""

    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        self.received.append((dict(headers), body))
        return 200

    @property
    def last(self) -> tuple[dict[str, str], bytes]:
        return self.received[-1]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def fake_app(keys: FakePayKeys, clock: FrozenClock, inbox: Inbox) -> FastAPI:
    app = create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock, pay=keys)
    app.state.wechat.deliver = inbox
    app.state.wechat.auto_settle_refunds = False
    return app


@pytest.fixture
def config(keys: FakePayKeys) -> PayConfig:
    return keys.pay_config(appid=APPID, gateway=GATEWAY, notify_url=NOTIFY_URL)


@pytest.fixture
async def pay(config: PayConfig, fake_app: FastAPI, clock: FrozenClock) -> AsyncIterator[WeChatPayClient]:
    async with WeChatPayClient(config, transport=httpx.ASGITransport(app=fake_app), clock=clock) as client:
        yield client


@pytest.fixture
async def helpers(fake_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The ``/__fake__`` side: what the patient and WeChat's back office do."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake_app), base_url=GATEWAY) as client:
        yield client


async def place(pay: WeChatPayClient, out_trade_no: str = OUT_TRADE_NO, amount_fen: int = 5000) -> str:
    return await pay.create_jsapi_order(
        out_trade_no=out_trade_no,
        description="北京协和医院-心内科挂号费",
        amount_fen=amount_fen,
        payer_openid=OPENID,
        time_expire=START + timedelta(minutes=15),
        attach="appointment=42",
    )


async def patient_pays(helpers: httpx.AsyncClient, prepay_id: str) -> None:
    response = await helpers.post("/__fake__/pay", json={"prepay_id": prepay_id})
    assert response.status_code == 200, response.text


async def paid(pay: WeChatPayClient, helpers: httpx.AsyncClient) -> None:
    await patient_pays(helpers, await place(pay))


class TestOrders:
    async def test_placing_an_order_gives_a_prepay_id_and_again_the_same(self, pay: WeChatPayClient) -> None:
        prepay_id = await place(pay)

        assert prepay_id.startswith("wx")
        assert await place(pay) == prepay_id

    async def test_payment_params_are_signed_with_the_merchant_key(
        self, pay: WeChatPayClient, keys: FakePayKeys
    ) -> None:
        params = await pay.request_payment_params(await place(pay))

        assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
        assert params["timeStamp"] == str(int(START.timestamp()))
        assert params["signType"] == "RSA"
        assert params["package"].startswith("prepay_id=wx")
        assert len(params["nonceStr"]) <= 32
        message = f"{APPID}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
        keys.merchant_key.verify(base64.b64decode(params["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())

    async def test_an_unpaid_order(self, pay: WeChatPayClient) -> None:
        await place(pay)

        assert await pay.query_order(OUT_TRADE_NO) == Transaction(
            out_trade_no=OUT_TRADE_NO,
            transaction_id=None,
            trade_state="NOTPAY",
            amount_total_fen=5000,
            payer_openid=None,
            success_time=None,
            attach="appointment=42",
        )

    async def test_a_paid_order(self, pay: WeChatPayClient, helpers: httpx.AsyncClient) -> None:
        await paid(pay, helpers)

        transaction = await pay.query_order(OUT_TRADE_NO)

        assert transaction is not None
        assert transaction.trade_state == "SUCCESS"
        assert transaction.transaction_id and transaction.transaction_id.startswith("42000")
        assert transaction.payer_openid == OPENID
        assert transaction.success_time == START
        assert transaction.success_time is not None and transaction.success_time.utcoffset() == timedelta(hours=8)

    async def test_an_order_wechat_never_saw_is_none(self, pay: WeChatPayClient) -> None:
        assert await pay.query_order("NEVER00000001") is None

    async def test_closing_an_order(self, pay: WeChatPayClient) -> None:
        await place(pay)

        await pay.close_order(OUT_TRADE_NO)
        await pay.close_order(OUT_TRADE_NO)  # twice is fine
        await pay.close_order("NEVER00000001")  # never placed: nothing to close

        transaction = await pay.query_order(OUT_TRADE_NO)
        assert transaction is not None and transaction.trade_state == "CLOSED"

    async def test_a_closed_order_cannot_be_placed_again(self, pay: WeChatPayClient) -> None:
        await place(pay)
        await pay.close_order(OUT_TRADE_NO)

        with pytest.raises(WeChatPayOrderConflict) as raised:
            await place(pay)

        assert raised.value.wechat_code == "ORDER_CLOSED"
        assert raised.value.status == 409

    async def test_a_used_out_trade_no_with_another_amount(self, pay: WeChatPayClient) -> None:
        await place(pay)

        with pytest.raises(WeChatPayOrderConflict) as raised:
            await place(pay, amount_fen=100)

        assert raised.value.wechat_code == "OUT_TRADE_NO_USED"

    async def test_a_paid_order_cannot_be_closed(self, pay: WeChatPayClient, helpers: httpx.AsyncClient) -> None:
        await paid(pay, helpers)

        with pytest.raises(WeChatPayOrderConflict) as raised:
            await pay.close_order(OUT_TRADE_NO)

        assert raised.value.wechat_code == "ORDERPAID"

    @pytest.mark.parametrize(
        "overrides",
        [
            {"amount_fen": 0},
            {"amount_fen": 50.0},
            {"out_trade_no": "short"},
            {"out_trade_no": "has/slash0001"},
            {"time_expire": datetime(2026, 3, 2, 9, 15)},
        ],
    )
    async def test_arguments_that_would_never_be_accepted_are_programming_errors(
        self, pay: WeChatPayClient, overrides: dict[str, Any]
    ) -> None:
        arguments: dict[str, Any] = {
            "out_trade_no": OUT_TRADE_NO,
            "description": "挂号费",
            "amount_fen": 5000,
            "payer_openid": OPENID,
            "time_expire": START + timedelta(minutes=15),
        }

        with pytest.raises(ValueError):
            await pay.create_jsapi_order(**{**arguments, **overrides})


class TestRefunds:
    async def test_a_refund_is_processing_until_wechat_settles_it(
        self, pay: WeChatPayClient, helpers: httpx.AsyncClient
    ) -> None:
        await paid(pay, helpers)

        refund = await pay.refund(
            out_refund_no="RF202603020001",
            out_trade_no=OUT_TRADE_NO,
            total_fen=5000,
            refund_fen=2000,
            reason="患者退号",
        )

        assert refund.status == "PROCESSING"
        assert refund.amount_refund_fen == 2000
        assert refund.success_time is None
        await helpers.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001"})
        assert await pay.query_refund("RF202603020001") == Refund(
            out_refund_no="RF202603020001",
            refund_id=refund.refund_id,
            status="SUCCESS",
            amount_refund_fen=2000,
            success_time=START,
        )

    async def test_the_same_refund_twice_is_one_refund(self, pay: WeChatPayClient, helpers: httpx.AsyncClient) -> None:
        await paid(pay, helpers)
        arguments: dict[str, Any] = {
            "out_refund_no": "RF202603020001",
            "out_trade_no": OUT_TRADE_NO,
            "total_fen": 5000,
            "refund_fen": 5000,
            "reason": "",
        }

        first, again = await pay.refund(**arguments), await pay.refund(**arguments)

        assert again.refund_id == first.refund_id

    async def test_more_than_was_paid_is_rejected(self, pay: WeChatPayClient, helpers: httpx.AsyncClient) -> None:
        await paid(pay, helpers)

        with pytest.raises(WeChatPayRejected) as raised:
            await pay.refund(
                out_refund_no="RF202603020001", out_trade_no=OUT_TRADE_NO, total_fen=5000, refund_fen=5001, reason=""
            )

        assert raised.value.wechat_code == "INVALID_REQUEST"
        assert raised.value.status == 502

    async def test_an_unknown_refund_is_none(self, pay: WeChatPayClient) -> None:
        assert await pay.query_refund("RF000000000000") is None


class TestNotifications:
    async def test_the_payment_notification_parses(
        self, pay: WeChatPayClient, helpers: httpx.AsyncClient, inbox: Inbox, clock: FrozenClock
    ) -> None:
        await paid(pay, helpers)
        headers, body = inbox.last

        notification = await pay.parse_notification(headers, body, now=clock.now())

        assert isinstance(notification, PayNotification)
        assert notification.event_type == "TRANSACTION.SUCCESS"
        assert notification.id == json.loads(body)["id"]
        assert notification.resource["out_trade_no"] == OUT_TRADE_NO
        assert notification.resource["trade_state"] == "SUCCESS"
        assert notification.resource["amount"]["total"] == 5000
        assert notification.resource["payer"] == {"openid": OPENID}

    async def test_the_refund_notification_parses(
        self, pay: WeChatPayClient, helpers: httpx.AsyncClient, inbox: Inbox, clock: FrozenClock
    ) -> None:
        await paid(pay, helpers)
        await pay.refund(
            out_refund_no="RF202603020001", out_trade_no=OUT_TRADE_NO, total_fen=5000, refund_fen=100, reason=""
        )
        await helpers.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001", "status": "ABNORMAL"})

        notification = await pay.parse_notification(*inbox.last, now=clock.now())

        assert notification.event_type == "REFUND.ABNORMAL"
        assert notification.resource["refund_status"] == "ABNORMAL"
        assert notification.resource["amount"]["refund"] == 100

    async def test_header_names_are_case_insensitive(
        self, pay: WeChatPayClient, helpers: httpx.AsyncClient, inbox: Inbox, clock: FrozenClock
    ) -> None:
        await paid(pay, helpers)
        headers, body = inbox.last

        notification = await pay.parse_notification({k.lower(): v for k, v in headers.items()}, body, now=clock.now())

        assert notification.event_type == "TRANSACTION.SUCCESS"


def _sign(key: rsa.RSAPrivateKey, headers: Mapping[str, str], body: bytes) -> str:
    message = f"{headers['Wechatpay-Timestamp']}\n{headers['Wechatpay-Nonce']}\n".encode() + body + b"\n"
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


class TestRefusedNotifications:
    """Each way a notification can fail, and the reason ``InvalidPayNotification`` gives."""

    @pytest.fixture
    async def delivered(
        self, pay: WeChatPayClient, helpers: httpx.AsyncClient, inbox: Inbox
    ) -> tuple[dict[str, str], bytes]:
        await paid(pay, helpers)
        return inbox.last

    async def refused(
        self, pay: WeChatPayClient, headers: Mapping[str, str], body: bytes, *, now: datetime = START
    ) -> str:
        with pytest.raises(InvalidPayNotification) as raised:
            await pay.parse_notification(headers, body, now=now)
        assert raised.value.status == 400
        return raised.value.reason

    async def test_a_forged_signature(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes], other_keys: FakePayKeys
    ) -> None:
        headers, body = delivered
        forged = {**headers, "Wechatpay-Signature": _sign(other_keys.platform_key, headers, body)}

        assert await self.refused(pay, forged, body) == "signature does not verify"

    async def test_a_signature_that_is_not_base64(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes]
    ) -> None:
        headers, body = delivered

        reason = await self.refused(pay, {**headers, "Wechatpay-Signature": "not base64!"}, body)

        assert reason == "signature does not verify"

    async def test_another_serial(self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes]) -> None:
        headers, body = delivered

        reason = await self.refused(pay, {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000000000"}, body)

        assert reason == "Wechatpay-Serial is not our WeChat Pay public key id"

    async def test_a_tampered_body(self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes]) -> None:
        headers, body = delivered
        tampered = body.replace(b"TRANSACTION.SUCCESS", b"TRANSACTION.SUCCESX")

        assert await self.refused(pay, headers, tampered) == "signature does not verify"

    async def test_the_wrong_apiv3_key(self, config: PayConfig, delivered: tuple[dict[str, str], bytes]) -> None:
        headers, body = delivered
        wrong = WeChatPayClient(replace(config, apiv3_key=secrets.token_hex(16)))

        assert await self.refused(wrong, headers, body) == "resource does not decrypt with our APIv3 key"
        await wrong.aclose()

    async def test_a_tampered_ciphertext_even_when_validly_signed(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes], keys: FakePayKeys
    ) -> None:
        headers, body = delivered
        envelope = json.loads(body)
        sealed = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
        sealed[0] ^= 1
        envelope["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode()
        resealed = json.dumps(envelope).encode()
        resigned = {**headers, "Wechatpay-Signature": _sign(keys.platform_key, headers, resealed)}

        assert await self.refused(pay, resigned, resealed) == "resource does not decrypt with our APIv3 key"

    async def test_a_stale_notification(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes], clock: FrozenClock
    ) -> None:
        headers, body = delivered
        clock.set(START + timedelta(minutes=5, seconds=1))

        reason = await self.refused(pay, headers, body, now=clock.now())

        assert reason == "Wechatpay-Timestamp is more than 5 minutes away from now"
        assert (await pay.parse_notification(headers, body, now=START + timedelta(minutes=5))).id

    async def test_a_notification_from_the_future(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes]
    ) -> None:
        headers, body = delivered

        reason = await self.refused(pay, headers, body, now=START - timedelta(minutes=6))

        assert reason == "Wechatpay-Timestamp is more than 5 minutes away from now"

    @pytest.mark.parametrize(
        "header",
        [
            "Wechatpay-Timestamp",
            "Wechatpay-Nonce",
            "Wechatpay-Signature",
            "Wechatpay-Serial",
            "Wechatpay-Signature-Type",
        ],
    )
    async def test_a_missing_header(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes], header: str
    ) -> None:
        headers, body = delivered
        del headers[header]

        assert await self.refused(pay, headers, body) == f"missing header {header}"

    async def test_another_signature_type(self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes]) -> None:
        headers, body = delivered

        reason = await self.refused(pay, {**headers, "Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, body)

        assert reason == "unsupported Wechatpay-Signature-Type"

    async def test_a_signed_body_that_is_not_json(
        self, pay: WeChatPayClient, delivered: tuple[dict[str, str], bytes], keys: FakePayKeys
    ) -> None:
        headers, _ = delivered
        body = b"<xml>v2</xml>"

        reason = await self.refused(
            pay, {**headers, "Wechatpay-Signature": _sign(keys.platform_key, headers, body)}, body
        )

        assert reason == "body is not a JSON object"


class TestGateway:
    def test_point_at_sends_the_sdk_to_the_gateway_through_our_client(self) -> None:
        class Core:
            _gate_way = WECHAT_PAY_GATEWAY
            _client = None

        class Sdk:
            _core = Core()

        http = httpx.AsyncClient()
        _point_at(Sdk(), "http://yiyue.test/__wechat__/", http)

        assert Sdk._core._gate_way == "http://yiyue.test/__wechat__"
        assert Sdk._core._client is http

    def test_point_at_refuses_an_sdk_it_does_not_know(self) -> None:
        class Sdk:
            _core = object()

        with pytest.raises(RuntimeError, match="wechatpayv3"):
            _point_at(Sdk(), GATEWAY, httpx.AsyncClient())

    async def test_requests_go_to_the_gateway_and_sign_the_path_below_it(
        self, config: PayConfig, fake_app: FastAPI, clock: FrozenClock
    ) -> None:
        outer = FastAPI()
        outer.mount("/__wechat__", fake_app)
        seen: list[httpx.URL] = []
        inner = httpx.ASGITransport(app=outer)

        async def record(request: httpx.Request) -> httpx.Response:
            seen.append(request.url)
            return await inner.handle_async_request(request)

        mounted = replace(config, gateway="http://yiyue.test/__wechat__")
        async with WeChatPayClient(mounted, transport=httpx.MockTransport(record), clock=clock) as client:
            await client.query_order(OUT_TRADE_NO)

        assert [str(url) for url in seen] == [
            f"http://yiyue.test/__wechat__/v3/pay/transactions/out-trade-no/{OUT_TRADE_NO}?mchid={config.mchid}"
        ]

    async def test_over_a_real_socket(self, keys: FakePayKeys, clock: FrozenClock) -> None:
        """No transport injected: the SDK's requests and the fake's notification travel over 127.0.0.1."""
        received: list[tuple[dict[str, str], bytes]] = []
        notified = FastAPI()

        @notified.post("/notify")
        async def notify(request: Request) -> Response:
            received.append((dict(request.headers), await request.body()))
            return Response(status_code=204)

        fake = create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock, pay=keys)
        with serving(fake) as gateway, serving(notified) as app_base:
            config = keys.pay_config(appid=APPID, gateway=gateway, notify_url=f"{app_base}/notify")
            async with WeChatPayClient(config, clock=clock) as client, httpx.AsyncClient(base_url=gateway) as h:
                await patient_pays(h, await place(client))
                transaction = await client.query_order(OUT_TRADE_NO)
                [(headers, body)] = received
                notification = await client.parse_notification(headers, body, now=clock.now())

        assert transaction is not None and transaction.trade_state == "SUCCESS"
        assert notification.resource["transaction_id"] == transaction.transaction_id


class TestUnavailable:
    async def client_answered_by(self, config: PayConfig, handler: Any, clock: FrozenClock) -> WeChatPayClient:
        return WeChatPayClient(config, transport=httpx.MockTransport(handler), clock=clock)

    async def test_an_unreachable_gateway(self, config: PayConfig, clock: FrozenClock) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        async with await self.client_answered_by(config, refuse, clock) as client:
            with pytest.raises(WeChatPayUnavailable):
                await client.query_order(OUT_TRADE_NO)

    @pytest.mark.parametrize(
        ("status", "code"), [(500, "SYSTEM_ERROR"), (429, "RATELIMIT_EXCEEDED"), (503, "SYSTEM_ERROR")]
    )
    async def test_wechat_pay_busy(self, config: PayConfig, clock: FrozenClock, status: int, code: str) -> None:
        def busy(request: httpx.Request) -> httpx.Response:
            return httpx.Response(status, json={"code": code, "message": "系统繁忙"})

        async with await self.client_answered_by(config, busy, clock) as client:
            with pytest.raises(WeChatPayUnavailable) as raised:
                await place(client)

        assert raised.value.detail == {"http_status": status, "wechat_code": code}

    async def test_an_unsigned_answer_is_not_trusted(self, config: PayConfig, clock: FrozenClock) -> None:
        def unsigned(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, json={"prepay_id": "wx-from-a-stranger"})

        async with await self.client_answered_by(config, unsigned, clock) as client:
            with pytest.raises(WeChatPayUnavailable):
                await place(client)

    async def test_an_answer_signed_by_another_key_is_not_trusted(
        self, keys: FakePayKeys, other_keys: FakePayKeys, clock: FrozenClock
    ) -> None:
        """The fake signs with one WeChat Pay key; we trust another (same id), as after a botched key rotation."""
        impostor = create_fake_wechat_app(
            appid=APPID, secret=SECRET, clock=clock, pay=replace(other_keys, **_merchant_of(keys))
        )
        config = keys.pay_config(appid=APPID, gateway=GATEWAY, notify_url=NOTIFY_URL)
        config = replace(config, public_key_id=other_keys.public_key_id)

        async with WeChatPayClient(config, transport=httpx.ASGITransport(app=impostor), clock=clock) as client:
            with pytest.raises(WeChatPayUnavailable):
                await place(client)

    async def test_a_merchant_key_wechat_does_not_know_is_a_sign_error(
        self, keys: FakePayKeys, other_keys: FakePayKeys, fake_app: FastAPI, clock: FrozenClock, caplog: Any
    ) -> None:
        config = replace(
            keys.pay_config(appid=APPID, gateway=GATEWAY, notify_url=NOTIFY_URL),
            merchant_private_key=other_keys.merchant_private_key,
        )

        async with WeChatPayClient(config, transport=httpx.ASGITransport(app=fake_app), clock=clock) as client:
            with caplog.at_level(logging.ERROR, logger="yiyue.wechat.pay"), pytest.raises(WeChatPayRejected) as raised:
                await place(client)

        assert raised.value.wechat_code == "SIGN_ERROR"
        assert "rejects our configuration" in caplog.text
        assert "PRIVATE KEY" not in caplog.text


def _merchant_of(keys: FakePayKeys) -> dict[str, str]:
    return {
        "mchid": keys.mchid,
        "merchant_private_key": keys.merchant_private_key,
        "merchant_serial_no": keys.merchant_serial_no,
        "apiv3_key": keys.apiv3_key,
    }


class TestConfig:
    def test_keys_stay_out_of_reprs(self, config: PayConfig, pay: WeChatPayClient) -> None:
        for text in (repr(config), repr(pay)):
            assert "PRIVATE KEY" not in text
            assert config.apiv3_key not in text

    @pytest.mark.parametrize(
        "overrides",
        [
            {"apiv3_key": "short"},
            {"public_key_id": "0123456789"},
            {"gateway": "api.mch.weixin.qq.com"},
            {"notify_url": ""},
        ],
    )
    def test_a_config_that_cannot_work_is_refused(self, config: PayConfig, overrides: dict[str, str]) -> None:
        with pytest.raises(ValueError):
            replace(config, **overrides)

    def test_keys_that_do_not_load_are_refused(self, config: PayConfig) -> None:
        with pytest.raises(ValueError, match="keys do not load"):
            WeChatPayClient(replace(config, merchant_private_key="-----BEGIN PRIVATE KEY-----\nAAAA\n"))

    @pytest.fixture
    def var_dir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
        monkeypatch.setenv("YIYUE_VAR_DIR", str(tmp_path))
        for name in ("WECHAT_PAY_API_BASE", "WECHAT_PAY_PUBLIC_KEY", "WECHAT_PAY_MERCHANT_PRIVATE_KEY"):
            monkeypatch.delenv(f"YIYUE_{name}", raising=False)
        yield tmp_path

    async def test_development_settings_pair_the_adapter_with_the_in_process_fake(
        self, var_dir: Path, clock: FrozenClock
    ) -> None:
        settings = Settings(database_url="sqlite+aiosqlite://")
        again = Settings(database_url="sqlite+aiosqlite://")
        assert again.wechat_pay_merchant_private_key == settings.wechat_pay_merchant_private_key  # kept on disk

        fake = create_fake_wechat_app(
            appid=settings.wechat_appid,
            secret=settings.wechat_secret,
            clock=clock,
            pay=FakePayKeys.from_settings(settings),
        )
        state: FakePayState = fake.state.wechat
        state.deliver = Inbox()
        config = PayConfig.from_settings(settings)
        async with WeChatPayClient(config, transport=httpx.ASGITransport(app=fake), clock=clock) as client:
            prepay_id = await place(client)

        assert config.gateway == "http://fake-wechat.invalid"
        assert prepay_id.startswith("wx")

    def test_production_needs_every_pay_setting(self, var_dir: Path) -> None:
        with pytest.raises(ValueError, match="YIYUE_WECHAT_PAY_MERCHANT_PRIVATE_KEY"):
            Settings(
                environment="production",
                database_url="sqlite+aiosqlite://",
                wechat_api_base="https://api.weixin.qq.com",
                secret_key="s" * 48,
                data_key=base64.b64encode(b"k" * 32).decode(),
                blind_index_key=base64.b64encode(b"i" * 32).decode(),
                wechat_secret="secret",
            )

    def test_a_pem_may_come_from_a_file(self, var_dir: Path, keys: FakePayKeys) -> None:
        pem = var_dir / "apiclient_key.pem"
        pem.write_text(keys.merchant_private_key)

        settings = Settings(database_url="sqlite+aiosqlite://", wechat_pay_merchant_private_key=str(pem))

        assert settings.wechat_pay_merchant_private_key == keys.merchant_private_key
        assert "PRIVATE KEY" not in repr(settings)


def test_the_merchant_key_pair_is_real(keys: FakePayKeys) -> None:
    private = serialization.load_pem_private_key(keys.merchant_private_key.encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.public_key().public_numbers() == keys.merchant_key.public_numbers()
