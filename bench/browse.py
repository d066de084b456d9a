"""Browsing benchmark: the mini-program's catalog and availability reads as a ratio of ``/healthz``.

Starts one real server process (``yiyue serve``) on a fresh database filled with the demo catalog
(``yiyue seed``: hospitals, departments, doctors, 14 days of schedules), then asks each read endpoint
``--requests`` times, ``--concurrency`` at a time, and prints req/s, p50/p99 and the share of
``/healthz``'s rate on the same server, measured again right before each endpoint. When an endpoint
answers with an ETag the bench also asks with ``If-None-Match`` (the mini-program's revalidation) and
prints the 304 rate:

    python bench/browse.py                                   # SQLite
    python bench/browse.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test_bench \\
        [--redis-url redis://127.0.0.1:6379/5]

The PostgreSQL database given is emptied first. Figures are printed, not asserted (a non-2xx/304 answer
makes the exit status 1). The client runs on the same cores as the server: figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from support import backend, bench_env, pct, reset_postgres, server_process, server_rss_mb
from yiyue.core.clock import Clock, local_today
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.demo.seed import seed_demo
from yiyue.hospitals.models import Doctor, Hospital
from yiyue.models import load_all
from yiyue.scheduling.models import Schedule

load_all()


async def seed(url: str) -> list[tuple[str, str]]:
    """The demo catalog, and the (name, path) of each read to measure, on its busiest rows."""
    db = Database(url)
    try:
        today = local_today(Clock().now())
        async with db.session() as session:
            await seed_demo(session, today=today)
            await session.commit()
        async with db.session() as session:
            hospital_id = await session.scalar(select(func.min(Hospital.id)))
            doctors = await session.execute(select(Doctor).where(Doctor.hospital_id == hospital_id).limit(1))
            doctor = doctors.scalar_one()
            schedule_id = await session.scalar(
                select(func.min(Schedule.id)).where(Schedule.doctor_id == doctor.id, Schedule.visit_date > today)
            )
        tomorrow = (today + timedelta(days=1)).isoformat()
        d = doctor.department_id
        return [
            ("/hospitals", "/api/v1/hospitals"),
            ("/hospitals?q=", "/api/v1/hospitals?q=%E5%8C%BB%E9%99%A2"),
            ("/hospitals/{id}", f"/api/v1/hospitals/{hospital_id}"),
            ("/hospitals/{id}/departments", f"/api/v1/hospitals/{hospital_id}/departments"),
            ("/departments/{id}/doctors", f"/api/v1/departments/{d}/doctors?date={tomorrow}"),
            ("/departments/{id}/availability", f"/api/v1/departments/{d}/availability"),
            ("/doctors/{id}", f"/api/v1/doctors/{doctor.id}"),
            ("/doctors/{id}/schedules", f"/api/v1/doctors/{doctor.id}/schedules"),
            ("/schedules/{id}/slots", f"/api/v1/schedules/{schedule_id}/slots"),
        ]
    finally:
        await db.dispose()


@dataclass
class Measured:
    rate: float
    p50: float
    p99: float
    statuses: dict[int, int]


async def measure(
    session: aiohttp.ClientSession, url: str, requests: int, concurrency: int, headers: dict[str, str] | None = None
) -> Measured:
    queue = iter(range(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker() -> None:
        for _ in queue:
            started = time.perf_counter()
            async with session.get(url, headers=headers) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    rate = requests / (time.perf_counter() - started)
    return Measured(rate, pct(latencies, 50), pct(latencies, 99), statuses)


async def run(base: str, reads: list[tuple[str, str]], args: argparse.Namespace, workdir: Path) -> bool:
    broken = False
    connector = aiohttp.TCPConnector(limit=args.concurrency + 10)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(1200):
            try:
                async with session.get(base + "/healthz") as r:
                    if r.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        for _, path in reads:  # warm: the first answer of each may fill a cache
            async with session.get(base + path) as r:
                await r.read()
        health = await measure(session, base + "/healthz", args.requests, args.concurrency)
        print(f"  {'/healthz':32s} {health.rate:6.0f} req/s  p50/p99 {health.p50:4.0f} / {health.p99:4.0f} ms")
        for name, path in reads:
            # /healthz again right before each endpoint: on a shared machine the ratio to the rate just
            # measured drifts less than one to a rate measured minutes earlier.
            health = await measure(session, base + "/healthz", args.requests, args.concurrency)
            m = await measure(session, base + path, args.requests, args.concurrency)
            ok = all(s == 200 for s in m.statuses)
            broken |= not ok
            share = m.rate / health.rate
            flag = "" if ok else f"  answers {m.statuses}"
            figures = f"{m.rate:6.0f} req/s  p50/p99 {m.p50:4.0f} / {m.p99:4.0f} ms"
            figures += f"  {share:4.0%} of /healthz ({health.rate:.0f})"
            print(f"  {name:32s} {figures}{flag}")
            async with session.get(base + path) as r:
                etag = r.headers.get("ETag")
                await r.read()
            if etag:
                c = await measure(session, base + path, args.requests, args.concurrency, {"If-None-Match": etag})
                broken |= set(c.statuses) != {304}
                print(
                    f"  {'  ' + name + ' (304)':32s} {c.rate:6.0f} req/s  p50/p99 {c.p50:4.0f} / {c.p99:4.0f} ms"
                    f"  {c.rate / health.rate:4.0%} of /healthz  answers {c.statuses}"
                )
        print(f"  server RSS                       {server_rss_mb(workdir):.0f} MB")
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="", help="YIYUE_REDIS_URL (a shared cache; use your own db)")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="yiyue-browse-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if url.startswith("postgresql"):
        asyncio.run(reset_postgres(url))
    upgrade(url)
    reads = asyncio.run(seed(url))
    extra = {"YIYUE_REDIS_URL": args.redis_url} if args.redis_url else {}
    print(f"browsing on {backend(url)}: {args.requests} per endpoint, {args.concurrency} at a time, one server")
    with server_process(url, workdir, env=bench_env(url, workdir, **extra)) as base:
        broken = asyncio.run(run(base, reads, args, workdir))
    raise SystemExit(1 if broken else 0)


if __name__ == "__main__":
    main()
