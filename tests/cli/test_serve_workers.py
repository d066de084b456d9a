"""``yiyue serve`` as a real process: ``--workers N`` runs N server processes behind one port, and SIGTERM
lets the bookings in flight finish before the processes exit; ``yiyue worker`` finishes its jobs in progress
on SIGTERM too (decision 0017).

Bookings are kept in flight by holding the database's write lock from the test (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a lock on the appointments table), so they are really waiting when the signal comes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.factories import make_catalog, patient_body
from tests.live import free_port, serving
from yiyue.app import FAKE_WECHAT_MOUNT
from yiyue.booking.models import Appointment
from yiyue.core.clock import Clock, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.outbox import OutboxEvent
from yiyue.hospitals.models import Hospital
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Schedule
from yiyue.server import create_server
from yiyue.wechat.fake import create_fake_wechat_app


@pytest.fixture
def fake_wechat(settings: Settings) -> Iterator[str]:
    """The fake WeChat on a port of its own, as several server processes need it."""
    with serving(create_fake_wechat_app(appid=settings.wechat_appid, secret=settings.wechat_secret)) as url:
        yield url


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def server_processes(self) -> list[int]:
        """The supervisor's server processes (not multiprocessing's resource tracker)."""
        return [pid for pid in self.children() if b"spawn_main" in _cmdline(pid)]

    def wait_for_log(self, line: str, count: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.log_text().count(line) < count:
            exited = self.process.poll() is not None
            if (exited and self.log_text().count(line) < count) or time.monotonic() > deadline:
                raise AssertionError(f"server never logged {line!r} {count}×:\n{self.log_text()}")
            time.sleep(0.1)


def server_env(settings: Settings, workdir: Path, wechat: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "YIYUE_DATABASE_URL": settings.database_url,
        "YIYUE_VAR_DIR": str(workdir),
        "YIYUE_QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
        "YIYUE_SECRET_KEY": settings.secret_key,
        "YIYUE_DATA_KEY": settings.data_key,
        "YIYUE_BLIND_INDEX_KEY": settings.blind_index_key,
        "YIYUE_WECHAT_SECRET": settings.wechat_secret,
        "YIYUE_EMBEDDED_WORKERS": "1",
        "YIYUE_DATABASE_POOL_SIZE": "3",  # two processes of a test need no more
        "YIYUE_DATABASE_MAX_OVERFLOW": "2",
    }
    if wechat is not None:
        env["YIYUE_WECHAT_API_BASE"] = wechat
        env["YIYUE_WECHAT_PAY_API_BASE"] = wechat  # never called: these bookings are paid at the hospital
    return env


@contextmanager
def yiyue_serve(settings: Settings, workdir: Path, *args: str, wechat: str | None) -> Iterator[Server]:
    port = free_port()
    log = workdir / "serve.log"
    command = [sys.executable, "-m", "yiyue.cli", "serve", "--port", str(port), "--no-access-log", *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=server_env(settings, workdir, wechat), stdout=out, stderr=out)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        yield server
    finally:
        # Its processes first, while they are still its children: once the supervisor is gone they belong
        # to init, and one left running would go on handling the jobs of later tests' databases.
        children = server.children()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for child in children:
            with suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


async def released_schedule(db: Database) -> Schedule:
    """A schedule the day after tomorrow by the real clock (the server runs on it), open for booking."""
    catalog = await make_catalog(db)
    async with db.session() as session:
        hospital = await session.get_one(Hospital, catalog.hospital.id)
        return await scheduling.create_schedule(
            session,
            hospital=hospital,
            doctor=catalog.doctor,
            visit_date=local_today(Clock().now()) + timedelta(days=2),
            period=Period.AFTERNOON,
            capacity=20,
        )


async def new_patient(http: httpx.AsyncClient, wechat: str) -> tuple[dict[str, str], int]:
    async with httpx.AsyncClient(base_url=wechat) as fake:
        minted = await fake.post("/__fake__/login-code", json={"openid": f"o-{uuid.uuid4().hex}"})
    login = await http.post("/api/v1/auth/wechat-login", json={"code": minted.json()["code"]})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    person = await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    return auth, int(person.json()["id"])


async def book(http: httpx.AsyncClient, auth: dict[str, str], schedule_id: int, patient_id: int) -> httpx.Response:
    return await http.post(
        "/api/v1/appointments",
        json={"schedule_id": schedule_id, "patient_id": patient_id},
        headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
    )


async def stored(db: Database, schedule_id: int) -> set[int]:
    async with db.session() as session:
        return set(await session.scalars(select(Appointment.id).where(Appointment.schedule_id == schedule_id)))


async def wait_healthy(url: str, within: float = 180) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=url, timeout=2) as http:
        while True:
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not answer /healthz")
            await asyncio.sleep(0.1)


@asynccontextmanager
async def writes_held(database_url: str, table: str = "appointments") -> AsyncIterator[None]:
    """Holds the database so that a booking (or a write to ``table``) waits, in flight, until the block ends."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", isolation_level=None, check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("COMMIT")
            conn.close()
        return
    pg = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    transaction = pg.transaction()
    await transaction.start()
    await pg.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")  # writes wait; reads do not
    try:
        yield
    finally:
        await transaction.commit()
        await pg.close()


