"""The fake WeChat Pay speaks API v3 over HTTP: signed requests and answers, WeChat's error codes, orders,
refunds, and notifications that are signed, encrypted and recorded.

A merchant here signs requests by hand with ``cryptography`` (not with our adapter), so these tests pin
the protocol itself; ``test_pay_client.py`` drives the same fake through the SDK.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, Request
from fastapi.responses import Response

from yiyue.core.clock import FrozenClock
from yiyue.wechat.fake import FakePayKeys, FakePayState, asgi_deliverer, create_fake_wechat_app, generate_dev_pay_keys

APPID = "wx1234567890abcdef"
SECRET = "test-app-secret-0123456789abcdef"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NOTIFY_URL = "https://yiyue.example.com/api/v1/payments/wechat/notify"
REFUND_NOTIFY_URL = "https://yiyue.example.com/api/v1/payments/wechat/refund-notify"
JSAPI = "/v3/pay/transactions/jsapi"
REFUNDS = "/v3/refund/domestic/refunds"


@pytest.fixture(scope="module")
def keys() -> FakePayKeys:
    return generate_dev_pay_keys()


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@dataclass
class Receiver:
    """Stands in for our notify endpoint: remembers what arrives and answers ``status``."""

    status: int = 200
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    async def __call__(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        self.received.append((url, dict(headers), body))
        return self.status


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def fake_app(keys: FakePayKeys, clock: FrozenClock, receiver: Receiver) -> FastAPI:
    app = create_fake_wechat_app(appid=APPID, secret=SECRET, clock=clock, pay=keys)
    state = app.state.wechat
    state.deliver = receiver
    state.auto_settle_refunds = False
    return app


@pytest.fixture
def state(fake_app: FastAPI) -> FakePayState:
    pay_state: FakePayState = fake_app.state.wechat
    return pay_state


class Merchant:
    """Signs requests as docs/WECHAT.md 4b says, and checks the signature of every 2xx answer."""

    def __init__(self, http: httpx.AsyncClient, keys: FakePayKeys) -> None:
        self.http = http
        self.keys = keys
        self.key = merchant_key(keys)

    def authorization(self, method: str, path: str, body: bytes, *, key: Any = None, serial: str | None = None) -> str:
        timestamp, nonce = str(int(datetime.now(UTC).timestamp())), secrets.token_hex(16)
        message = f"{method}\n{path}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = base64.b64encode((key or self.key).sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
        return (
            f'WECHATPAY2-SHA256-RSA2048 mchid="{self.keys.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{serial or self.keys.merchant_serial_no}"'
        )

    async def send(self, method: str, path: str, payload: Any = None, **sign: Any) -> httpx.Response:
        body = b"" if payload is None else json.dumps(payload).encode()
        headers = {"Authorization": self.authorization(method, path, body, **sign), "Content-Type": "application/json"}
        response = await self.http.request(method, path, content=body or None, headers=headers)
        if 200 <= response.status_code < 300:
            assert_signed_by_wechat_pay(response.headers, response.content, self.keys)
        return response

    async def create(self, **overrides: Any) -> httpx.Response:
        return await self.send("POST", JSAPI, order_body(self.keys, **overrides))

    async def prepay(self, out_trade_no: str = "YY202603020001", **overrides: Any) -> str:
        response = await self.create(out_trade_no=out_trade_no, **overrides)
        assert response.status_code == 200, response.text
        prepay_id: str = response.json()["prepay_id"]
        return prepay_id

    async def query(self, out_trade_no: str) -> httpx.Response:
        return await self.send("GET", f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={self.keys.mchid}")

    async def close(self, out_trade_no: str) -> httpx.Response:
        return await self.send(
            "POST", f"/v3/pay/transactions/out-trade-no/{out_trade_no}/close", {"mchid": self.keys.mchid}
        )

    async def refund(self, out_refund_no: str, refund: int, **overrides: Any) -> httpx.Response:
        body: dict[str, Any] = {
            "out_trade_no": "YY202603020001",
            "out_refund_no": out_refund_no,
            "reason": "患者退号",
            "amount": {"refund": refund, "total": 5000, "currency": "CNY"},
        }
        body.update(overrides)
        return await self.send("POST", REFUNDS, body)


_merchant_keys: dict[str, Any] = {}


def merchant_key(keys: FakePayKeys) -> Any:
    """The merchant's private key, parsed once per key (parsing checks the key, which is slow)."""
    if keys.merchant_private_key not in _merchant_keys:
        _merchant_keys[keys.merchant_private_key] = serialization.load_pem_private_key(
            keys.merchant_private_key.encode(), password=None
        )
    return _merchant_keys[keys.merchant_private_key]


