"""Flash release (放号) benchmark: one schedule of N slots, M patients asking at the same instant.

Starts one real server process (``yiyue serve``) on a fresh database, prepares M accounts with a visit
person each before the clock starts, then releases them all at once and reports what happened:

    python bench/flash_release.py                       # embedded default (SQLite)
    python bench/flash_release.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/flash_release.py --mode window          # 抽签放号: entries in a release window, then the draw
    python bench/flash_release.py --servers 2 --patients 2000 --database-url postgresql+asyncpg://... \
        [--redis-url redis://127.0.0.1:6379/5 --worker]   # N server processes sharing the crowd

The rush's answer rate (every patient answered, booked or sold out) is printed as a ratio of ``/healthz``
on the same servers, and so is the rate of sold-out answers after the sell-out.

The PostgreSQL database given is emptied first. Figures are printed, not asserted: the invariants
(0 oversold, 0 duplicates, 0 5xx) are checked and the exit status is 1 if any of them is broken.

``--mode window`` releases the schedule in a window of ``--window-seconds`` instead (抽签放号): the M
patients enter the draw at the same instant (entry answer p50/p99), then at the close the bench runs the
draw itself, timed (the server's job finds it made), and checks every entrant has one result, winners =
slots, one per ID number, and that re-running the draw from its record gives the same winners.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from sqlalchemy import func, select, update

from support import (
    NO_ANSWER,
    Http,
    Patient,
    backend,
    book,
    healthz_rate,
    patients_for,
    pct,
    rate,
    reset_postgres,
    server_rss_mb,
    servers,
    until_healthy,
)
from yiyue.booking import draw, release_service
from yiyue.booking.models import OCCUPYING, Appointment, ReleaseDraw, ReleaseEntry
from yiyue.core.clock import Clock, local_today
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.models import load_all
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Schedule

load_all()


async def make_schedule(url: str, capacity: int, *, window: bool = False, window_seconds: int = 30) -> int:
    db = Database(url)
    try:
        async with db.session() as session:
            hospital = Hospital(
                name="压测医院",
                name_initials="cyyy",
                level="三级甲等",
                city="北京",
                district="东城区",
                address="压测路1号",
                phone="010-00000000",
                intro="",
                release_days=7,
                release_time=clock_time(8, 0),
                stop_minutes_before=0,
                cancel_minutes_before=120,
                max_active_appointments=5,
                payment_required=False,
                release_mode="window" if window else "fcfs",
                release_window_seconds=window_seconds,
                created_at=Clock().now(),
            )
            session.add(hospital)
            await session.flush()
            clinic = Department(hospital_id=hospital.id, name="心血管内科", name_initials="xxgnk")
            session.add(clinic)
            await session.flush()
            doctor = Doctor(
                hospital_id=hospital.id,
                department_id=clinic.id,
                name="名医",
                name_initials="my",
                gender="男",
                title="主任医师",
                specialty="",
                intro="",
                fee_fen=5000,
            )
            session.add(doctor)
            await session.flush()
            schedule = await scheduling.create_schedule(
                session,
                hospital=hospital,
                doctor=doctor,
                visit_date=local_today(Clock().now()) + timedelta(days=1),
                period=Period.AFTERNOON,
                capacity=capacity,
            )
            return schedule.id
    finally:
        await db.dispose()


async def count_occupying(url: str, schedule_id: int) -> tuple[int, int, int]:
    db = Database(url)
    try:
        async with db.session() as session:
            rows = list(
                await session.execute(
                    select(Appointment.slot_id, Appointment.visit_person_id).where(
                        Appointment.schedule_id == schedule_id, Appointment.status.in_(OCCUPYING)
                    )
                )
            )
            total = len(rows)
            oversold = total - len({slot for slot, _ in rows})
            duplicates = total - len({person for _, person in rows})
            return total, oversold, duplicates
    finally:
        await db.dispose()


@dataclass
class Measured:
    results: list[tuple[int, str, float]]
    wall: float
    health_rate: float
    sold_rate: float
    sold_out_codes: Counter[str]
    rss_mb: float


async def setup(url: str, slots: int, *, window: bool = False, window_seconds: int = 30) -> int:
    if url.startswith("postgresql"):
        await reset_postgres(url)
    await asyncio.to_thread(upgrade, url)
    return await make_schedule(url, slots, window=window, window_seconds=window_seconds)


async def measure(bases: list[str], env: dict[str, str], schedule_id: int, args: argparse.Namespace) -> Measured:
    http = Http(bases, connections=args.patients + 50)
    async with http.session:
        await until_healthy(http)
        started = time.perf_counter()
        patients = await patients_for(http, env, args.patients + args.sold_out_requests, args.prepare)
        rush, later = patients[: args.patients], patients[args.patients :]
        print(f"prepared {len(patients)} patients in {time.perf_counter() - started:.1f}s (not timed below)")

        started = time.perf_counter()
        results = await asyncio.gather(*(book(http, p, schedule_id) for p in rush))
        wall = time.perf_counter() - started
        rss = server_rss_mb(args.workdir)

        health_rate = await healthz_rate(http, args.rate_requests, args.concurrency)
        sold_out_codes: Counter[str] = Counter()

        async def sold_out_call(i: int) -> None:
            status, code, _ = await book(http, later[i % len(later)], schedule_id)
            sold_out_codes[f"{status} {code}"] += 1

        sold_rate = await rate(args.rate_requests, args.concurrency, sold_out_call)
    return Measured(list(results), wall, health_rate, sold_rate, sold_out_codes, rss)


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-bench-"))
    args.workdir = workdir
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    schedule_id = asyncio.run(setup(url, args.slots, window=args.mode == "window", window_seconds=args.window_seconds))
    with servers(url, workdir, args.servers, redis_url=args.redis_url, worker=args.worker) as (bases, env):
        if args.mode == "window":
            w = asyncio.run(measure_window(bases, env, url, schedule_id, args))
        else:
            m = asyncio.run(measure(bases, env, schedule_id, args))
    if args.mode == "window":
        return report_window(args, url, w)
    return report(args, url, asyncio.run(count_occupying(url, schedule_id)), m)


def report(args: argparse.Namespace, url: str, stored: tuple[int, int, int], m: Measured) -> int:
    total, oversold, duplicates = stored
    statuses = Counter(s for s, _, _ in m.results)
    codes = Counter(c for s, c, _ in m.results if s != 201)
    latencies = [t for _, _, t in m.results]
    five_xx = sum(n for s, n in statuses.items() if s >= 500)
    p50, p95, p99 = (pct(latencies, q) for q in (50, 95, 99))
    where = f"{args.servers} server processes" if args.servers > 1 else "one server process"
    if args.redis_url:
        where += ", Redis"
    print(f"\nflash release on {backend(url)}: {args.slots} slots, {args.patients} concurrent patients, {where}")
    print(f"  booked (201)            {statuses.get(201, 0)}")
    print(f"  rejected by code        {dict(codes)}")
    print(f"  stored appointments     {total}")
    print(f"  oversold                {oversold}")
    print(f"  duplicate bookings      {duplicates}")
    print(f"  5xx / no answer         {five_xx} / {statuses.get(NO_ANSWER, 0)}")
    print(f"  latency p50/p95/p99     {p50:.0f} / {p95:.0f} / {p99:.0f} ms")
    answers = len(m.results) / m.wall
    print(
        f"  rush wall time          {m.wall:.2f}s ({answers:.0f} answers/s = {answers / m.health_rate:.0%} of /healthz)"
    )
    print(f"  bookings/s              {statuses.get(201, 0) / m.wall:.0f} (all {args.slots} slots went in the rush)")
    print(f"  /healthz rate           {m.health_rate:.0f} req/s ({args.concurrency} concurrent)")
    share = m.sold_rate / m.health_rate
    print(f"  sold-out answer rate    {m.sold_rate:.0f} req/s = {share:.0%} of /healthz  {dict(m.sold_out_codes)}")
    print(f"  server RSS (largest)    {m.rss_mb:.0f} MB")
    lost = total < statuses.get(201, 0)
    broken = oversold or duplicates or five_xx or statuses.get(NO_ANSWER, 0) or lost or total > args.slots
    print("  invariants              " + ("BROKEN" if broken else "hold (0 oversold, 0 duplicates, 0 5xx)"))
    return 1 if broken else 0


# --- --mode window: 抽签放号 ---------------------------------------------------------------------------


@dataclass
class WindowMeasured:
    entries: list[tuple[int, str, float]]
    """(status, entry status or error code, seconds) of each entrant's request."""
    wall: float
    draw_seconds: float
    drawn_by_bench: bool
    decided_after_close: float
    stored: dict[str, int]
    winners_booked: int
    distinct_winner_ids: int
    reproduced: bool