def test_several_processes_refuse_the_in_process_fake_wechat(settings: Settings, tmp_path: Path) -> None:
    with yiyue_serve(settings, tmp_path, "--workers", "2", wechat=None) as server:
        assert server.process.wait(timeout=60) == 2
        assert "需要独立的微信服务" in server.log_text()
        assert "yiyue fake-wechat" in server.log_text()


async def test_serve_with_two_workers_runs_two_processes_that_book(
    settings: Settings, tmp_path: Path, fake_wechat: str, store: Database
) -> None:
    schedule = await released_schedule(store)
    with yiyue_serve(settings, tmp_path, "--workers", "2", wechat=fake_wechat) as server:
        server.wait_for_log("Application startup complete", 2)
        assert len(server.server_processes()) == 2
        await wait_healthy(server.url)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            patients = [await new_patient(http, fake_wechat) for _ in range(6)]
            answers = await asyncio.gather(*(book(http, auth, schedule.id, pid) for auth, pid in patients))
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        assert await stored(store, schedule.id) == {a.json()["id"] for a in answers}

        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
        assert time.monotonic() - started < 30
        assert server.log_text().count("Finished server process") == 2


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_lets_the_bookings_in_flight_finish(
    settings: Settings, tmp_path: Path, fake_wechat: str, store: Database, workers: int
) -> None:
    schedule = await released_schedule(store)
    with yiyue_serve(settings, tmp_path, "--workers", str(workers), wechat=fake_wechat) as server:
        server.wait_for_log("Application startup complete", workers)
        await wait_healthy(server.url)
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            patients = [await new_patient(http, fake_wechat) for _ in range(4)]
            async with writes_held(settings.database_url):
                in_flight = [asyncio.create_task(book(http, auth, schedule.id, pid)) for auth, pid in patients]
                await asyncio.sleep(1.5)  # they have reached the database and wait there
                assert not any(task.done() for task in in_flight)
                server.process.send_signal(signal.SIGTERM)
                await asyncio.sleep(3.0)  # well past a shutdown that would not wait for them
                assert server.process.poll() is None, "the server left before its requests were answered"
                assert not any(task.done() for task in in_flight)
            answers = await asyncio.gather(*in_flight)
        assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
        # uvicorn ends a lone server by raising the signal again once it has shut down; the supervisor exits 0.
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)
        server.wait_for_log("Application shutdown complete", workers)  # a shutdown, not a kill
        # Every acknowledged booking is stored, and nothing else.
        assert await stored(store, schedule.id) == {a.json()["id"] for a in answers}
        async with store.session() as session:
            count = await session.scalar(select(func.count()).select_from(Appointment))
        assert count == 4


# --- yiyue worker -------------------------------------------------------------------------------------


@pytest.fixture
def relaying_server(settings: Settings) -> Iterator[str]:
    """A server that relays its outbox to the queue and runs no job workers (the settings say 0)."""
    with serving(create_server(settings, clock=Clock())) as url:
        yield url


def start_worker(settings: Settings, server: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **server_env(settings, log.parent, f"{server}{FAKE_WECHAT_MOUNT}"),
        "YIYUE_QUEUE_URL": settings.queue_url,
        "YIYUE_QUEUE_NAME": settings.queue_name,
    }
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "yiyue.cli", "worker", "--threads", "2"], env=env, stdout=sink, stderr=sink
        )


async def test_sigterm_lets_a_worker_finish_its_jobs_in_progress(
    settings: Settings, tmp_path: Path, relaying_server: str, store: Database
) -> None:
    schedule = await released_schedule(store)
    async with httpx.AsyncClient(base_url=relaying_server, timeout=60) as http:
        for _ in range(3):
            auth, pid = await new_patient(http, f"{relaying_server}{FAKE_WECHAT_MOUNT}")
            assert (await book(http, auth, schedule.id, pid)).status_code == 201
    log = tmp_path / "worker.log"
    started = "Executing yiyue.jobs.system.deliver_event"
    async with writes_held(settings.database_url, table="outbox_events"):
        worker = start_worker(settings, relaying_server, log)
        try:
            deadline = time.monotonic() + 180  # a busy machine takes its time to start a process
            while log.read_text(errors="replace").count(started) < 2:  # both threads are in a job, waiting
                assert time.monotonic() < deadline and worker.poll() is None, log.read_text(errors="replace")
                await asyncio.sleep(0.1)
            worker.send_signal(signal.SIGTERM)
            await asyncio.sleep(3.0)
            assert worker.poll() is None, "the worker left its jobs half-done"
        except BaseException:
            worker.kill()
            raise
    assert await asyncio.to_thread(worker.wait, 60) == 0
    text = log.read_text(errors="replace")
    assert "All workers have stopped" in text
    async with store.session() as session:
        handled = await session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.handled_at.is_not(None))
        )
    assert int(handled or 0) >= text.count(started) >= 2  # every job that began was carried through
