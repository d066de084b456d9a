"""Job delivery benchmark: how many outbox events per second reach their handler and are marked handled.

Writes N events in committed batches (as requests would), lets the outbox relay hand them to the queue,
and runs a real Huey consumer with worker threads until every event is handled, in both queue modes:

    python bench/jobs_throughput.py                        # SQLite database; SQLite queue, then Redis
    python bench/jobs_throughput.py --events 5000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The handler writes one row (an audit record) in the event's transaction, so each job is one real
read + write transaction. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from yiyue.core import audit, outbox
from yiyue.core.clock import Clock
from yiyue.core.config import Settings
from yiyue.core.db import Database, begin_write
from yiyue.core.events import Event
from yiyue.core.migrate import upgrade
from yiyue.core.outbox import OutboxEvent
from yiyue.core.tasks import Tasks
from yiyue.jobs.queue import make_huey
from yiyue.jobs.system import JobSystem


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=20, help="events per committed transaction")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
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
