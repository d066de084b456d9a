"""抽签放号 under load, with real parallel HTTP clients against a real server: 500 entrants (distinct
accounts and ID numbers) enter a window-mode session at once, some twice, and other accounts enter the
same ID numbers again; the test clock then passes the window's close and the draw runs as the job system
runs it. Every entrant gets exactly one entry and one result (and one message), winners = capacity, one
per ID number, and re-running the draw from its public record picks the same winners. Runs on SQLite,
and on PostgreSQL when YIYUE_TEST_DATABASE_URL points at one."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.conftest import NOW
from tests.factories import id_number, make_catalog, make_schedule
from tests.jobs_support import Jobs
from tests.live import serving
from yiyue.accounts.idcard import parse_id_number
from yiyue.accounts.models import Account, VisitPerson
from yiyue.accounts.service import ID_NUMBER, PHONE
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.booking import draw
from yiyue.booking.models import OCCUPYING, Appointment, ReleaseEntry
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.crypto import FieldCipher, mask_id_number, mask_phone
from yiyue.core.db import Database, begin_write
from yiyue.notifications.models import Notification

ENTRANTS = int(os.environ.get("YIYUE_TEST_RELEASE_ENTRANTS", "500"))
CAPACITY = 20
AGAIN = 25
"""Other accounts that enter an ID number already entered (a family member's account, a scalper's)."""
TWICE = 50
"""Entrants whose request is sent twice at once (a double tap)."""


@pytest.fixture
def served(settings: Settings, clock: FrozenClock) -> Iterator[tuple[FastAPI, str]]:
    """A real server whose clock the test moves (the shared ``clock`` fixture). Its requests may wait long
    for a pooled connection: 575 entries at once on a busy machine take longer than the 10 s after which a
    request is answered 503 (tests/core/test_pool.py tests that); here every entrant must get its entry."""
    app = create_app(settings.model_copy(update={"database_pool_timeout_seconds": 300}), clock=clock)
    with serving(app) as url:
        yield app, url


@pytest.fixture
async def http(served: tuple[FastAPI, str]) -> Iterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    async with httpx.AsyncClient(base_url=served[1], limits=limits, timeout=120) as client:
        yield client  # type: ignore[misc]


async def patients(
    http: httpx.AsyncClient, store: Database, cipher: FieldCipher, numbers: list[str]
) -> list[tuple[dict[str, str], int]]:
    """One new account per ID number with that person, verified (实名认证 passed), written in one go; then
    each account logs in through the fake WeChat. (Adding persons one by one through the API checks each
    real name with the provider: minutes for 500, and not what this test is about.)"""
    openids = [f"o-{uuid.uuid4().hex[:16]}" for _ in numbers]
    async with store.session() as session:
        await begin_write(session)
        accounts = [Account(openid=o, created_at=NOW, last_login_at=NOW) for o in openids]
        session.add_all(accounts)
        await session.flush()
        persons = []
        for account, number in zip(accounts, numbers, strict=True):
            parsed = parse_id_number(number, today=NOW.date())
            persons.append(
                VisitPerson(
                    account_id=account.id,
                    name="抽签患者",
                    relationship="self",
                    id_number_encrypted=cipher.encrypt(number, context=ID_NUMBER),
                    id_number_index=cipher.blind_index(number, context=ID_NUMBER),
                    id_number_masked=mask_id_number(number),
                    phone_encrypted=cipher.encrypt("13812345678", context=PHONE),
                    phone_masked=mask_phone("13812345678"),
                    birth_date=parsed.birth_date,
                    sex=parsed.sex,
                    created_at=NOW,
                    updated_at=NOW,
                    realname_status="verified",
                )
            )
        session.add_all(persons)
        await session.flush()
        person_ids = [p.id for p in persons]

    async def login(openid: str) -> dict[str, str]:
        code = (await http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": openid})).json()["code"]
        answer = await http.post("/api/v1/auth/wechat-login", json={"code": code})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    auths = await asyncio.gather(*(login(o) for o in openids))
    return list(zip(auths, person_ids, strict=True))


def number_of(i: int) -> str:
    """Distinct valid ID numbers: one birth day each (sequence 123, never the fake provider's 999)."""
    return id_number(birth=date(1960, 1, 1) + timedelta(days=i), serial=123)


@pytest.mark.heavy
@pytest.mark.timeout(900)  # minutes on a busy two-core machine
async def test_500_entrants_each_get_one_result_and_the_draw_re_runs(
    http: httpx.AsyncClient, served: tuple[FastAPI, str], settings: Settings, clock: FrozenClock
) -> None:
    app, _ = served
    store = Database(settings.database_url)
    try:
        catalog = await make_catalog(store, release_mode="window", release_window_seconds=30)
        schedule = await make_schedule(store, catalog, days_ahead=7, capacity=CAPACITY)
        clock.set(schedule.release_at + timedelta(seconds=1))
        t0 = time.perf_counter()
        cipher = app.state.cipher
        entrants = await patients(http, store, cipher, [number_of(i) for i in range(ENTRANTS)])
        others = await patients(http, store, cipher, [number_of(i) for i in range(AGAIN)])
        print(f"\npatients made in {time.perf_counter() - t0:.2f} s")

        def enter(auth: dict[str, str], patient_id: int):  # type: ignore[no-untyped-def]
            return http.post(
                "/api/v1/release-entries", json={"schedule_id": schedule.id, "patient_id": patient_id}, headers=auth
            )

        started = time.perf_counter()
        answers = await asyncio.gather(
            *(enter(auth, pid) for auth, pid in entrants),
            *(enter(auth, pid) for auth, pid in entrants[:TWICE]),
            *(enter(auth, pid) for auth, pid in others),
        )
        entering = time.perf_counter() - started

        assert Counter(a.status_code for a in answers) == Counter({201: ENTRANTS, 200: TWICE + AGAIN}), [
            a.text for a in answers if a.status_code not in (200, 201)
        ][:3]
        firsts, seconds, again = answers[:ENTRANTS], answers[ENTRANTS : ENTRANTS + TWICE], answers[ENTRANTS + TWICE :]
        entry_ids = [int(a.json()["id"]) for a in firsts]
        assert [int(a.json()["id"]) for a in seconds] == entry_ids[:TWICE]  # the same person again: the same entry
        assert [int(a.json()["id"]) for a in again] == entry_ids[:AGAIN]  # another account, same ID number
        assert {a.json()["status"] for a in answers} == {"queued"}
        booking = await http.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule.id, "patient_id": entrants[0][1]},
            headers={**entrants[0][0], "Idempotency-Key": uuid.uuid4().hex},
        )
        assert booking.json()["code"] == "RELEASE_WINDOW_OPEN"

        clock.set(schedule.release_at + timedelta(seconds=30))
        started = time.perf_counter()
        # The jobs run as a worker process would: its own app (and connection pool) in this event loop,
        # not the server's, whose pool belongs to the server thread's loop.
        worker = create_app(settings, clock=clock)
        try:
            await Jobs(worker).drain(rounds=20)
        finally:
            await worker.state.db.dispose()
        drawing = time.perf_counter() - started

        async with store.session() as session:
            stored = list(await session.scalars(select(ReleaseEntry).where(ReleaseEntry.schedule_id == schedule.id)))
            booked = list(
                await session.scalars(
                    select(Appointment).where(Appointment.schedule_id == schedule.id, Appointment.status.in_(OCCUPYING))
                )
            )
            counted = await session.execute(
                select(Notification.account_id, func.count())
                .where(Notification.kind.in_(["release_won", "release_lost"]))
                .group_by(Notification.account_id)
            )
            told = {account_id: n for account_id, n in counted.all()}
        assert len(stored) == ENTRANTS and len({e.person_index for e in stored}) == ENTRANTS
        assert Counter(e.status for e in stored) == Counter({"won": CAPACITY, "lost": ENTRANTS - CAPACITY})
        won = {e.id for e in stored if e.status == "won"}
        assert len(booked) == CAPACITY and len({a.person_index for a in booked}) == CAPACITY
        assert {e.appointment_id for e in stored if e.status == "won"} == {a.id for a in booked}
        assert len(told) == ENTRANTS and set(told.values()) == {1}  # one result message each

        results = await asyncio.gather(
            *(
                http.get(f"/api/v1/release-entries/{i}", headers=a)
                for (a, _), i in zip(entrants, entry_ids, strict=True)
            )
        )
        assert [r.text for r in results if r.status_code != 200][:3] == []
        assert Counter(r.json()["status_label"] for r in results) == Counter(
            {"已中签": CAPACITY, "未中签": ENTRANTS - CAPACITY}
        )
        record = (await http.get(f"/api/v1/schedules/{schedule.id}/draw")).json()
        assert record["reproduced"] is True and record["capacity"] == CAPACITY
        assert set(record["winners"]) == won
        entries = [(e["entry_id"], e["weight"]) for e in record["entries"]]
        assert set(draw.pick(record["seed"], entries, CAPACITY)) == won
        print(f"\n{ENTRANTS} entrants: {len(answers)} entries in {entering:.2f} s, draw and results {drawing:.2f} s")
    finally:
        await store.dispose()
