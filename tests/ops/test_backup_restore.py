"""The restore drill (docs/operations.md), on PostgreSQL: a small database with bookings, payments, a
refund and pending jobs is dumped with ``yiyue backup create``, dropped, restored with ``yiyue backup
restore`` into a new database, and then every row is as it was, every invariant holds (``yiyue backup
verify``: schema at the migration head, no slot sold twice, each appointment's slot claimed, ...), and
the app books on the restored database. The commands run as real subprocesses, as an operator runs them.

Runs only with ``YIYUE_TEST_DATABASE_URL`` on PostgreSQL. Its two databases are its own, next to the
given one (dropped afterwards), so it never collides with the suite's.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import Login, login_via
from tests.e2e.test_paid_booking import pay_for, user_pays
from tests.factories import id_number, make_catalog, make_schedule
from tests.jobs_support import Jobs
from yiyue import cli
from yiyue.app import create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Base, Database
from yiyue.core.migrate import upgrade
from yiyue.ops import backup
from yiyue.ops.invariants import check

PG_URL = os.environ.get("YIYUE_TEST_DATABASE_URL", "")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs YIYUE_TEST_DATABASE_URL on PostgreSQL"),
]


def sibling(name: str) -> str:
    """A database of this name on the suite's PostgreSQL server."""
    return backup.Target.parse(PG_URL).url.set(database=name).render_as_string(hide_password=False)


async def on_server(sql: str) -> None:
    engine = backup.Target.parse(PG_URL).engine(backup.MAINTENANCE_DATABASE)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


async def drop(url: str) -> None:
    await on_server(f'DROP DATABASE IF EXISTS "{backup.Target.parse(url).name}" WITH (FORCE)')


@pytest.fixture
def restored_url() -> Iterator[str]:
    """Where the drill restores to: a name that does not exist yet (the restore creates it)."""
    url = sibling(f"yiyue_backup_dst_{uuid.uuid4().hex[:10]}")
    yield url
    asyncio.run(drop(url))


@pytest.fixture
def database_url() -> Iterator[str]:
    """The source database (conftest's app, clients and logins use it): migrated, of this test's own."""
    url = sibling(f"yiyue_backup_src_{uuid.uuid4().hex[:10]}")
    asyncio.run(on_server(f'CREATE DATABASE "{backup.Target.parse(url).name}"'))
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(drop(url))


async def yiyue(*args: str, database_url: str = "") -> Result:
    """``yiyue backup ...`` through the ``yiyue`` command line itself (``yiyue.cli:app``), in this process:
    a process of its own would spend seconds importing the app. In a thread, since the commands run their
    own event loop as they do from a shell."""
    env = {"YIYUE_DATABASE_URL": database_url or None}
    return await asyncio.to_thread(CliRunner().invoke, cli.app, ["backup", *args], env=env)


async def fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Each table's row count and a digest of all its rows (every column), and the migration revision."""
    engine = create_async_engine(url, poolclass=NullPool)
    found: dict[str, tuple[int, str]] = {}
    async with engine.connect() as conn:
        for name in [t.name for t in Base.metadata.sorted_tables] + ["alembic_version"]:
            row = (
                await conn.execute(
                    text(f"SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) FROM {name} r")
                )
            ).one()
            found[name] = (int(row[0]), str(row[1]))
    await engine.dispose()
    return found


async def problems(url: str) -> list[str]:
    db = Database(url)
    try:
        async with db.session() as session:
            return [p.invariant for p in await check(session)]
    finally:
        await db.dispose()


