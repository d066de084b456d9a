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
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from tests.admin.conftest import console_login
from tests.conftest import PG_URL, Login
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
def _replica_pg_migrated() -> str:
    """The PostgreSQL replica database, created if missing and migrated once per run."""
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

    asyncio.run(prepare())
    upgrade(url)
    return url


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
