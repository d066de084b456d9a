"""Crash safety: a real ``yiyue worker`` process is killed (SIGKILL) while it delivers jobs. After a
restart every outbox event is handled, and no refund or notification happened twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW
from tests.factories import make_catalog, make_schedule, patient_body
from tests.jobs.test_queue import REDIS_URL, book
from tests.live import serving
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.core.clock import Clock, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.notifications.models import Notification
from yiyue.payments.models import Refund
from yiyue.server import create_server

PATIENTS = 24
FAKE = FAKE_WECHAT_MOUNT


@pytest.fixture(params=["sqlite", "redis"])
def crash_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    update: dict[str, object] = {"queue_name": f"crash-{uuid.uuid4().hex[:8]}", "outbox_redeliver_seconds": 1}
    if request.param == "redis":
        if not REDIS_URL:
            pytest.skip("set YIYUE_TEST_REDIS_URL to run the queue on Redis (.ci/run does)")
        update["queue_url"] = REDIS_URL
    return settings.model_copy(update=update)


@pytest.fixture
def live(crash_settings: Settings) -> Iterator[str]:
    # The server relays its outbox to the queue but runs no workers: the worker process does.
    with serving(create_server(crash_settings, clock=Clock())) as url:
        yield url


@pytest.fixture
async def store(crash_settings: Settings) -> AsyncIterator[Database]:
    database = Database(crash_settings.database_url)
    yield database
    await database.dispose()


def start_worker(settings: Settings, live: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "YIYUE_DATABASE_URL": settings.database_url,
        "YIYUE_QUEUE_URL": settings.queue_url,
        "YIYUE_QUEUE_NAME": settings.queue_name,
        "YIYUE_OUTBOX_REDELIVER_SECONDS": "1",
        "YIYUE_SECRET_KEY": settings.secret_key,
        "YIYUE_DATA_KEY": settings.data_key,
        "YIYUE_BLIND_INDEX_KEY": settings.blind_index_key,
        "YIYUE_WECHAT_SECRET": settings.wechat_secret,
        "YIYUE_WECHAT_API_BASE": f"{live}{FAKE}",
        "YIYUE_WECHAT_PAY_API_BASE": f"{live}{FAKE}",
        "YIYUE_WECHAT_PAY_NOTIFY_URL": f"{live}/api/v1/payments/wechat/notify",
    }
    command = [sys.executable, "-m", "yiyue.cli", "worker", "--threads", "2"]
    with log.open("ab") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=sink)


def stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGINT)  # Huey's graceful shutdown
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=10)


async def due_counts(store: Database) -> tuple[int, int, int]:
    """(handled, unhandled, failed) among events already due."""
    now = Clock().now()
    async with store.session() as session:
        rows = Counter(
            "failed" if failed else ("handled" if handled else "open")
            for handled, failed in await session.execute(
                select(OutboxEvent.handled_at, OutboxEvent.failed_at).where(OutboxEvent.available_at <= now)
            )
        )
    return rows["handled"], rows["open"], rows["failed"]


async def prepare(http: httpx.AsyncClient, store: Database) -> None:
    """Patients book, pay and cancel with no worker running: refunds and messages wait in the queue."""
    catalog = await make_catalog(store, payment_required=True, max_active_appointments=5)
    days = (local_today(Clock().now()) - local_today(NOW)).days + 1
    schedule = await make_schedule(store, catalog, days_ahead=days, capacity=PATIENTS)
    for _ in range(PATIENTS):
        openid = uuid.uuid4().hex
        code = (await http.post(f"{FAKE}/__fake__/login-code", json={"openid": openid})).json()
        auth = {
            "Authorization": "Bearer "
            + (await http.post("/api/v1/auth/wechat-login", json=code)).json()["access_token"]
        }
        for purpose in ("yiyue-booking-confirmed", "yiyue-booking-cancelled"):
            await http.post(f"{FAKE}/__fake__/subscribe", json={"openid": openid, "template_id": purpose, "count": 5})
        person = (await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)).json()["id"]
        held = await book(http, auth, schedule.id, person)
        params = (await http.post(f"/api/v1/appointments/{held['id']}/pay", headers=auth)).json()
        paid = await http.post(f"{FAKE}/__fake__/pay", json={"prepay_id": params["package"].removeprefix("prepay_id=")})
        assert paid.status_code == 200
        assert (await http.post(f"/api/v1/appointments/{held['id']}/cancel", headers=auth)).status_code == 200


async def test_a_killed_worker_loses_nothing_and_repeats_nothing(
    crash_settings: Settings, live: str, store: Database, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        await prepare(http, store)
        handled, waiting, _ = await due_counts(store)
        assert handled == 0 and waiting >= 2 * PATIENTS

        worker = start_worker(crash_settings, live, log)
        try:
            deadline = time.monotonic() + 60
            while (await due_counts(store))[0] < 8:
                assert worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker handled nothing"
                await asyncio.sleep(0.01)
            worker.send_signal(signal.SIGKILL)  # in the middle of its work, no chance to finish anything
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
        handled_at_kill, open_at_kill, _ = await due_counts(store)
        assert open_at_kill > 0, "the worker finished before it could be killed: nothing was tested"

        restarted = start_worker(crash_settings, live, log)
        try:
            deadline = time.monotonic() + 90
            while True:
                handled, waiting, failed = await due_counts(store)
                # The fake settles each refund a moment after it is asked (REFUND.SUCCESS to our notify URL):
                # only once every refund has succeeded are all the events that finish the journey written.
                if waiting == 0 and await refunds_succeeded(store) == PATIENTS:
                    break
                assert time.monotonic() < deadline, (
                    f"still {waiting} events open after the restart\n{log.read_text()[-5000:]}"
                )
                await asyncio.sleep(0.2)
        finally:
            stop(restarted)
        fake = (await http.get(f"{FAKE}/__fake__/pay/notifications")).json()
        messages = [
            m
            for openid in await _openids(store)
            for m in (await http.get(f"{FAKE}/__fake__/messages", params={"openid": openid})).json()
        ]

    assert failed == 0 and handled > handled_at_kill
    async with store.session() as session:
        refunds = list(await session.scalars(select(Refund)))
        by_kind = Counter(await session.scalars(select(Notification.kind)))
    assert len(refunds) == PATIENTS and {r.status for r in refunds} == {"succeeded"}
    refund_settlements = Counter(d["out_refund_no"] for d in fake if d["event_type"] == "REFUND.SUCCESS")
    assert len(refund_settlements) == PATIENTS and set(refund_settlements.values()) == {1}  # refunded once each
    kinds = ("booking_confirmed", "cancelled", "refunded")
    assert {kind: by_kind[kind] for kind in kinds} == dict.fromkeys(kinds, PATIENTS)
    sent = Counter((m["touser"], m["template_id"], str(m["data"])) for m in messages)
    assert sent and max(sent.values()) == 1  # no WeChat message went out twice


async def refunds_succeeded(store: Database) -> int:
    async with store.session() as session:
        return len([r for r in await session.scalars(select(Refund)) if r.status == "succeeded"])


async def _openids(store: Database) -> list[str]:
    from yiyue.accounts.models import Account

    async with store.session() as session:
        return list(await session.scalars(select(Account.openid)))