async def make_a_busy_little_hospital(client: httpx.AsyncClient, db: Database, login: Login, jobs: Jobs) -> int:
    """A paying hospital with a paid booking, a paid-then-cancelled (refunded) one and an unpaid hold, its
    jobs run (messages, refund) except the hold's end, still due in 15 minutes; returns the schedule."""
    catalog = await make_catalog(db, name="备份演练医院", payment_required=True)
    schedule = await make_schedule(db, catalog, capacity=5)
    appointments: list[int] = []
    for n, who in enumerate(("payer", "canceller", "holder")):
        auth = await login(f"o-backup-{who}")
        patient = await add_patient(client, auth, id_number=id_number(serial=100 + n))
        held = await book(client, auth, schedule.id, patient)
        assert held.status_code == 201, held.text
        appointments.append(held.json()["id"])
        order = await pay_for(client, auth, held.json()["id"])  # the holder opens the order, never pays
        if who != "holder":
            await user_pays(client, order)
        if who == "canceller":
            cancelled = await client.post(f"/api/v1/appointments/{held.json()['id']}/cancel", headers=auth)
            assert cancelled.status_code == 200, cancelled.text
    await jobs.drain()
    async with db.session() as session:
        money = (await session.execute(text("SELECT status FROM payments ORDER BY id"))).scalars().all()
        pending = await session.scalar(text("SELECT count(*) FROM outbox_events WHERE handled_at IS NULL"))
    assert money == ["paid", "refunded", "pending"]
    assert pending and pending > 0  # the drill carries work still to do
    return schedule.id


async def test_dump_drop_restore_keeps_every_row_and_invariant_and_the_app_books(
    client: httpx.AsyncClient,
    db: Database,
    app: object,
    login: Login,
    database_url: str,
    restored_url: str,
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    schedule_id = await make_a_busy_little_hospital(client, db, login, Jobs(app))  # type: ignore[arg-type]
    assert await problems(database_url) == []
    before = await fingerprints(database_url)
    await db.dispose()  # the app lets go of the source before it is dropped

    dump = tmp_path / "yiyue.dump"
    made = await yiyue("create", str(dump), database_url=database_url)
    assert made.exit_code == 0, made.output
    assert dump.stat().st_size > 0 and not dump.with_name("yiyue.dump.partial").exists()
    assert backup.head_revision() in made.stdout

    await drop(database_url)

    restored = await yiyue("restore", str(dump), "--to", restored_url)
    assert restored.exit_code == 0, restored.output
    assert "created and restored" in restored.stdout and restored.stderr == ""
    assert f"id sequences moved {backup.ID_GAP} past the dump's" in restored.stdout

    assert await fingerprints(restored_url) == before  # every row of every table, alembic_version too
    verified = await yiyue("verify", database_url=restored_url)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("ok:")

    again = await yiyue(
        "restore", str(dump), "--to", restored_url, "--id-gap", "0"
    )  # never over a database that has tables
    assert again.exit_code == 1 and "只恢复到空数据库" in again.stderr
    assert await fingerprints(restored_url) == before

    await books_on(restored_url, settings, clock, schedule_id, before["appointments"][0])
    await verify_is_not_vacuous(restored_url)


async def books_on(
    url: str, settings: Settings, clock: FrozenClock, schedule_id: int, appointments_before: int
) -> None:
    """The app on the restored database: a new patient books the schedule (new ids from the restored
    sequences, the unique indexes in place), then its jobs run and every invariant still holds."""
    application = create_app(settings.model_copy(update={"database_url": url}), clock=clock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://yiyue.test"
        ) as client:
            auth = await login_via(client, "o-after-restore")
            patient = await add_patient(client, auth, id_number=id_number(serial=200))
            answer = await book(client, auth, schedule_id, patient)
            assert answer.status_code == 201, answer.text
            assert (await book(client, auth, schedule_id, patient)).json()["code"] == "DUPLICATE_BOOKING"
            await Jobs(application).drain()
    finally:
        await application.state.wechat.aclose()
        await application.state.db.dispose()
    # Ids 1..n were in the dump; those after it, lost with the database, are never given again.
    assert answer.json()["id"] == appointments_before + backup.ID_GAP + 1
    assert answer.json()["status"] == "pending_payment"
    assert await problems(url) == []


async def verify_is_not_vacuous(url: str) -> None:
    """What ``verify`` passed it would refuse: a slot freed under its appointment, a sequence set back."""
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(
                text("UPDATE slots SET status = 'available' WHERE id = (SELECT min(slot_id) FROM appointments)")
            )
            await session.execute(text("SELECT setval(pg_get_serial_sequence('payments', 'id'), 1)"))
    finally:
        await db.dispose()
    verified = await yiyue("verify", database_url=url)
    assert verified.exit_code == 1
    assert {line.split(":")[0] for line in verified.stdout.splitlines()} == {
        "appointment_slot_not_claimed",
        "sequence_behind",
    }
