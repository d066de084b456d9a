"""Everyday booking benchmark: many patients over many schedules, a steady number of bookings in flight.

Starts real server processes (``yiyue serve``) on a fresh database, makes ``--schedules`` schedules with
room for everyone, prepares ``--patients`` accounts with a visit person each before the clock starts
(spread over the servers), then books them ``--in-flight`` at a time and reports bookings/s, the answer
latency p50/p99, 5xx, the jobs the bookings made (share done at the last answer and how long after it
the last one was done), and the servers' memory:

    python bench/booking_throughput.py                               # SQLite, one process
    python bench/booking_throughput.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench \\
        --processes 1 2 [--redis-url redis://127.0.0.1:6379/5 --worker]

With a PostgreSQL URL the SQLite run comes first (``--no-sqlite`` leaves it out), then one run per
``--processes`` count, and the raw PostgreSQL ceiling is measured in the same run: ``pgbench`` (or
asyncpg when pgbench is missing) doing the booking's atomic claim (``UPDATE ... SET taken = taken + 1
WHERE id = ? AND taken < cap``) spread over the same number of rows; each PostgreSQL figure is printed
as a ratio of it. The PostgreSQL database given is emptied first. Figures are printed, not asserted;
the invariants (0 oversold, 0 duplicates, 0 5xx, every 201 stored) are checked and the exit status is 1
if any is broken. The client runs on the same cores as the servers: on a shared machine figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from support import (
    NO_ANSWER,
    Http,
    backend,
    book,
    healthz_rate,
    patients_for,
    pct,
    reset_postgres,
    server_rss_mb,
    servers,
    until_healthy,
)
from yiyue.booking.models import OCCUPYING, Appointment
from yiyue.core.clock import Clock, local_today
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.core.outbox import OutboxEvent
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.models import load_all
from yiyue.notifications.models import Delivery, DeliveryStatus
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period

load_all()

PERIODS = (Period.MORNING, Period.AFTERNOON)


async def make_schedules(url: str, count: int, capacity: int, *, pay_first: bool) -> list[int]:
    """``count`` schedules of ``capacity`` slots tomorrow, two sessions per doctor, all open now."""
    db = Database(url)
    try:
        async with db.session() as session:
            hospital = Hospital(
                name="日常医院",
                name_initials="rcyy",
                level="三级甲等",
                city="北京",
                district="东城区",
                address="日常路1号",
                phone="010-00000000",
                intro="",
                release_days=7,
                release_time=clock_time(0, 0),
                stop_minutes_before=0,
                cancel_minutes_before=120,
                max_active_appointments=5,
                payment_required=pay_first,
                created_at=Clock().now(),
            )
            session.add(hospital)
            await session.flush()
            clinic = Department(hospital_id=hospital.id, name="全科", name_initials="qk")
            session.add(clinic)
            await session.flush()
            ids: list[int] = []
            tomorrow = local_today(Clock().now()) + timedelta(days=1)
            for d in range(math.ceil(count / len(PERIODS))):
                doctor = Doctor(
                    hospital_id=hospital.id,
                    department_id=clinic.id,
                    name=f"医生{d}",
                    name_initials=f"ys{d}",
                    gender="女",
                    title="主治医师",
                    specialty="",
                    intro="",
                    fee_fen=2000,
                )
                session.add(doctor)
                await session.flush()
                for period in PERIODS:
                    if len(ids) == count:
                        break
                    schedule = await scheduling.create_schedule(
                        session, hospital=hospital, doctor=doctor, visit_date=tomorrow, period=period, capacity=capacity
                    )
                    ids.append(schedule.id)
            return ids
    finally:
        await db.dispose()


async def jobs_pending(url: str) -> int:
    """Jobs due now and not done: outbox events neither handled nor failed, deliveries not yet final."""
    db = Database(url)
    try:
        async with db.session() as session:
            now = Clock().now()
            events = await session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.handled_at.is_(None), OutboxEvent.failed_at.is_(None))
                .where(OutboxEvent.available_at <= now)
            )
            deliveries = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
            )
            return int(events or 0) + int(deliveries or 0)
    finally:
        await db.dispose()


async def jobs_total(url: str) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            events = await session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.available_at <= Clock().now())
            )
            deliveries = await session.scalar(select(func.count()).select_from(Delivery))
            return int(events or 0) + int(deliveries or 0)
    finally:
        await db.dispose()


async def stored(url: str, schedule_ids: list[int]) -> tuple[int, int, int]:
    """(occupying appointments, oversold, duplicate bookings) over the bench's schedules."""
    db = Database(url)
    try:
        async with db.session() as session:
            rows = list(
                await session.execute(
                    select(Appointment.slot_id, Appointment.visit_person_id, Appointment.schedule_id).where(
                        Appointment.schedule_id.in_(schedule_ids), Appointment.status.in_(OCCUPYING)
                    )
                )
            )
            oversold = len(rows) - len({r.slot_id for r in rows})
            duplicates = len(rows) - len({(r.visit_person_id, r.schedule_id) for r in rows})
            return len(rows), oversold, duplicates
    finally:
        await db.dispose()


