"""Job delivery benchmark: how many outbox events per second reach their handler and are marked handled.

Writes N events in committed batches (as requests would), lets the outbox relay hand them to the queue,
and runs a real Huey consumer with worker threads until every event is handled, in both queue modes:

    python bench/jobs_throughput.py                        # SQLite database; SQLite queue, then Redis
    python bench/jobs_throughput.py --events 5000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The handler writes one row (an audit record) in the event's transaction, so each job is one real
read + write transaction.

``--bookings N --rate R`` measures instead whether the real jobs keep up with real bookings: one
``yiyue serve`` process (its embedded job workers, the in-process fake WeChat, the logging SMS) takes N
bookings at R per second spread over 20 sessions, each patient subscribed to 预约成功; after the last
answer the bench watches the database until every outbox event due is handled and every delivery
(subscribe message, SMS) is done, and prints that lag, the jobs per booking and what was sent:

    python bench/jobs_throughput.py --bookings 600 --rate 20
    python bench/jobs_throughput.py --bookings 600 --rate 20 --database-url postgresql+asyncpg://...

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from yiyue.core import audit, outbox
from yiyue.core.clock import Clock, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database, begin_write
from yiyue.core.events import Event
from yiyue.core.migrate import upgrade
from yiyue.core.outbox import OutboxEvent
from yiyue.core.tasks import Tasks
from yiyue.jobs.queue import make_huey
from yiyue.jobs.system import JobSystem
from yiyue.models import load_all
from yiyue.notifications.models import Delivery, DeliveryStatus

load_all()


class Context:
    def __init__(self, url: str) -> None:
        self.db = Database(url)


class BenchRecord(Event):
    topic = "bench.record"
    n: int


tasks = Tasks("bench")


@tasks.on(BenchRecord)
async def record(ctx: Context, session: AsyncSession, event: BenchRecord, now: datetime) -> None:
    await begin_write(session)
    audit.record(session, actor="bench", action="job", subject=f"n:{event.n}", at=now)


async def reset(url: str) -> None:
    if url.startswith("postgresql"):
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()


async def write_events(db: Database, n: int, batch: int) -> None:
    for start in range(0, n, batch):
        async with db.session() as session:
            await begin_write(session)
            for i in range(start, min(start + batch, n)):
                outbox.add(session, BenchRecord(n=i), now=Clock().now())


async def handled(db: Database) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.handled_at.is_not(None))
            )
            or 0
        )


def run_mode(url: str, queue_url: str, args: argparse.Namespace, workdir: Path) -> float:
    asyncio.run(reset(url))
    upgrade(url)
    settings = Settings(
        database_url=url,
        queue_url=queue_url or f"sqlite:///{workdir / f'queue-{uuid.uuid4().hex[:6]}.db'}",
        queue_name=f"bench-{uuid.uuid4().hex[:6]}",
        secret_key="bench",
        data_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        blind_index_key="aWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWk=",
        wechat_secret="bench",
    )
    jobs = JobSystem(huey=make_huey(settings), context_factory=lambda: Context(url), clock=Clock())
    jobs.register(tasks)
    writer = Database(url)
    jobs.listen(writer)

    async def write() -> None:
        await write_events(writer, args.events, args.batch)
        # the relay hands events over in background tasks: wait for them before this loop ends
        while len(asyncio.all_tasks()) > 1:  # noqa: ASYNC110 - nothing to wait on but the tasks' end
            await asyncio.sleep(0.01)
        await writer.dispose()

    asyncio.run(write())
    started = time.perf_counter()
    consumer = jobs.start_embedded(workers=args.threads)
    reader = Database(url)

    async def wait() -> None:
        while await handled(reader) < args.events:  # noqa: ASYNC110 - the database is what we watch
            await asyncio.sleep(0.05)
        await reader.dispose()

    asyncio.run(wait())
    elapsed = time.perf_counter() - started
    consumer.stop(graceful=False)
    return args.events / elapsed


# --- real bookings, real jobs ---------------------------------------------------------------------------

SESSIONS = 20
RATE_LIMITS_OFF = {
    f"YIYUE_RATE_LIMIT_{name}": ""
    for name in (
        "WECHAT_LOGIN_IP",
        "PATIENTS_ACCOUNT",
        "PATIENTS_IP",
        "BOOKING_ACCOUNT",
        "BOOKING_IP",
        "REALNAME_ACCOUNT",
        "REALNAME_IP",
    )
}
"""One machine plays every patient: the per-address and per-account limits would refuse it."""


def id_number(serial: int) -> str:
    from yiyue.accounts.idcard import check_digit

    first17 = f"110105{1950 + serial % 60}0101{serial % 999:03d}"
    return first17 + check_digit(first17)


@contextmanager
def serve(url: str, workdir: Path) -> Iterator[str]:
    """``yiyue serve`` with its embedded job workers on ``url``; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {
        **os.environ,
        "YIYUE_DATABASE_URL": url,
        "YIYUE_VAR_DIR": str(workdir),
        "YIYUE_SECRET_KEY": secrets.token_urlsafe(32),
        "YIYUE_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "YIYUE_WECHAT_SECRET": "bench",
        **RATE_LIMITS_OFF,
    }
    command = [sys.executable, "-m", "yiyue.cli", "serve", "--port", str(port), "--no-access-log"]
    with open(workdir / "server.log", "w") as log, subprocess.Popen(command, env=env, stderr=log) as server:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()


