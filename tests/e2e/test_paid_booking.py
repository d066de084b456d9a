"""End to end through HTTP and the fake WeChat (login, WeChat Pay v3 with real signatures):
book -> pay -> booked -> cancel -> refunded; unpaid -> expired -> slot free; 停诊 -> refunded, told."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.booking.test_booking_api import add_patient, book, remaining
from tests.conftest import Login
from tests.factories import Catalog, make_catalog, make_schedule
from tests.jobs_support import Jobs
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.booking import lifecycle
from yiyue.booking.rules import FREED_SLOT_DELAY_SECONDS
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.frontdesk.service import suspend_schedule
from yiyue.payments.models import MoneyEvent, Payment, Refund

FAKE = FAKE_WECHAT_MOUNT


@pytest.fixture
async def paid_catalog(db: Database) -> Catalog:
    return await make_catalog(db, name="收费医院", payment_required=True)


@pytest.fixture
def jobs(app: object) -> Jobs:
    return Jobs(app)  # type: ignore[arg-type]


async def pay_for(client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int) -> dict[str, str]:
    params = await client.post(f"/api/v1/appointments/{appointment_id}/pay", headers=auth)
    assert params.status_code == 200, params.text
    return params.json()


async def user_pays(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    prepay_id = params["package"].removeprefix("prepay_id=")
    answer = await client.post(f"{FAKE}/__fake__/pay", json={"prepay_id": prepay_id})
    assert answer.status_code == 200, answer.text


async def appointment(client: httpx.AsyncClient, auth: dict[str, str], appointment_id: int) -> dict[str, object]:
    return (await client.get(f"/api/v1/appointments/{appointment_id}", headers=auth)).json()


async def notifications(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    items = (await client.get("/api/v1/me/notifications", headers=auth)).json()["items"]
    return sorted(n["kind"] for n in items)


async def money(db: Database) -> tuple[list[str], list[str]]:
    async with db.session() as session:
        payments = [p.status for p in await session.scalars(select(Payment).order_by(Payment.id))]
        refunds = [r.status for r in await session.scalars(select(Refund).order_by(Refund.id))]
        return payments, refunds


async def test_book_pay_cancel_refund(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs
) -> None:
    schedule = await make_schedule(db, paid_catalog, capacity=2)
    auth = await login("o-payer")
    held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    assert held["status"] == "pending_payment"

    params = await pay_for(client, auth, held["id"])
    assert set(params) >= {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["signType"] == "RSA" and params["amount_fen"] == held["fee_fen"]
    assert (await pay_for(client, auth, held["id"]))["package"] == params["package"]  # same order, same prepay id
    await user_pays(client, params)

    assert (await appointment(client, auth, held["id"]))["status"] == "booked"
    assert await money(db) == (["paid"], [])
    await jobs.drain()
    assert "booking_confirmed" in await notifications(client, auth)

    cancelled = await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
    assert cancelled.json()["status"] == "cancelled"
    await jobs.drain()

    assert await money(db) == (["refunded"], ["succeeded"])
    assert {"cancelled", "refunded"} <= set(await notifications(client, auth))
    assert await remaining(client, schedule.id) == 2
    refunds_at_wechat = [
        d for d in (await client.get(f"{FAKE}/__fake__/pay/notifications")).json() if "REFUND" in d["event_type"]
    ]
    assert len(refunds_at_wechat) == 1


async def test_an_unpaid_hold_expires_and_its_order_is_closed(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs, clock: FrozenClock
) -> None:
    schedule = await make_schedule(db, paid_catalog, capacity=1)
    auth = await login("o-forgetful-payer")
    held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    await pay_for(client, auth, held["id"])
    assert await remaining(client, schedule.id) == 0

    clock.set(clock.now() + timedelta(minutes=15))
    await jobs.drain()  # the delayed "hold ends" event is due now

    assert (await appointment(client, auth, held["id"]))["status"] == "expired"
    assert await remaining(client, schedule.id) == 0  # the freed number comes back at a random moment
    clock.set(clock.now() + timedelta(seconds=FREED_SLOT_DELAY_SECONDS[1]))
    await jobs.drain()
    assert await remaining(client, schedule.id) == 1
    assert await money(db) == (["closed"], [])
    assert "payment_expired" in await notifications(client, auth)
    late = await client.post(f"/api/v1/appointments/{held['id']}/pay", headers=auth)
    assert late.status_code == 409 and late.json()["code"] == "HOLD_EXPIRED"


async def test_a_payment_arriving_after_expiry_is_refunded(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs, clock: FrozenClock
) -> None:
    schedule = await make_schedule(db, paid_catalog, capacity=1)
    auth = await login("o-slow-payer")
    held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    params = await pay_for(client, auth, held["id"])
    async with db.session() as session:  # the hold ends before WeChat's notice arrives
        await lifecycle.expire_unpaid(session, now=clock.now() + timedelta(minutes=15))

    await user_pays(client, params)
    await jobs.drain()

    assert (await appointment(client, auth, held["id"]))["status"] == "expired"
    assert (await money(db))[1] == ["succeeded"]


async def test_suspension_refunds_paid_appointments_and_tells_everyone(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs, clock: FrozenClock
) -> None:
    schedule = await make_schedule(db, paid_catalog, capacity=3)
    payer, holder = await login("o-paid"), await login("o-held")
    paid = (await book(client, payer, schedule.id, await add_patient(client, payer))).json()
    await user_pays(client, await pay_for(client, payer, paid["id"]))
    held = (await book(client, holder, schedule.id, await add_patient(client, holder))).json()
    await jobs.drain()

    async with db.session() as session:
        await suspend_schedule(session, schedule_id=schedule.id, reason="医生临时停诊", now=clock.now())
    await jobs.drain()

    assert (await appointment(client, payer, paid["id"]))["status"] == "suspended"
    assert (await appointment(client, holder, held["id"]))["status"] == "suspended"
    assert await money(db) == (["refunded"], ["succeeded"])
    assert "suspended" in await notifications(client, payer) and "refunded" in await notifications(client, payer)
    assert "suspended" in await notifications(client, holder)


async def test_every_money_change_is_recorded(
    client: httpx.AsyncClient, db: Database, login: Login, paid_catalog: Catalog, jobs: Jobs
) -> None:
    schedule = await make_schedule(db, paid_catalog, capacity=1)
    auth = await login("o-audit")
    held = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
    await user_pays(client, await pay_for(client, auth, held["id"]))
    await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)
    await jobs.drain()

    async with db.session() as session:
        changes = [
            (e.from_status, e.to_status, e.source)
            for e in await session.scalars(select(MoneyEvent).order_by(MoneyEvent.id))
        ]
        assert await session.scalar(select(func.count()).select_from(Refund)) == 1
    assert changes[0] == (None, "pending", "api") and changes[1] == ("pending", "paid", "notify")
    assert changes[-1][1] == "succeeded"