@dataclass
class Run:
    label: str
    results: list[tuple[int, str, float]]
    wall: float
    health_rate: float
    jobs_done_at_last: float
    """Share of the jobs due (made by the bookings) already done when the last booking was answered."""
    jobs_lag: float | None
    """Seconds after the last answer until every job was done; None if not within --jobs-timeout."""
    jobs_left: int
    rss_mb: float
    stored: tuple[int, int, int]
    ceiling_ratio: float | None = None
    notes: list[str] = field(default_factory=list)


async def measure(
    bases: list[str], env: dict[str, str], url: str, schedule_ids: list[int], args: argparse.Namespace
) -> Run:
    http = Http(bases, connections=args.in_flight + 50)
    async with http.session:
        await until_healthy(http)
        started = time.perf_counter()
        patients = await patients_for(http, env, args.patients, args.prepare)
        print(f"  prepared {len(patients)} patients in {time.perf_counter() - started:.1f}s (not timed)")
        for _ in range(600):  # the preparation's own jobs (if any) out of the way first
            if await jobs_pending(url) == 0:
                break
            await asyncio.sleep(0.1)
        before = await jobs_total(url)
    # A fresh client for the timed part: connections idle while the jobs were awaited may have been
    # closed by the servers (keep-alive), and a reset on reuse would say nothing about the app.
    http = Http(bases, connections=args.in_flight + 50)
    async with http.session:
        queue = iter(enumerate(patients))
        results: list[tuple[int, str, float]] = []

        async def worker() -> None:
            for i, p in queue:
                results.append(await book(http, p, schedule_ids[i % len(schedule_ids)]))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.in_flight)))
        wall = time.perf_counter() - started
        rss = server_rss_mb(args.workdir)
        pending = await jobs_pending(url)
        made = await jobs_total(url) - before
        done_share = 1 - pending / made if made else 1.0
        lag: float | None = None
        deadline = time.perf_counter() + args.jobs_timeout
        while time.perf_counter() < deadline:
            pending = await jobs_pending(url)
            if pending == 0:
                lag = time.perf_counter() - started - wall
                break
            await asyncio.sleep(0.2)
        health = await healthz_rate(http, args.rate_requests, args.in_flight)
    return Run(
        label="",
        results=results,
        wall=wall,
        health_rate=health,
        jobs_done_at_last=done_share,
        jobs_lag=lag,
        jobs_left=pending,
        rss_mb=rss,
        stored=await stored(url, schedule_ids),
    )


def run_one(url: str, processes: int, args: argparse.Namespace) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-booking-bench-"))
    args.workdir = workdir
    if url.startswith("postgresql"):
        asyncio.run(reset_postgres(url))
    else:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    capacity = max(args.capacity, math.ceil(args.patients / args.schedules))
    schedule_ids = asyncio.run(make_schedules(url, args.schedules, capacity, pay_first=args.pay_first))
    label = f"{backend(url)}, {processes} process{'es' if processes > 1 else ''}"
    redis = args.redis_url if url.startswith("postgresql") else ""
    if redis:
        label += ", Redis"
    if args.worker:
        label += ", separate worker"
    print(f"\n{label}: {args.patients} patients over {len(schedule_ids)} schedules, {args.in_flight} in flight")
    with servers(url, workdir, processes, redis_url=redis, worker=args.worker) as (bases, env):
        run = asyncio.run(measure(bases, env, url, schedule_ids, args))
    run.label = label
    return run


async def asyncpg_ceiling(dsn: str, rows: int, claims: int, clients: int) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    try:
        queue = iter(range(claims))

        async def worker() -> None:
            async with pool.acquire() as conn:
                for i in queue:
                    await conn.execute(
                        "UPDATE bench_ceiling SET taken = taken + 1 WHERE id = $1 AND taken < cap", i % rows + 1
                    )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return claims / (time.perf_counter() - started)
    finally:
        await pool.close()