async def sessions(url: str, numbers: int) -> list[int]:
    """``SESSIONS`` released sessions tomorrow, ``numbers`` numbers each, at a hospital taking no money online."""
    from yiyue.hospitals.models import Department, Doctor, Hospital
    from yiyue.scheduling import service as scheduling
    from yiyue.scheduling.models import Period

    db = Database(url)
    try:
        async with db.session() as session:
            now = Clock().now()
            hospital = Hospital(
                name="消息压测医院", name_initials="xxcyyy", level="三级甲等", city="北京", district="东城区",
                address="压测路3号", phone="010-00000000", intro="", release_days=7, release_time=clock_time(0, 0),
                stop_minutes_before=0, cancel_minutes_before=0, max_active_appointments=5, payment_required=False,
                created_at=now,
            )  # fmt: skip
            session.add(hospital)
            await session.flush()
            clinic = Department(hospital_id=hospital.id, name="心血管内科", name_initials="xxgnk")
            session.add(clinic)
            await session.flush()
            ids = []
            for i in range(SESSIONS):
                doctor = Doctor(
                    hospital_id=hospital.id, department_id=clinic.id, name=f"医生{i}", name_initials="ys", gender="男",
                    title="主任医师", specialty="", intro="", fee_fen=5000,
                )  # fmt: skip
                session.add(doctor)
                await session.flush()
                schedule = await scheduling.create_schedule(
                    session,
                    hospital=hospital,
                    doctor=doctor,
                    visit_date=local_today(now) + timedelta(days=2),
                    period=Period.AFTERNOON if i % 2 else Period.MORNING,
                    capacity=numbers,
                )
                ids.append(schedule.id)
            return ids
    finally:
        await db.dispose()


async def patient(http: httpx.AsyncClient, serial: int) -> tuple[dict[str, str], int]:
    openid = f"bench-jobs-{serial}"
    code = (await http.post("/__wechat__/__fake__/login-code", json={"openid": openid})).json()["code"]
    token = (await http.post("/api/v1/auth/wechat-login", json={"code": code})).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    subscribed = await http.post(
        "/__wechat__/__fake__/subscribe", json={"openid": openid, "template_id": "yiyue-booking-confirmed"}
    )
    assert subscribed.status_code == 200, subscribed.text
    body = {"name": "压测患者", "id_number": id_number(serial), "phone": "13800000000", "relationship": "self"}
    person = await http.post("/api/v1/me/patients", json=body, headers=auth)
    assert person.status_code == 201, person.text
    return auth, int(person.json()["id"])