def order_body(keys: FakePayKeys, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appid": APPID,
        "mchid": keys.mchid,
        "description": "北京协和医院-心内科挂号费",
        "out_trade_no": "YY202603020001",
        "time_expire": "2026-03-02T09:15:00+08:00",
        "attach": "appointment=42",
        "notify_url": NOTIFY_URL,
        "amount": {"total": 5000, "currency": "CNY"},
        "payer": {"openid": OPENID},
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def assert_signed_by_wechat_pay(headers: Mapping[str, str], body: bytes, keys: FakePayKeys) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["wechatpay-serial"] == keys.public_key_id
    assert lowered["wechatpay-signature-type"] == "WECHATPAY2-SHA256-RSA2048"
    message = f"{lowered['wechatpay-timestamp']}\n{lowered['wechatpay-nonce']}\n".encode() + body + b"\n"
    platform = serialization.load_pem_public_key(keys.public_key.encode())
    assert isinstance(platform, rsa.RSAPublicKey)
    platform.verify(base64.b64decode(lowered["wechatpay-signature"]), message, padding.PKCS1v15(), hashes.SHA256())


def decrypt(resource: Mapping[str, str], keys: FakePayKeys) -> dict[str, Any]:
    plain = AESGCM(keys.apiv3_key.encode()).decrypt(
        resource["nonce"].encode(), base64.b64decode(resource["ciphertext"]), resource["associated_data"].encode()
    )
    decrypted: dict[str, Any] = json.loads(plain)
    return decrypted


@pytest.fixture
async def http(fake_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.mch.test") as client:
        yield client


@pytest.fixture
def merchant(http: httpx.AsyncClient, keys: FakePayKeys) -> Merchant:
    return Merchant(http, keys)


async def pay(http: httpx.AsyncClient, prepay_id: str) -> dict[str, Any]:
    response = await http.post("/__fake__/pay", json={"prepay_id": prepay_id})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def paid_order(merchant: Merchant, http: httpx.AsyncClient) -> None:
    await pay(http, await merchant.prepay())


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


class TestRequestSignature:
    async def test_a_signed_request_gets_a_signed_json_answer(self, merchant: Merchant) -> None:
        response = await merchant.create()

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["request-id"]
        assert response.json()["prepay_id"].startswith("wx")

    async def test_no_authorization_is_a_sign_error(self, http: httpx.AsyncClient, keys: FakePayKeys) -> None:
        response = await http.post(JSAPI, json=order_body(keys))

        assert error_of(response) == (401, "SIGN_ERROR")
        assert "wechatpay-signature" not in response.headers

    async def test_a_signature_by_another_key_is_refused(
        self, merchant: Merchant, stranger_key: rsa.RSAPrivateKey
    ) -> None:
        response = await merchant.send("POST", JSAPI, order_body(merchant.keys), key=stranger_key)

        assert error_of(response) == (401, "SIGN_ERROR")

    async def test_the_signature_covers_the_raw_body(self, merchant: Merchant, keys: FakePayKeys) -> None:
        signed = json.dumps(order_body(keys)).encode()
        sent = signed.replace(b'"total": 5000', b'"total": 1')
        headers = {"Authorization": merchant.authorization("POST", JSAPI, signed), "Content-Type": "application/json"}

        response = await merchant.http.post(JSAPI, content=sent, headers=headers)

        assert error_of(response) == (401, "SIGN_ERROR")

    async def test_the_signature_covers_the_query(self, merchant: Merchant, keys: FakePayKeys) -> None:
        await merchant.prepay()
        path = f"/v3/pay/transactions/out-trade-no/YY202603020001?mchid={keys.mchid}"
        headers = {"Authorization": merchant.authorization("GET", path.replace("?mchid=", "?mchid=0"), b"")}

        response = await merchant.http.get(path, headers=headers)

        assert error_of(response) == (401, "SIGN_ERROR")

    async def test_an_unknown_certificate_serial_is_refused(self, merchant: Merchant) -> None:
        response = await merchant.send("POST", JSAPI, order_body(merchant.keys), serial="0123456789ABCDEF")

        assert error_of(response) == (401, "SIGN_ERROR")

    async def test_a_fake_mounted_under_a_prefix_checks_the_path_below_it(
        self, fake_app: FastAPI, keys: FakePayKeys
    ) -> None:
        outer = FastAPI()
        outer.mount("/__wechat__", fake_app)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://yiyue.test") as client:
            body = json.dumps(order_body(keys)).encode()
            authorization = Merchant(client, keys).authorization("POST", JSAPI, body)

            response = await client.post(f"/__wechat__{JSAPI}", content=body, headers={"Authorization": authorization})

        assert response.status_code == 200, response.text


class TestCreateOrder:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"description": ""},
            {"description": "挂" * 128},
            {"out_trade_no": "short"},
            {"out_trade_no": "has space 0001"},
            {"out_trade_no": "x" * 33},
            {"amount": {"total": 0, "currency": "CNY"}},
            {"amount": {"total": 50.0, "currency": "CNY"}},
            {"amount": {"total": True, "currency": "CNY"}},
            {"amount": {"total": 5000, "currency": "USD"}},
            {"payer": {}},
            {"notify_url": "http://yiyue.example.com/notify"},
            {"notify_url": "https://yiyue.example.com/notify?order=1"},
            {"notify_url": "not a url"},
            {"attach": "a" * 129},
            {"time_expire": "2026-03-02 09:15:00"},
            {"time_expire": "2026-03-02T08:00:00+08:00"},  # already past
        ],
    )
    async def test_invalid_fields_are_param_errors(self, merchant: Merchant, overrides: dict[str, Any]) -> None:
        assert error_of(await merchant.create(**overrides)) == (400, "PARAM_ERROR")

    async def test_a_body_that_is_not_json_is_a_param_error(self, merchant: Merchant) -> None:
        headers = {"Authorization": merchant.authorization("POST", JSAPI, b"{not json")}

        response = await merchant.http.post(JSAPI, content=b"{not json", headers=headers)

        assert error_of(response) == (400, "PARAM_ERROR")

    @pytest.mark.parametrize("field_name", ["appid", "mchid"])
    async def test_another_appid_or_mchid_does_not_match(self, merchant: Merchant, field_name: str) -> None:
        response = await merchant.create(**{field_name: "wx0000000000000001"})

        assert error_of(response) == (400, "APPID_MCHID_NOT_MATCH")

    async def test_the_same_order_again_returns_the_same_prepay_id(self, merchant: Merchant) -> None:
        assert await merchant.prepay() == await merchant.prepay()

    async def test_a_used_out_trade_no_with_other_parameters_is_refused(self, merchant: Merchant) -> None:
        await merchant.prepay()

        response = await merchant.create(amount={"total": 100, "currency": "CNY"})

        assert error_of(response) == (403, "OUT_TRADE_NO_USED")

    async def test_a_closed_order_cannot_be_placed_again(self, merchant: Merchant) -> None:
        await merchant.prepay()
        await merchant.close("YY202603020001")

        assert error_of(await merchant.create()) == (400, "ORDER_CLOSED")

    async def test_a_paid_order_cannot_be_placed_again(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        assert error_of(await merchant.create()) == (400, "ORDERPAID")

    async def test_after_the_prepay_id_lapses_the_same_order_gets_a_new_one(
        self, merchant: Merchant, clock: FrozenClock
    ) -> None:
        first = await merchant.prepay(time_expire=None)
        clock.set(clock.now() + timedelta(hours=2))

        assert await merchant.prepay(time_expire=None) != first


class TestQueryAndClose:
    async def test_an_unpaid_order_is_notpay_without_a_payer(self, merchant: Merchant) -> None:
        await merchant.prepay()

        response = await merchant.query("YY202603020001")

        assert response.status_code == 200
        transaction = response.json()
        assert transaction["trade_state"] == "NOTPAY"
        assert transaction["amount"] == {"total": 5000, "currency": "CNY"}
        assert transaction["payer"] == {}
        assert "transaction_id" not in transaction

    async def test_a_paid_order_has_its_transaction(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        transaction = (await merchant.query("YY202603020001")).json()

        assert transaction["trade_state"] == "SUCCESS"
        assert transaction["transaction_id"].startswith("42000")
        assert transaction["payer"] == {"openid": OPENID}
        assert transaction["attach"] == "appointment=42"
        assert transaction["success_time"] == "2026-03-02T09:00:00+08:00"
        assert transaction["amount"]["payer_total"] == 5000

    async def test_an_unknown_order_does_not_exist(self, merchant: Merchant) -> None:
        assert error_of(await merchant.query("NEVER00000001")) == (404, "ORDER_NOT_EXIST")

    async def test_a_query_needs_the_mchid(self, merchant: Merchant) -> None:
        await merchant.prepay()

        response = await merchant.send("GET", "/v3/pay/transactions/out-trade-no/YY202603020001")

        assert error_of(response) == (400, "PARAM_ERROR")

    async def test_close_answers_204_with_a_signed_empty_body(self, merchant: Merchant) -> None:
        await merchant.prepay()

        response = await merchant.close("YY202603020001")  # the signature check is inside send()

        assert response.status_code == 204
        assert response.content == b""
        assert (await merchant.query("YY202603020001")).json()["trade_state"] == "CLOSED"
        assert (await merchant.close("YY202603020001")).status_code == 204

    async def test_a_closed_order_cannot_be_paid(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        prepay_id = await merchant.prepay()
        await merchant.close("YY202603020001")

        response = await http.post("/__fake__/pay", json={"prepay_id": prepay_id})

        assert response.status_code == 400

    async def test_a_paid_order_cannot_be_closed(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        assert error_of(await merchant.close("YY202603020001")) == (400, "ORDERPAID")

    async def test_closing_an_unknown_order(self, merchant: Merchant) -> None:
        assert error_of(await merchant.close("NEVER00000001")) == (404, "ORDER_NOT_EXIST")

    async def test_an_order_past_its_time_expire_cannot_be_paid(
        self, merchant: Merchant, http: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        prepay_id = await merchant.prepay()
        clock.set(datetime(2026, 3, 2, 1, 15, tzinfo=UTC))

        response = await http.post("/__fake__/pay", json={"prepay_id": prepay_id})

        assert response.status_code == 400
        assert (await merchant.query("YY202603020001")).json()["trade_state"] == "NOTPAY"


class TestRefunds:
    async def test_a_refund_is_processing_then_settles(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        await paid_order(merchant, http)

        response = await merchant.refund("RF202603020001", 2000)

        assert response.status_code == 200
        refund = response.json()
        assert refund["status"] == "PROCESSING"
        assert refund["amount"]["refund"] == 2000
        assert refund["amount"]["total"] == 5000
        assert refund["refund_id"].startswith("50")
        assert (await merchant.query("YY202603020001")).json()["trade_state"] == "REFUND"

        settled = await http.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001"})

        assert settled.status_code == 200
        queried = (await merchant.send("GET", "/v3/refund/domestic/refunds/RF202603020001")).json()
        assert queried["status"] == "SUCCESS"
        assert queried["success_time"] == "2026-03-02T09:00:00+08:00"
        url, headers, body = receiver.received[-1]
        envelope = json.loads(body)
        assert url == NOTIFY_URL  # no notify_url in the refund request: the payment's
        assert envelope["event_type"] == "REFUND.SUCCESS"
        assert envelope["resource"]["original_type"] == "refund"
        resource = decrypt(envelope["resource"], merchant.keys)
        assert resource["refund_status"] == "SUCCESS"
        assert resource["out_refund_no"] == "RF202603020001"
        assert resource["amount"] == {"total": 5000, "refund": 2000, "payer_total": 5000, "payer_refund": 2000}
        assert_signed_by_wechat_pay(headers, body, merchant.keys)

    async def test_the_same_out_refund_no_refunds_once(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        first = (await merchant.refund("RF202603020001", 3000)).json()
        again = (await merchant.refund("RF202603020001", 3000)).json()

        assert again["refund_id"] == first["refund_id"]
        # Had the second request refunded again, 6000 out of 5000 would be gone and this would fail.
        assert (await merchant.refund("RF202603020002", 2000)).status_code == 200
        assert error_of(await merchant.refund("RF202603020003", 1)) == (400, "INVALID_REQUEST")

    async def test_the_same_out_refund_no_for_another_amount_is_refused(
        self, merchant: Merchant, http: httpx.AsyncClient
    ) -> None:
        await paid_order(merchant, http)
        await merchant.refund("RF202603020001", 3000)

        assert error_of(await merchant.refund("RF202603020001", 1000)) == (400, "INVALID_REQUEST")

    async def test_more_than_was_paid_cannot_be_refunded(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        assert error_of(await merchant.refund("RF202603020001", 5001)) == (400, "INVALID_REQUEST")

    async def test_a_closed_refund_gives_its_amount_back(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)
        await merchant.refund("RF202603020001", 5000)
        await http.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001", "status": "CLOSED"})

        assert (await merchant.refund("RF202603020002", 5000)).status_code == 200

    async def test_an_unpaid_order_cannot_be_refunded(self, merchant: Merchant) -> None:
        await merchant.prepay()

        assert error_of(await merchant.refund("RF202603020001", 100)) == (400, "INVALID_REQUEST")

    async def test_an_unknown_order_cannot_be_refunded(self, merchant: Merchant) -> None:
        assert error_of(await merchant.refund("RF202603020001", 100)) == (404, "RESOURCE_NOT_EXISTS")

    async def test_the_total_must_be_the_orders(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)

        response = await merchant.refund(
            "RF202603020001", 100, amount={"refund": 100, "total": 4000, "currency": "CNY"}
        )

        assert error_of(response) == (400, "PARAM_ERROR")

    async def test_a_refund_found_by_transaction_id(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)
        transaction_id = (await merchant.query("YY202603020001")).json()["transaction_id"]

        response = await merchant.refund("RF202603020001", 100, out_trade_no=None, transaction_id=transaction_id)

        assert response.status_code == 200, response.text
        assert response.json()["out_trade_no"] == "YY202603020001"

    async def test_an_unknown_refund_does_not_exist(self, merchant: Merchant) -> None:
        response = await merchant.send("GET", "/v3/refund/domestic/refunds/RF000000000000")

        assert error_of(response) == (404, "RESOURCE_NOT_EXISTS")

    @pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
    async def test_a_refund_can_fail(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver, status: str
    ) -> None:
        await paid_order(merchant, http)
        await merchant.refund("RF202603020001", 100, notify_url=REFUND_NOTIFY_URL)

        await http.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001", "status": status})

        url, _, body = receiver.received[-1]
        assert url == REFUND_NOTIFY_URL
        assert json.loads(body)["event_type"] == f"REFUND.{status}"
        refund = (await merchant.send("GET", "/v3/refund/domestic/refunds/RF202603020001")).json()
        assert refund["status"] == status
        assert "success_time" not in refund

    async def test_a_refund_settles_once(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        await paid_order(merchant, http)
        await merchant.refund("RF202603020001", 100)
        await http.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001"})

        again = await http.post("/__fake__/refund/settle", json={"out_refund_no": "RF202603020001"})

        assert again.status_code == 400

    async def test_refunds_settle_by_themselves_when_asked_to(
        self, merchant: Merchant, http: httpx.AsyncClient, state: FakePayState, receiver: Receiver
    ) -> None:
        state.auto_settle_refunds, state.refund_settle_delay = True, 0.0
        await paid_order(merchant, http)

        answered = (await merchant.refund("RF202603020001", 100)).json()
        await state.drain()

        assert answered["status"] == "PROCESSING"
        refund = (await merchant.send("GET", "/v3/refund/domestic/refunds/RF202603020001")).json()
        assert refund["status"] == "SUCCESS"
        assert json.loads(receiver.received[-1][2])["event_type"] == "REFUND.SUCCESS"


class TestNotifications:
    async def test_paying_notifies_the_order_signed_and_encrypted(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver, keys: FakePayKeys
    ) -> None:
        prepay_id = await merchant.prepay()

        answer = await pay(http, prepay_id)

        assert answer["notification"]["http_status"] == 200
        [(url, headers, body)] = receiver.received
        assert url == NOTIFY_URL
        assert headers["Content-Type"] == "application/json"
        assert headers["Wechatpay-Timestamp"] == str(int(START.timestamp()))
        assert_signed_by_wechat_pay(headers, body, keys)
        envelope = json.loads(body)
        assert envelope["event_type"] == "TRANSACTION.SUCCESS"
        assert envelope["resource_type"] == "encrypt-resource"
        resource = envelope["resource"]
        assert resource["algorithm"] == "AEAD_AES_256_GCM"
        assert resource["associated_data"] == "transaction"
        assert len(resource["nonce"]) == 12 and resource["nonce"].isascii()
        transaction = decrypt(resource, keys)
        assert transaction["out_trade_no"] == "YY202603020001"
        assert transaction["trade_state"] == "SUCCESS"
        assert transaction["trade_type"] == "JSAPI"
        assert transaction["payer"] == {"openid": OPENID}
        assert transaction["amount"]["total"] == 5000
        assert transaction["mchid"] == keys.mchid and transaction["appid"] == APPID

    async def test_the_ciphertext_does_not_open_with_another_key(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver, keys: FakePayKeys
    ) -> None:
        await pay(http, await merchant.prepay())
        resource = json.loads(receiver.received[0][2])["resource"]

        with pytest.raises(InvalidTag):
            decrypt(resource, replace(keys, apiv3_key="0" * 32))

    async def test_deliveries_are_listed_with_their_status(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver
    ) -> None:
        receiver.status = 500
        await pay(http, await merchant.prepay())

        [listed] = (await http.get("/__fake__/pay/notifications")).json()

        assert listed["event_type"] == "TRANSACTION.SUCCESS"
        assert listed["http_status"] == 500
        assert listed["delivered"] is False
        assert listed["out_trade_no"] == "YY202603020001"

    async def test_an_unreachable_receiver_is_a_recorded_failure(
        self, merchant: Merchant, http: httpx.AsyncClient, state: FakePayState
    ) -> None:
        async def unreachable(url: str, headers: Mapping[str, str], body: bytes) -> int:
            raise httpx.ConnectError("refused")

        state.deliver = unreachable

        answer = await pay(http, await merchant.prepay())

        assert answer["notification"]["attempts"] == [
            {"at": "2026-03-02T09:00:00+08:00", "http_status": None, "error": "ConnectError"}
        ]

    async def test_redelivery_resends_the_same_notification_signed_afresh(
        self, merchant: Merchant, http: httpx.AsyncClient, receiver: Receiver, clock: FrozenClock, keys: FakePayKeys
    ) -> None:
        receiver.status = 500
        await pay(http, await merchant.prepay())
        [first] = (await http.get("/__fake__/pay/notifications")).json()
        receiver.status = 200
        clock.set(clock.now() + timedelta(seconds=15))

        again = await http.post("/__fake__/pay/redeliver", json={"id": first["id"]})

        assert again.status_code == 200
        assert [a["http_status"] for a in again.json()["attempts"]] == [500, 200]
        (_, headers_1, body_1), (_, headers_2, body_2) = receiver.received
        assert body_1 == body_2
        assert json.loads(body_2)["id"] == first["id"]
        assert int(headers_2["Wechatpay-Timestamp"]) == int(headers_1["Wechatpay-Timestamp"]) + 15
        assert_signed_by_wechat_pay(headers_2, body_2, keys)

    async def test_redelivering_an_unknown_notification(self, http: httpx.AsyncClient) -> None:
        assert (await http.post("/__fake__/pay/redeliver", json={"id": "nope"})).status_code == 400

    async def test_paying_an_unknown_prepay_id(self, http: httpx.AsyncClient) -> None:
        assert (await http.post("/__fake__/pay", json={"prepay_id": "wx-unknown"})).status_code == 400

    async def test_paying_twice(self, merchant: Merchant, http: httpx.AsyncClient) -> None:
        prepay_id = await merchant.prepay()
        await pay(http, prepay_id)

        assert (await http.post("/__fake__/pay", json={"prepay_id": prepay_id})).status_code == 400

    async def test_an_asgi_app_in_process_can_receive_notifications(
        self, merchant: Merchant, http: httpx.AsyncClient, state: FakePayState, keys: FakePayKeys
    ) -> None:
        received: list[bytes] = []
        notified = FastAPI()

        @notified.post("/api/v1/payments/wechat/notify")
        async def notify(request: Request) -> Response:
            body = await request.body()
            assert_signed_by_wechat_pay(request.headers, body, keys)
            received.append(body)
            return Response(status_code=204)

        state.deliver = asgi_deliverer(notified)

        answer = await pay(http, await merchant.prepay())

        assert answer["notification"]["http_status"] == 204
        assert len(received) == 1


class TestState:
    async def test_reset_forgets_orders_and_notifications(
        self, merchant: Merchant, http: httpx.AsyncClient, keys: FakePayKeys
    ) -> None:
        await paid_order(merchant, http)

        assert (await http.post("/__fake__/reset")).status_code == 204

        assert error_of(await merchant.query("YY202603020001")) == (404, "ORDER_NOT_EXIST")
        assert (await http.get("/__fake__/pay/notifications")).json() == []

    def test_keys_must_pair_up(self, keys: FakePayKeys) -> None:
        other = generate_dev_pay_keys()

        with pytest.raises(ValueError, match="pair"):
            replace(keys, platform_private_key=other.platform_private_key)

    def test_keys_are_kept_out_of_repr(self, keys: FakePayKeys) -> None:
        assert "PRIVATE" not in repr(keys)
        assert keys.apiv3_key not in repr(keys)

    def test_the_merchant_public_key_is_the_private_keys_pair(self, keys: FakePayKeys) -> None:
        public = serialization.load_pem_public_key(keys.merchant_public_key.encode())
        assert isinstance(public, rsa.RSAPublicKey)
        signature = merchant_key(keys).sign(b"x", padding.PKCS1v15(), hashes.SHA256())

        public.verify(signature, b"x", padding.PKCS1v15(), hashes.SHA256())
        with pytest.raises(InvalidSignature):
            public.verify(signature, b"y", padding.PKCS1v15(), hashes.SHA256())

    def test_the_fake_without_pay_has_no_pay_endpoints(self) -> None:
        app = create_fake_wechat_app(appid=APPID, secret=SECRET)

        assert not isinstance(app.state.wechat, FakePayState)
        assert JSAPI not in {getattr(route, "path", None) for route in app.routes}