def postgres_ceiling(url: str, rows: int, claims: int, clients: int) -> tuple[float, str]:
    """Claims per second of the bare atomic claim over ``rows`` rows, ``clients`` connections."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    async def setup() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("DROP TABLE IF EXISTS bench_ceiling")
            await conn.execute("CREATE TABLE bench_ceiling (id int PRIMARY KEY, taken int NOT NULL, cap int NOT NULL)")
            await conn.execute(f"INSERT INTO bench_ceiling SELECT g, 0, {claims} FROM generate_series(1, {rows}) g")
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("DROP TABLE bench_ceiling")
        finally:
            await conn.close()

    asyncio.run(setup())
    try:
        if shutil.which("pgbench"):
            with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
                claim = "UPDATE bench_ceiling SET taken = taken + 1 WHERE id = :id AND taken < cap;"
                script.write(f"\\set id random(1, {rows})\n{claim}\n")
            out = subprocess.run(
                ["pgbench", "-n", "-f", script.name, "-c", str(clients), "-j", "2", "-t", str(claims // clients), dsn],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            tps = next(line for line in out.splitlines() if line.startswith("tps"))
            return float(tps.split("=")[1].split()[0]), f"pgbench, {clients} clients"
        return asyncio.run(asyncpg_ceiling(dsn, rows, claims, clients)), f"asyncpg, {clients} connections"
    finally:
        asyncio.run(drop())


def report(run: Run, args: argparse.Namespace, ceiling: float | None) -> bool:
    statuses = Counter(s for s, _, _ in run.results)
    codes = Counter(c for s, c, _ in run.results if s != 201)
    latencies = [t for _, _, t in run.results]
    booked = statuses.get(201, 0)
    five_xx = sum(n for s, n in statuses.items() if s >= 500)
    no_answer = statuses.get(NO_ANSWER, 0)
    total, oversold, duplicates = run.stored
    per_second = booked / run.wall
    print(f"  bookings/s              {per_second:.0f} ({booked} booked in {run.wall:.1f}s)")
    print(f"  latency p50/p99         {pct(latencies, 50):.0f} / {pct(latencies, 99):.0f} ms")
    print(f"  answers                 {dict(statuses)}  refusals {dict(codes)}")
    print(f"  5xx / no answer         {five_xx} / {no_answer}")
    lag = f"{run.jobs_lag:.1f}s after the last answer" if run.jobs_lag is not None else f"{run.jobs_left} not done"
    print(f"  jobs done at last answer {run.jobs_done_at_last:.0%}; all done {lag}")
    if run.jobs_lag is not None:
        print(f"  bookings/s, jobs done   {booked / (run.wall + run.jobs_lag):.0f}")
    share = per_second / run.health_rate
    print(f"  /healthz                {run.health_rate:.0f} req/s; bookings/s = {share:.1%} of it")
    print(f"  server RSS (largest)    {run.rss_mb:.0f} MB")
    if ceiling:
        print(f"  PostgreSQL ceiling      {per_second / ceiling:.1%} of the bare claim's {ceiling:.0f}/s")
    print(f"  stored / oversold / dup {total} / {oversold} / {duplicates} (201 answers: {booked})")
    broken = bool(oversold or duplicates or five_xx or no_answer or total < booked)
    verdict = "hold (0 oversold, 0 duplicates, 0 5xx, every 201 stored)"
    print("  invariants              " + ("BROKEN: " if broken else "") + (verdict if not broken else _broken(run)))
    return broken


def _broken(run: Run) -> str:
    statuses = Counter(s for s, _, _ in run.results)
    total, oversold, duplicates = run.stored
    five_xx = sum(n for s, n in statuses.items() if s >= 500)
    return (
        f"{oversold} oversold, {duplicates} duplicates, {five_xx} 5xx, {statuses.get(NO_ANSWER, 0)} unanswered, "
        f"{total} stored for {statuses.get(201, 0)} answers of 201"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--schedules", type=int, default=100)
    parser.add_argument("--capacity", type=int, default=20, help="slots per schedule (at least patients/schedules)")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--database-url", default="", help="PostgreSQL (emptied first); SQLite always runs too")
    parser.add_argument("--no-sqlite", action="store_true", help="leave the SQLite run out")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="server processes (PostgreSQL)")
    parser.add_argument("--redis-url", default="", help="YIYUE_REDIS_URL for the PostgreSQL runs (use your own db)")
    parser.add_argument("--worker", action="store_true", help="jobs in one `yiyue worker`, not in the servers")
    parser.add_argument("--pay-first", action="store_true", help="the hospital requires payment (hold, then pay)")
    parser.add_argument("--jobs-timeout", type=float, default=120, help="seconds to wait for the jobs to be done")
    parser.add_argument("--rate-requests", type=int, default=3000, help="requests for the /healthz rate")
    parser.add_argument("--ceiling-clients", type=int, default=20)
    parser.add_argument("--prepare", choices=("direct", "http"), default="direct", help="how patients are made")
    args = parser.parse_args()
    runs: list[tuple[str, int]] = []
    if not args.no_sqlite:
        runs.append(("", 1))
    if args.database_url:
        runs += [(args.database_url, n) for n in args.processes]
    ceiling: float | None = None
    if args.database_url:
        ceiling, how = postgres_ceiling(args.database_url, args.schedules, args.patients * 5, args.ceiling_clients)
        print(f"PostgreSQL ceiling: {ceiling:.0f} claims/s over {args.schedules} rows ({how})")
    broken = False
    for url, processes in runs:
        run = run_one(url, processes, args)
        broken |= report(run, args, ceiling if url else None)
    raise SystemExit(1 if broken else 0)


if __name__ == "__main__":
    main()
