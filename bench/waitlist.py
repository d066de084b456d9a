"""候补 hand-over benchmark: how long from a cancellation to the freed slot being offered to the waitlist's head.

Starts one real server process (``yiyue serve``, with its embedded job workers) on a fresh database, fills
a session of N numbers, puts N more patients in its waitlist, then cancels the N bookings one at a time.
For each it measures, with the patient's own requests:

- cancel: the cancellation's HTTP answer;
- hand-over: from that answer until ``GET /api/v1/waitlist`` of the head of the line shows ``offered``
  (the slot is handed over in the cancellation's own transaction, so the first look should see it);
- message: from that answer until the head's ``GET /api/v1/me/notifications`` lists 候补成功 (written by
  the job workers after the commit: the outbox relay and the notifications handler).

    python bench/waitlist.py                       # embedded default (SQLite), 50 cancellations
    python bench/waitlist.py --cancellations 100 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The PostgreSQL database given is emptied first. Figures are printed; the invariants (each freed slot
offered to exactly the next person in line, no slot held twice, none left free while someone waits) are
checked and the exit status is 1 if one breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from support import id_number, reset_postgres, server_process
from yiyue.booking.models import WaitlistEntry, WaitlistStatus
from yiyue.core.clock import Clock, local_today
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.models import load_all
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Slot, SlotStatus

load_all()

POLL_SECONDS = 0.002
GIVE_UP_SECONDS = 30.0


@dataclass
class Patient:
    auth: dict[str, str]
    patient_id: int


async def full_session(url: str, numbers: int) -> int:
    """A released session of ``numbers`` numbers tomorrow afternoon at a hospital taking no money online."""
    db = Database(url)
    try:
        async with db.session() as session:
            now = Clock().now()
            hospital = Hospital(
                name="候补压测医院", name_initials="hbcyyy", level="三级甲等", city="北京", district="东城区",
                address="压测路2号", phone="010-00000000", intro="", release_days=7, release_time=clock_time(8, 0),
                stop_minutes_before=0, cancel_minutes_before=0, max_active_appointments=5, payment_required=False,
                created_at=now,
            )  # fmt: skip
            session.add(hospital)
            await session.flush()
            clinic = Department(hospital_id=hospital.id, name="心血管内科", name_initials="xxgnk")
            session.add(clinic)
            await session.flush()
            doctor = Doctor(
                hospital_id=hospital.id, department_id=clinic.id, name="名医", name_initials="my", gender="男",
                title="主任医师", specialty="", intro="", fee_fen=5000,
            )  # fmt: skip
            session.add(doctor)
            await session.flush()
            schedule = await scheduling.create_schedule(
                session,
                hospital=hospital,
                doctor=doctor,
                visit_date=local_today(now) + timedelta(days=1),
                period=Period.AFTERNOON,
                capacity=numbers,
            )
            return schedule.id
    finally:
        await db.dispose()


async def patient(http: httpx.AsyncClient, serial: int) -> Patient:
    code = (await http.post("/__wechat__/__fake__/login-code", json={"openid": f"bench-wl-{serial}"})).json()["code"]
    token = (await http.post("/api/v1/auth/wechat-login", json={"code": code})).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    body = {"name": "候补患者", "id_number": id_number(serial), "phone": "13800000000", "relationship": "self"}
    person = await http.post("/api/v1/me/patients", json=body, headers=auth)
    assert person.status_code == 201, person.text
    return Patient(auth, int(person.json()["id"]))


async def until(check, started: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds from ``started`` until ``check()`` is true (polling as fast as the server answers)."""
    while not await check():
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            raise TimeoutError("the offer never showed")
        await asyncio.sleep(POLL_SECONDS)
    return time.perf_counter() - started


@dataclass
class Measured:
    cancel: list[float]
    hand_over: list[float]
    message: list[float]
    first_look: int
    """Hand-overs the head saw on its first look after the cancellation's answer."""


async def measure(base: str, schedule_id: int, n: int) -> Measured:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        for _ in range(300):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        holders, bookings = [], []
        for i in range(n):
            p = await patient(http, i)
            answer = await http.post(
                "/api/v1/appointments",
                json={"schedule_id": schedule_id, "patient_id": p.patient_id},
                headers={**p.auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert answer.status_code == 201, answer.text
            holders.append(p)
            bookings.append(int(answer.json()["id"]))
        waiters = []
        for i in range(n):
            p = await patient(http, n + i)
            answer = await http.post(
                "/api/v1/waitlist", json={"schedule_id": schedule_id, "patient_id": p.patient_id}, headers=p.auth
            )
            assert answer.status_code == 201, answer.text
            waiters.append(p)
        print(f"prepared {n} bookings and {n} waiting patients (not timed below)")

        measured = Measured([], [], [], 0)
        for holder, booking, head in zip(holders, bookings, waiters, strict=True):
            looks = 0

            async def offered(head: Patient = head) -> bool:
                nonlocal looks
                looks += 1
                items = (await http.get("/api/v1/waitlist", headers=head.auth)).json()["items"]
                return bool(items) and items[0]["status"] == "offered"

            async def told(head: Patient = head) -> bool:
                items = (await http.get("/api/v1/me/notifications", headers=head.auth)).json()["items"]
                return any(m["kind"] == "waitlist_offered" for m in items)

            started = time.perf_counter()
            answer = await http.post(f"/api/v1/appointments/{booking}/cancel", headers=holder.auth)
            assert answer.status_code == 200, answer.text
            answered = time.perf_counter()
            measured.cancel.append(answered - started)
            measured.hand_over.append(await until(offered, answered))
            measured.first_look += looks == 1
            measured.message.append(await until(told, answered))
    return measured


async def check(url: str, schedule_id: int, n: int) -> list[str]:
    """What is wrong with the end state: each entry offered one slot, in line order, none free."""
    db = Database(url)
    try:
        async with db.session() as session:
            line = list(
                await session.scalars(
                    select(WaitlistEntry).where(WaitlistEntry.schedule_id == schedule_id).order_by(WaitlistEntry.id)
                )
            )
            free = await session.scalar(
                select(func.count())
                .select_from(Slot)
                .where(Slot.schedule_id == schedule_id, Slot.status == SlotStatus.AVAILABLE)
            )
    finally:
        await db.dispose()
    problems = []
    if [e.status for e in line] != [WaitlistStatus.OFFERED] * n:
        problems.append("not every waiting patient was offered a slot")
    if len({e.slot_id for e in line}) != len(line):
        problems.append("a slot held for two entries")
    if free:
        problems.append(f"{free} slots back in the open pool")
    return problems


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-bench-waitlist-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgresql"):
        asyncio.run(reset_postgres(url))
    upgrade(url)
    schedule_id = asyncio.run(full_session(url, args.cancellations))
    with server_process(url, workdir) as base:
        m = asyncio.run(measure(base, schedule_id, args.cancellations))
    problems = asyncio.run(check(url, schedule_id, args.cancellations))
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    n = args.cancellations
    print(f"\nwaitlist hand-over on {backend}: {n} cancellations one after another, one server process")
    for name, values in (("cancel answer", m.cancel), ("hand-over", m.hand_over), ("message", m.message)):
        p50, p99, worst = pct(values, 50), pct(values, 99), max(values) * 1000
        print(f"  {name:<14} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {worst:6.1f} ms")
    print(f"  offer seen on the first look after the answer: {m.first_look} of {n}")
    print(
        "  invariants           " + ("; ".join(problems) if problems else "hold (one slot each, in order, none free)")
    )
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cancellations", type=int, default=50)
    parser.add_argument("--database-url", default="")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