async def backlog(db: Database) -> tuple[int, int, int, dict[str, int]]:
    """(outbox events, those due and not handled yet, deliveries not done, deliveries by status)."""
    now = Clock().now()
    async with db.session() as session:
        events = int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)
        due = int(
            await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(
                    OutboxEvent.handled_at.is_(None),
                    OutboxEvent.failed_at.is_(None),
                    OutboxEvent.available_at <= now,
                )
            )
            or 0
        )
        by_status = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        statuses = dict(by_status.tuples().all())
    waiting = statuses.get(DeliveryStatus.PENDING.value, 0) + statuses.get(DeliveryStatus.SENDING.value, 0)
    return events, due, waiting, statuses


async def book_at_rate(url: str, base: str, args: argparse.Namespace) -> None:
    n = args.bookings
    schedule_ids = await sessions(url, numbers=n // SESSIONS + 1)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=httpx.Limits(max_connections=64)) as http:
        for _ in range(600):
            try:
                if (await http.get("/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        sem = asyncio.Semaphore(16)

        async def prepared(i: int) -> tuple[dict[str, str], int]:
            async with sem:
                return await patient(http, i)

        patients = await asyncio.gather(*(prepared(i) for i in range(n)))
        db = Database(url)
        await asyncio.sleep(2)  # the preparation's own jobs (none expected) settle
        before = await backlog(db)
        answers: list[int] = []
        latencies: list[float] = []

        async def one(i: int) -> None:
            auth, person_id = patients[i]
            started = time.perf_counter()
            answer = await http.post(
                "/api/v1/appointments",
                json={"schedule_id": schedule_ids[i % SESSIONS], "patient_id": person_id},
                headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            )
            latencies.append(time.perf_counter() - started)
            answers.append(answer.status_code)

        started = time.perf_counter()
        running = []
        for i in range(n):  # open loop: one booking every 1/rate s, whatever the answers take
            running.append(asyncio.create_task(one(i)))
            await asyncio.sleep(max(0.0, started + (i + 1) / args.rate - time.perf_counter()))
        await asyncio.gather(*running)
        last_answer = time.perf_counter()
        took = last_answer - started
        at_last = await backlog(db)
        while True:
            events, due, waiting, statuses = await backlog(db)
            if due == 0 and waiting == 0:
                break
            if time.perf_counter() - last_answer > 300:
                print("  gave up waiting after 300 s")
                break
            await asyncio.sleep(0.05)
        lag = time.perf_counter() - last_answer
        await db.dispose()
    booked = answers.count(201)
    jobs = events - before[0]
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"  {booked}/{n} booked in {took:.1f} s ({n / took:.1f}/s offered, {args.rate}/s asked); "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    print(f"  outbox events: {jobs} ({jobs / max(booked, 1):.2f} per booking)")
    print(f"  at the last answer: {at_last[1]} events due unhandled, {at_last[2]} deliveries not done")
    print(f"  all jobs done {lag:.2f} s after the last answer; deliveries: {statuses}")


def run_bookings(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-jobs-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgresql"):
        asyncio.run(reset(url))
    upgrade(url)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{args.bookings} bookings at {args.rate}/s, one server with its embedded job workers, database {backend}")
    with serve(url, workdir) as base:
        asyncio.run(book_at_rate(url, base, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=0, help="real bookings through a server instead of bare events")
    parser.add_argument("--rate", type=float, default=20.0, help="bookings per second asked for (with --bookings)")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20, help="events per committed transaction")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if args.bookings:
        run_bookings(args)
        return
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-jobs-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{args.events} events, {args.threads} worker threads, database {backend}")
    for mode, queue_url in (("SQLite queue (embedded)", ""), ("Redis queue", args.redis_url)):
        if mode.startswith("Redis") and not args.redis_url:
            continue
        if not url.startswith("postgresql"):
            url = f"sqlite+aiosqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        rate = run_mode(url, queue_url, args, workdir)
        print(f"  {mode:26s} {rate:7.0f} events/s handled")


if __name__ == "__main__":
    main()