async def open_window_now(url: str, schedule_id: int) -> datetime:
    """The schedule's release (the window's start) moved to a moment from now: patients are ready."""
    db = Database(url)
    try:
        async with db.session() as session:
            opens = Clock().now() + timedelta(seconds=1)
            await session.execute(update(Schedule).where(Schedule.id == schedule_id).values(release_at=opens))
            await session.commit()
            return opens
    finally:
        await db.dispose()


async def enter(http: Http, p: Patient, schedule_id: int) -> tuple[int, str, float]:
    started = time.perf_counter()
    status, body = await http.post(
        "/api/v1/release-entries",
        json={"schedule_id": schedule_id, "patient_id": p.patient_id},
        headers=p.auth,
        base=p.base,
    )
    elapsed = time.perf_counter() - started
    return status, (body.get("status", "") if status in (200, 201) else body.get("code", "")), elapsed


async def measure_window(
    bases: list[str], env: dict[str, str], url: str, schedule_id: int, args: argparse.Namespace
) -> WindowMeasured:
    http = Http(bases, connections=args.patients + 50)
    async with http.session:
        await until_healthy(http)
        started = time.perf_counter()
        patients = await patients_for(http, env, args.patients, args.prepare)
        print(f"prepared {len(patients)} patients in {time.perf_counter() - started:.1f}s (not timed below)")
        opens = await open_window_now(url, schedule_id)
        await asyncio.sleep(max(0.0, (opens - Clock().now()).total_seconds()) + 0.05)
        started = time.perf_counter()
        entries = await asyncio.gather(*(enter(http, p, schedule_id) for p in patients))
        wall = time.perf_counter() - started
    closes = opens + timedelta(seconds=args.window_seconds)
    await asyncio.sleep(max(0.0, (closes - Clock().now()).total_seconds()) + 0.01)
    db = Database(url)
    try:
        async with db.session() as session:
            already = await session.scalar(select(ReleaseDraw.id).where(ReleaseDraw.schedule_id == schedule_id))
        started = time.perf_counter()
        async with db.session() as session:
            await release_service.run_draw(session, schedule_id=schedule_id, now=Clock().now())
            await session.commit()
        draw_seconds = time.perf_counter() - started
        while True:  # every entry decided (by this draw, or the server's job at the close)
            async with db.session() as session:
                queued = await session.scalar(
                    select(func.count()).where(ReleaseEntry.schedule_id == schedule_id, ReleaseEntry.status == "queued")
                )
            if not queued:
                break
            await asyncio.sleep(0.05)
        decided_after_close = (Clock().now() - closes).total_seconds()
        async with db.session() as session:
            rows = list(
                await session.execute(
                    select(ReleaseEntry.status, ReleaseEntry.person_index, ReleaseEntry.appointment_id).where(
                        ReleaseEntry.schedule_id == schedule_id
                    )
                )
            )
            record = await release_service.draw_record(session, schedule_id)
    finally:
        await db.dispose()
    won = [r for r in rows if r.status == "won"]
    return WindowMeasured(
        entries=list(entries),
        wall=wall,
        draw_seconds=draw_seconds,
        drawn_by_bench=already is None,
        decided_after_close=decided_after_close,
        stored=dict(Counter(r.status for r in rows)),
        winners_booked=sum(1 for r in won if r.appointment_id is not None),
        distinct_winner_ids=len({r.person_index for r in won}),
        reproduced=set(draw.pick(record.seed, record.entries, record.capacity)) == set(record.winners),
    )


