"""The read replica (``YIYUE_DATABASE_REPLICA_URL``, decision 0022): the catalog and the console's exports
read from it; bookings, availability and every write go to the primary; the replica refuses writes; a
catalog answer cached from a lagging replica is dropped once the replica's lag has passed.

The "replica" is a second database, filled by copying the primary's rows (``snapshot``): what a streaming
replica holds at some moment. Then the primary moves on, and the test sees which of the two each read
answered from. SQLite by default (a second file); on PostgreSQL (``YIYUE_TEST_DATABASE_URL``) a second
database on the same server: ``YIYUE_TEST_REPLICA_DATABASE_URL``, else the primary's name + ``_replica``,
created if missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.admin.conftest import console_login
from tests.conftest import PG_URL, Login, login_via
from tests.factories import FAST_HASHER, book_appointment, make_catalog, make_schedule, make_staff
from yiyue.accounts.staff import passwords
from yiyue.app import create_app
from yiyue.booking.models import Appointment
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Base, Database
from yiyue.core.migrate import upgrade
from yiyue.hospitals.models import Hospital

LAG = 1.5
"""The replica lag the app is told to expect (``database_replica_lag_seconds``)."""


def _replica_pg_url() -> str:
    explicit = os.environ.get("YIYUE_TEST_REPLICA_DATABASE_URL", "")
    if explicit:
        return explicit
    url = make_url(PG_URL)
    return url.set(database=f"{url.database}_replica").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _replica_pg_migrated() -> Iterator[str]:
    """The PostgreSQL replica database, created if missing and migrated once per run; dropped at the end of
    the run unless it was given (``YIYUE_TEST_REPLICA_DATABASE_URL``)."""
    url = _replica_pg_url()

    async def prepare() -> None:
        server = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        async with server.connect() as conn:
            name = make_url(url).database
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await server.dispose()
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    async def drop() -> None:
        server = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            async with server.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        finally:
            await server.dispose()

    asyncio.run(prepare())
    upgrade(url)
    yield url
    if not os.environ.get("YIYUE_TEST_REPLICA_DATABASE_URL"):
        asyncio.run(drop())


@pytest.fixture
def replica_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    if PG_URL:
        url: str = request.getfixturevalue("_replica_pg_migrated")
        asyncio.run(snapshot(database_url, url))  # the primary as each test starts: emptied, seeded rows back
        return url
    template: Path = request.getfixturevalue("_sqlite_template")
    target = tmp_path / "replica.db"
    shutil.copy(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(settings: Settings, replica_url: str) -> Settings:
    return settings.model_copy(update={"database_replica_url": replica_url, "database_replica_lag_seconds": LAG})


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[object]:
    application = create_app(settings, clock=clock)
    yield application
    await application.state.replica.aclose()
    await application.state.wechat.aclose()
    await application.state.db.dispose()


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


async def snapshot(primary_url: str, replica_url: str) -> None:
    """Makes the replica hold exactly the primary's rows now, as a replica that has caught up does."""
    source, target = create_async_engine(primary_url), create_async_engine(replica_url)
    tables = Base.metadata.sorted_tables
    async with source.connect() as read, target.begin() as write:
        if target.dialect.name == "sqlite":
            for table in reversed(tables):
                await write.execute(table.delete())
        else:
            await write.execute(text(f"TRUNCATE {', '.join(t.name for t in tables)} CASCADE"))
        for table in tables:
            rows = [dict(row) for row in (await read.execute(table.select())).mappings()]
            if rows:
                await write.execute(table.insert(), rows)
    await source.dispose()
    await target.dispose()


async def count(url: str, statement: Any) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        found = await conn.scalar(statement)
    await engine.dispose()
    return int(found or 0)


async def hospital_name(client: httpx.AsyncClient, hospital_id: int) -> str:
    answer = await client.get(f"/api/v1/hospitals/{hospital_id}")
    assert answer.status_code == 200, answer.text
    name: str = answer.json()["name"]
    return name


