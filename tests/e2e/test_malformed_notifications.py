"""Notifications signed with WeChat Pay's real key but malformed inside (a resource that is not JSON or
lacks a field, an amount of the wrong type, an order number in no format of ours, a ciphertext that does
not decrypt, a refund status nobody knows) are refused with a 4xx in WeChat Pay's reply format, change
nothing, and are logged as such without any personal data; none of them is a 500."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx
import pytest

from tests.e2e.test_notify_callbacks import _decrypted, fake, held, post, state
from yiyue.core.db import Database

__all__ = ["fake", "held"]  # fixtures, used by name

NONCE = "n0nce0n0nce0"


def envelope(
    fake: Any, plain: bytes, *, event_type: str = "TRANSACTION.SUCCESS", original_type: str = "transaction"
) -> dict[str, Any]:
    """A notification envelope around ``plain``, encrypted with the APIv3 key as WeChat Pay does."""
    sealed = fake._aes.encrypt(NONCE.encode(), plain, original_type.encode())
    return {
        "id": "EV-2026-0001",
        "create_time": "2026-03-02T09:00:00+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": original_type,
            "nonce": NONCE,
        },
    }


async def send_signed(client: httpx.AsyncClient, fake: Any, body: bytes) -> httpx.Response:
    return await post(client, body, fake.sign(body))


async def send_resource(client: httpx.AsyncClient, fake: Any, resource: Any, **kwargs: str) -> httpx.Response:
    plain = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
    return await send_signed(client, fake, json.dumps(envelope(fake, plain, **kwargs)).encode())


def assert_fail(answer: httpx.Response, status: int = 400) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"code", "message"} and body["code"] == "FAIL"
    assert body["message"]


@pytest.fixture
def genuine(fake: Any, held: dict[str, Any]) -> dict[str, Any]:
    """The transaction resource WeChat Pay would send for the held appointment, decrypted."""
    return dict(_decrypted(fake, fake.pay(held["prepay_id"]).body))


def without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: {**r, "amount": "5000"}, id="amount-is-text"),
        pytest.param(lambda r: {**r, "amount": [5000]}, id="amount-is-a-list"),
        pytest.param(lambda r: {**r, "amount": {**r["amount"], "total": "5000"}}, id="total-is-text"),
        pytest.param(lambda r: {**r, "amount": {**r["amount"], "total": 50.5}}, id="total-is-a-fraction"),
        pytest.param(lambda r: {**r, "amount": {**r["amount"], "total": True}}, id="total-is-a-boolean"),
        pytest.param(lambda r: {**r, "amount": {**r["amount"], "total": None}}, id="total-is-null"),
        pytest.param(lambda r: without(r, "amount"), id="no-amount"),
        pytest.param(lambda r: without(r, "out_trade_no"), id="no-order-number"),
        pytest.param(lambda r: without(r, "trade_state"), id="no-trade-state"),
        pytest.param(lambda r: {**r, "out_trade_no": 12345678}, id="order-number-is-a-number"),
        pytest.param(lambda r: {**r, "out_trade_no": "YY\x0000000000000001"}, id="order-number-with-nul"),
        pytest.param(lambda r: {**r, "out_trade_no": "Y" * 33}, id="order-number-too-long"),
        pytest.param(lambda r: {**r, "out_trade_no": "订单号码一二三四"}, id="order-number-not-wechats-alphabet"),
        pytest.param(lambda r: {**r, "transaction_id": "4" * 65}, id="transaction-id-too-long"),
        pytest.param(lambda r: {**r, "transaction_id": {"id": 1}}, id="transaction-id-is-an-object"),
        pytest.param(lambda r: {**r, "success_time": "yesterday"}, id="success-time-not-a-time"),
        pytest.param(lambda r: {**r, "trade_state": "NOTPAY"}, id="success-that-is-not-paid"),
        pytest.param(lambda r: [r], id="resource-is-a-list"),
    ],
)
async def test_a_signed_transaction_with_a_malformed_resource_is_a_400(
    client: httpx.AsyncClient, db: Database, fake: Any, genuine: dict[str, Any], change: Any
) -> None:
    answer = await send_resource(client, fake, change(genuine))

    assert_fail(answer)
    assert await state(db) == ("pending", 1)


async def test_a_well_formed_order_number_that_is_not_ours_is_unknown(
    client: httpx.AsyncClient, db: Database, fake: Any, genuine: dict[str, Any]
) -> None:
    answer = await send_resource(client, fake, {**genuine, "out_trade_no": "SHOP-2026-000123"})

    assert_fail(answer, 404)
    assert await state(db) == ("pending", 1)


@pytest.mark.parametrize(
    "plain", [b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b"[" * 5000, b'{"a": NaN'], ids=repr
)
async def test_a_resource_that_decrypts_to_no_json_object_is_a_400(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any], plain: bytes
) -> None:
    assert_fail(await send_resource(client, fake, plain))
    assert await state(db) == ("pending", 1)


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param({"ciphertext": base64.b64encode(b"\x00" * 48).decode()}, id="sealed-with-another-key"),
        pytest.param({"ciphertext": "not base64 !!"}, id="ciphertext-not-base64"),
        pytest.param({"ciphertext": 42}, id="ciphertext-a-number"),
        pytest.param({"nonce": ""}, id="empty-nonce"),
        pytest.param({"nonce": "非ASCII的随机串"}, id="nonce-not-ascii"),
        pytest.param({"associated_data": "refund"}, id="associated-data-changed"),
        pytest.param({"algorithm": "AEAD_AES_128_GCM"}, id="other-algorithm"),
    ],
)
async def test_a_ciphertext_that_does_not_decrypt_is_a_400(
    client: httpx.AsyncClient, db: Database, fake: Any, genuine: dict[str, Any], resource: dict[str, Any]
) -> None:
    made = envelope(fake, json.dumps(genuine).encode())
    made["resource"] = {**made["resource"], **resource}

    assert_fail(await send_signed(client, fake, json.dumps(made).encode()))
    assert await state(db) == ("pending", 1)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e: {k: v for k, v in e.items() if k != "id"}, id="no-id"),
        pytest.param(lambda e: {**e, "id": "x" * 200}, id="id-too-long"),
        pytest.param(lambda e: {**e, "event_type": ["TRANSACTION.SUCCESS"]}, id="event-type-a-list"),
        pytest.param(lambda e: {**e, "resource": "sealed"}, id="resource-a-string"),
        pytest.param(lambda e: {**e, "resource_type": "plain"}, id="resource-not-encrypted"),
    ],
)
async def test_a_signed_envelope_missing_its_parts_is_a_400(
    client: httpx.AsyncClient, db: Database, fake: Any, genuine: dict[str, Any], change: Any
) -> None:
    body = json.dumps(change(envelope(fake, json.dumps(genuine).encode()))).encode()

    assert_fail(await send_signed(client, fake, body))
    assert await state(db) == ("pending", 1)


@pytest.mark.parametrize(
    "body", [b"[" * 30_000, b'{"id": ' * 8_000, b"\xff\xfe"], ids=["deep-list", "deep-obj", "bytes"]
)
async def test_a_signed_body_too_deep_or_not_text_is_a_400(  # within the 64 KB body limit
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any], body: bytes
) -> None:
    assert_fail(await send_signed(client, fake, body))
    assert await state(db) == ("pending", 1)


REFUND = {
    "mchid": None,  # filled in with the fake's
    "out_trade_no": "YY00000000000001",
    "transaction_id": "4200000000202603020000000000001",
    "out_refund_no": "YR00000000000001",
    "refund_id": "50000000002026030200000000001",
    "refund_status": "SUCCESS",
    "amount": {"total": 5000, "refund": 5000, "payer_total": 5000, "payer_refund": 5000},
}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"refund_status": "REFUNDED_TWICE"}, id="unknown-status"),
        pytest.param({"refund_status": 1}, id="status-a-number"),
        pytest.param({"refund_id": None}, id="no-refund-id"),
        pytest.param({"out_refund_no": "退款单"}, id="refund-number-not-wechats-alphabet"),
        pytest.param({"amount": {"refund": "5000"}}, id="refund-amount-text"),
    ],
)
async def test_a_signed_refund_notification_with_a_malformed_resource_is_a_400(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any], change: dict[str, Any]
) -> None:
    resource = {**REFUND, "mchid": fake.keys.mchid, **change}

    answer = await send_resource(client, fake, resource, event_type="REFUND.SUCCESS", original_type="refund")

    assert_fail(answer)
    assert await state(db) == ("pending", 1)


async def test_a_refund_notification_for_a_refund_that_is_not_ours_is_unknown(
    client: httpx.AsyncClient, fake: Any, held: dict[str, Any]
) -> None:
    resource = {**REFUND, "mchid": fake.keys.mchid, "out_refund_no": "OTHER-SHOP-1"}

    answer = await send_resource(client, fake, resource, event_type="REFUND.SUCCESS", original_type="refund")

    assert_fail(answer, 404)


async def test_a_malformed_notification_is_logged_by_its_id_and_field_without_personal_data(
    client: httpx.AsyncClient, fake: Any, genuine: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    resource = {**genuine, "amount": {**genuine["amount"], "total": "5000"}}

    with caplog.at_level(logging.INFO):
        assert_fail(await send_resource(client, fake, resource))

    [logged] = [r for r in caplog.records if getattr(r, "event", None) == "pay_notification_malformed"]
    text = logged.getMessage()
    assert logged.levelno == logging.WARNING and logged.name == "yiyue.payments"
    assert "EV-2026-0001" in text and "TRANSACTION.SUCCESS" in text and "amount.total" in text
    everything = "\n".join(r.getMessage() for r in caplog.records)
    for private in ("o-notified", genuine["out_trade_no"], genuine["transaction_id"], "5000", "张三"):
        assert private not in everything


async def test_the_genuine_notification_still_pays_after_the_malformed_ones(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    delivery = fake.pay(held["prepay_id"])
    resource = _decrypted(fake, delivery.body)
    assert_fail(await send_resource(client, fake, {**resource, "amount": None}))

    answer = await post(client, delivery.body, fake.sign(delivery.body))

    assert answer.status_code == 204 and (await state(db))[0] == "paid"
