"""WeChat Pay's notify endpoint under attack and under repetition: forged, tampered, stale, malformed,
wrong-amount and unknown-order callbacks are refused and change nothing; a replay changes nothing twice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import Login
from tests.e2e.test_paid_booking import pay_for
from tests.factories import make_catalog, make_schedule
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.payments.models import MoneyEvent, Payment

NOTIFY = "/api/v1/payments/wechat/notify"


@pytest.fixture
def fake(app: Any) -> Any:
    return app.state.fake_wechat.state.wechat  # the fake WeChat Pay's state (FakePayState)


@pytest.fixture
async def held(client: httpx.AsyncClient, db: Database, login: Login) -> dict[str, Any]:
    catalog = await make_catalog(db, payment_required=True)
    schedule = await make_schedule(db, catalog)
    auth = await login("o-notified")
    appointment = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    params = await pay_for(client, auth, appointment["id"])
    return {"auth": auth, "appointment": appointment, "prepay_id": params["package"].removeprefix("prepay_id=")}


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post(NOTIFY, content=body, headers={**headers, "Content-Type": "application/json"})


async def state(db: Database) -> tuple[str, int]:
    async with db.session() as session:
        payment = await session.scalar(select(Payment))
        events = await session.scalar(select(func.count()).select_from(MoneyEvent))
        assert payment is not None
        return payment.status, int(events or 0)


async def test_a_genuine_notification_pays_once_and_its_replay_changes_nothing(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    delivery = fake.pay(held["prepay_id"])
    headers = fake.sign(delivery.body)

    first = await post(client, delivery.body, headers)
    after_first = await state(db)
    replay = await post(client, delivery.body, fake.sign(delivery.body))

    assert first.status_code == replay.status_code == 204
    assert after_first[0] == "paid" and await state(db) == after_first
    detail = await client.get(f"/api/v1/appointments/{held['appointment']['id']}", headers=held["auth"])
    assert detail.json()["status"] == "booked"


async def test_a_tampered_body_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    delivery = fake.pay(held["prepay_id"])
    headers = fake.sign(delivery.body)
    envelope = json.loads(delivery.body)
    envelope["summary"] = "篡改"

    answer = await post(client, json.dumps(envelope).encode(), headers)

    assert answer.status_code == 400 and answer.json()["code"] == "FAIL"
    assert await state(db) == ("pending", 1)


async def test_a_notification_signed_by_someone_else_is_refused(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    delivery = fake.pay(held["prepay_id"])
    headers = fake.sign(delivery.body)
    forged = {**headers, "Wechatpay-Signature": headers["Wechatpay-Signature"][::-1]}
    wrong_serial = {**headers, "Wechatpay-Serial": "PUB_KEY_ID_0000000000000000000000000000"}

    assert (await post(client, delivery.body, forged)).status_code == 400
    assert (await post(client, delivery.body, wrong_serial)).status_code == 400
    assert (await post(client, delivery.body, {})).status_code == 400  # no signature headers at all
    assert await state(db) == ("pending", 1)


async def test_a_stale_notification_is_refused(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any], clock: FrozenClock
) -> None:
    delivery = fake.pay(held["prepay_id"])
    headers = fake.sign(delivery.body)
    clock.set(clock.now() + timedelta(minutes=6))

    answer = await post(client, delivery.body, headers)

    assert answer.status_code == 400
    assert await state(db) == ("pending", 1)


async def test_a_wrong_amount_is_refused_even_when_genuinely_signed(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    genuine = fake.pay(held["prepay_id"])
    resource = {**_decrypted(fake, genuine.body)}
    resource["amount"] = {**resource["amount"], "total": resource["amount"]["total"] - 1}
    cheaper = fake._notification(
        "TRANSACTION.SUCCESS", "支付成功", "transaction", resource, genuine.url, genuine.out_trade_no
    )

    answer = await post(client, cheaper.body, fake.sign(cheaper.body))

    assert answer.status_code == 409 and answer.json()["code"] == "FAIL"
    assert await state(db) == ("pending", 1)


async def test_an_unknown_order_and_garbage_are_refused(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any]
) -> None:
    genuine = fake.pay(held["prepay_id"])
    resource = {**_decrypted(fake, genuine.body), "out_trade_no": "YY99999999999999"}
    unknown = fake._notification("TRANSACTION.SUCCESS", "支付成功", "transaction", resource, genuine.url, "x")
    garbage = b"{not json"

    assert (await post(client, unknown.body, fake.sign(unknown.body))).status_code == 404
    assert (await post(client, garbage, fake.sign(garbage))).status_code == 400
    assert await state(db) == ("pending", 1)


async def test_a_lost_notification_is_settled_by_reconciliation(
    client: httpx.AsyncClient, db: Database, fake: Any, held: dict[str, Any], app: Any, clock: FrozenClock
) -> None:
    from tests.jobs_support import Jobs

    fake.pay(held["prepay_id"])  # WeChat took the money, but its notification never reached us
    clock.set(clock.now() + timedelta(minutes=3))

    settled = await Jobs(app).run_periodic("reconcile_payments")

    assert settled == 1 and (await state(db))[0] == "paid"
    detail = await client.get(f"/api/v1/appointments/{held['appointment']['id']}", headers=held["auth"])
    assert detail.json()["status"] == "booked"


def _decrypted(fake: Any, body: bytes) -> dict[str, Any]:
    envelope = json.loads(body)["resource"]
    import base64

    plain = fake._aes.decrypt(
        envelope["nonce"].encode(), base64.b64decode(envelope["ciphertext"]), envelope["associated_data"].encode()
    )
    decoded: dict[str, Any] = json.loads(plain)
    return decoded