async def test_the_catalog_answers_from_the_replica_and_writes_go_to_the_primary(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    catalog = await make_catalog(db, name="主库人民医院")
    await snapshot(settings.database_url, settings.database_replica_url)
    async with db.session() as session:  # a staff edit: the primary moves on, the replica has not caught up
        await session.execute(update(Hospital).where(Hospital.id == catalog.hospital.id).values(name="改名后的医院"))

    assert await hospital_name(client, catalog.hospital.id) == "主库人民医院"  # the replica's row
    listed = (await client.get("/api/v1/hospitals")).json()["items"]
    assert [h["name"] for h in listed] == ["主库人民医院"]
    primary = select(func.count()).select_from(Hospital).where(Hospital.name == "改名后的医院")
    assert await count(settings.database_url, primary) == 1
    assert await count(settings.database_replica_url, primary) == 0


async def test_booking_and_availability_use_the_primary_though_the_replica_has_never_heard_of_them(
    client: httpx.AsyncClient, db: Database, login: Login, settings: Settings
) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=3)  # in the primary only: the replica stays empty

    slots = await client.get(f"/api/v1/schedules/{schedule.id}/slots")
    assert slots.status_code == 200, slots.text
    booked = await book_appointment(client, await login(), schedule.id)

    assert booked["status"] in ("booked", "pending_payment")
    appointments = select(func.count()).select_from(Appointment)
    assert await count(settings.database_url, appointments) == 1
    assert await count(settings.database_replica_url, appointments) == 0
    # The catalog of this hospital is not on the replica yet: its reads say so (and are not served from the primary).
    assert (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}")).status_code == 404


async def test_the_replica_refuses_a_write_sent_to_it_by_mistake(app: Any) -> None:
    async with app.state.replica.sessions() as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(update(Hospital).values(name="写错了库"))
    assert "read" in str(refused.value).lower()  # "readonly database" / "read-only transaction"


async def test_exports_read_the_replica_and_their_audit_is_written_to_the_primary(
    client: httpx.AsyncClient, db: Database, login: Login, settings: Settings
) -> None:
    catalog = await make_catalog(db)
    schedule = await make_schedule(db, catalog, capacity=5)
    admin = await make_staff(db, catalog=catalog, username=f"admin-{uuid.uuid4().hex[:6]}")
    for name in ("张一", "李二"):
        await book_appointment(client, await login(), schedule.id, name=name)
    await snapshot(settings.database_url, settings.database_replica_url)
    await book_appointment(client, await login(), schedule.id, name="王三")  # the primary only, for now

    console = await console_login(client, admin.username)
    day = schedule.visit_date.isoformat()
    answer = await console.get(f"/admin/exports/appointments.csv?date_from={day}&date_to={day}")

    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Export-Rows"] == "2"  # what the replica holds, not the primary's 3
    exports = select(func.count()).select_from(AuditLog).where(AuditLog.action == "appointment.export")
    assert await count(settings.database_url, exports) == 1
    assert await count(settings.database_replica_url, exports) == 0