def report_window(args: argparse.Namespace, url: str, w: WindowMeasured) -> int:
    statuses = Counter(s for s, _, _ in w.entries)
    latencies = [t for _, _, t in w.entries]
    five_xx = sum(n for s, n in statuses.items() if s >= 500)
    p50, p99 = pct(latencies, 50), pct(latencies, 99)
    where = f"{args.servers} servers" if args.servers > 1 else "one server"
    print(f"\nrelease window (抽签放号) on {backend(url)}: {args.slots} slots, {args.patients} entrants, {where}")
    print(f"  entry answers           {dict(statuses)}  {dict(Counter(c for _, c, _ in w.entries))}")
    print(f"  entry answer p50/p99    {p50:.0f} / {p99:.0f} ms")
    print(f"  entries wall time       {w.wall:.2f}s ({len(w.entries) / w.wall:.0f} answers/s)")
    who = "by the bench at the close" if w.drawn_by_bench else "by the server's job first; the bench's call found it"
    entrants = sum(w.stored.values())
    print(f"  draw duration           {w.draw_seconds * 1000:.0f} ms for {entrants} entrants ({who})")
    print(f"  all decided after close {w.decided_after_close:.2f}s")
    print(f"  results                 {w.stored}  winners booked {w.winners_booked}")
    print(f"  re-run from the record  {'same winners' if w.reproduced else 'DIFFERENT winners'}")
    broken = (
        five_xx
        or statuses.get(201, 0) != args.patients
        or w.stored.get("queued", 0)
        or w.stored.get("won", 0) != min(args.slots, args.patients)
        or w.winners_booked != w.stored.get("won", 0)
        or w.distinct_winner_ids != w.winners_booked
        or not w.reproduced
    )
    print("  invariants              " + ("BROKEN" if broken else "hold (one result each, winners = slots, 0 5xx)"))
    return 1 if broken else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=30)
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--rate-requests", type=int, default=3000, help="requests for the /healthz and sold-out rates")
    parser.add_argument("--sold-out-requests", type=int, default=100, help="extra patients who ask after the sell-out")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--servers", type=int, default=1, help="server processes sharing the crowd in turn")
    parser.add_argument("--redis-url", default="", help="YIYUE_REDIS_URL for the servers (use your own db)")
    parser.add_argument("--worker", action="store_true", help="jobs in one `yiyue worker`, not in the servers")
    parser.add_argument("--prepare", choices=("direct", "http"), default="direct", help="how patients are made")
    parser.add_argument(
        "--mode", choices=("fcfs", "window"), default="fcfs", help="window: 抽签放号 (entries, then the draw)"
    )
    parser.add_argument(
        "--window-seconds", type=int, default=60, help="--mode window: the release window's length (all must enter)"
    )
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