async def test_a_catalog_answer_cached_from_a_lagging_replica_is_dropped_once_the_lag_has_passed(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    catalog = await make_catalog(db, name="旧名医院")
    await snapshot(settings.database_url, settings.database_replica_url)
    await asyncio.sleep(LAG)  # the second drop after making the catalog is over
    async with db.session() as session:
        await session.execute(update(Hospital).where(Hospital.id == catalog.hospital.id).values(name="新名医院"))
    written = time.monotonic()

    assert await hospital_name(client, catalog.hospital.id) == "旧名医院"  # read from the lagging replica, kept
    await snapshot(settings.database_url, settings.database_replica_url)  # the replica catches up
    if time.monotonic() - written < LAG - 0.2:
        # The catalog is kept 300 s and the test's clock stands still: only the second drop can end this.
        assert await hospital_name(client, catalog.hospital.id) == "旧名医院"

    for _ in range(200):  # at most 20 s on a busy machine
        if (name := await hospital_name(client, catalog.hospital.id)) == "新名医院":
            break
        await asyncio.sleep(0.1)
    assert name == "新名医院"
    assert time.monotonic() - written >= LAG


# --- a real streaming replica (opt-in: YIYUE_TEST_STREAMING_REPLICA=1) -------------------------------

STREAMING = os.environ.get("YIYUE_TEST_STREAMING_REPLICA", "") == "1"


def _pg_bin() -> Path | None:
    found = shutil.which("pg_config")
    if found is None:
        return None
    bindir = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    return bindir if (bindir / "initdb").exists() and (bindir / "pg_basebackup").exists() else None


@dataclass
class StreamingPair:
    primary: str
    standby: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def streaming_pair() -> Iterator[StreamingPair]:
    """A PostgreSQL primary of its own (initdb) and a hot standby made from it with ``pg_basebackup -R``,
    streaming its WAL; both on free ports, stopped afterwards. PostgreSQL will not run as root: as root the
    server commands run as the ``postgres`` user."""
    bindir = _pg_bin()
    assert bindir is not None, "pg_config --bindir has no initdb and pg_basebackup"
    # Not under pytest's root-only temporary folder: the postgres user must be able to reach it.
    base = Path(tempfile.mkdtemp(prefix="yiyue-streaming-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(base, "postgres")

    def run(*args: str, check: bool = True) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, f"{' '.join(args)}: {done.stderr or done.stdout}"

    def start(data: Path, port: int) -> None:
        pg_ctl = str(bindir / "pg_ctl")
        run(pg_ctl, "-D", str(data), "-o", f"-p {port} {options}", "-l", f"{data}.log", "-w", "start")

    primary, standby = base / "primary", base / "standby"
    ports = _free_port(), _free_port()
    options = f"-k {base} -c listen_addresses=127.0.0.1"
    try:
        run(str(bindir / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "--no-sync")
        start(primary, ports[0])
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres", "yiyue")
        run(
            str(bindir / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres", "-D", str(standby)),
            *("-R", "-X", "stream", "-c", "fast"),
        )
        start(standby, ports[1])
        yield StreamingPair(
            primary=f"postgresql+asyncpg://postgres@127.0.0.1:{ports[0]}/yiyue",
            standby=f"postgresql+asyncpg://postgres@127.0.0.1:{ports[1]}/yiyue",
        )
    finally:
        # Whatever failed (a start that timed out with its postmaster up included): every server that has a
        # postmaster.pid is stopped at once, without checking (the test's failure is the one to see), and
        # only then is the directory removed.
        for data in (standby, primary):
            if (data / "postmaster.pid").exists():
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)


async def caught_up(pair: StreamingPair) -> None:
    """Waits until the standby has replayed everything the primary had written when asked."""
    primary, standby = create_async_engine(pair.primary), create_async_engine(pair.standby)
    async with primary.connect() as conn:
        lsn = await conn.scalar(text("SELECT pg_current_wal_lsn()::text"))
    try:
        async with standby.connect() as conn:
            for _ in range(200):
                query = text("SELECT pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn)")
                if await conn.scalar(query, {"lsn": lsn}):
                    return
                await asyncio.sleep(0.05)
        raise AssertionError(f"the standby did not replay up to {lsn} within 10 s")
    finally:
        await primary.dispose()
        await standby.dispose()


async def on_standby(pair: StreamingPair, statement: str) -> Any:
    engine = create_async_engine(pair.standby, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        found = await conn.scalar(text(statement))
    await engine.dispose()
    return found


@pytest.mark.heavy
@pytest.mark.skipif(
    not STREAMING, reason="set YIYUE_TEST_STREAMING_REPLICA=1 to start a primary and a pg_basebackup standby"
)
@pytest.mark.skipif(
    _pg_bin() is None, reason="needs PostgreSQL's server binaries (pg_config --bindir: initdb, pg_basebackup)"
)
async def test_a_real_streaming_standby_serves_the_catalog_while_the_primary_takes_the_bookings(
    streaming_pair: StreamingPair, settings: Settings, clock: FrozenClock
) -> None:
    pair = streaming_pair
    await asyncio.to_thread(upgrade, pair.primary)  # `yiyue migrate` on the primary; the standby follows
    await caught_up(pair)
    assert await on_standby(pair, "SELECT pg_is_in_recovery()") is True
    app = create_app(
        settings.model_copy(
            update={
                "database_url": pair.primary,
                "database_replica_url": pair.standby,
                "database_replica_lag_seconds": LAG,
            }
        ),
        clock=clock,
    )
    db: Database = app.state.db
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as client:
            catalog = await make_catalog(db, name="流复制人民医院")
            schedule = await make_schedule(db, catalog, capacity=3)
            await caught_up(pair)
            assert await hospital_name(client, catalog.hospital.id) == "流复制人民医院"
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["replica"] == "ok", ready.text

            # The standby stops replaying: bookings go on (the primary), what the catalog shows can only be
            # the standby's.
            await on_standby(pair, "SELECT pg_wal_replay_pause()")
            patient = await login_via(client, f"o-{uuid.uuid4().hex[:12]}")
            booked = await book_appointment(client, patient, schedule.id)
            assert booked["status"] in ("booked", "pending_payment")
            assert await on_standby(pair, "SELECT count(*) FROM appointments") == 0
            await asyncio.sleep(LAG)  # the booking's second drop of the cache is over
            # Replay stalled past the allowed lag: reported (not required, so still ready).
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["checks"]["replica"].startswith("lagging: "), ready.text
            async with db.session() as session:
                await session.execute(
                    update(Hospital).where(Hospital.id == catalog.hospital.id).values(name="改名医院")
                )
            written = time.monotonic()
            assert await hospital_name(client, catalog.hospital.id) == "流复制人民医院"
            await on_standby(pair, "SELECT pg_wal_replay_resume()")
            await caught_up(pair)
            assert await on_standby(pair, "SELECT count(*) FROM appointments") == 1  # streamed from the primary

            for _ in range(200):  # the lag guard drops what was cached from the paused standby
                if (name := await hospital_name(client, catalog.hospital.id)) == "改名医院":
                    break
                await asyncio.sleep(0.1)
            assert name == "改名医院" and time.monotonic() - written >= LAG

            async with app.state.replica.sessions() as session:
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    await session.execute(update(Hospital).values(name="写错了库"))
    finally:
        await app.state.replica.aclose()
        await app.state.wechat.aclose()
        await db.dispose()


async def test_a_replica_that_is_down_answers_the_catalog_503_with_retry_after_not_500(
    settings: Settings, clock: FrozenClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:  # a port where nothing listens: connections are refused at once
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    down = (
        f"postgresql+asyncpg://postgres@127.0.0.1:{port}/yiyue"
        if PG_URL
        else f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'replica.db'}"
    )
    application = create_app(settings.model_copy(update={"database_replica_url": down}), clock=clock)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://yiyue.test") as client:
            with caplog.at_level("WARNING"):
                answers = [await client.get("/api/v1/hospitals") for _ in range(3)]
            ready = await client.get("/readyz")
    finally:
        await application.state.replica.aclose()
        await application.state.wechat.aclose()
        await application.state.db.dispose()

    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "SERVICE_UNAVAILABLE"
        assert answer.headers["Retry-After"] == "5"
    warnings = [r for r in caplog.records if r.name == "yiyue.replica"]
    assert len(warnings) == 1  # one line, not one per request
    assert not [r for r in caplog.records if r.exc_info]  # no stack trace
    assert ready.status_code == 200 and ready.json()["checks"]["replica"].startswith("failing")
