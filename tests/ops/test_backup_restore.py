"""The restore drill (docs/operations.md), on PostgreSQL: a small database with bookings, payments, a
refund and pending jobs is dumped with ``yiyue backup create``, dropped (its schema and everything in it),
restored with ``yiyue backup restore`` where it was, and then every row is as it was, every invariant
holds (``yiyue backup verify``: schema at the migration head, no slot sold twice, each appointment's slot
claimed, ...), and the app books on it, with ids past those the lost hours could have used.

Runs only with ``YIYUE_TEST_DATABASE_URL`` on PostgreSQL, on the suite's database like every test (each
test empties it first). It drops that database's schema rather than the database: ``DROP DATABASE`` forces
a checkpoint of the whole server, which costs seconds to a minute while the suite writes beside it. A
restore into a database it creates is drilled on a cluster of its own (test_point_in_time_recovery.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner, Result

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import Login, _reset_postgres_schema, login_via
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
SERIALS = itertools.count(100)
"""ID numbers' sequence digits: each patient of the module a person of their own."""

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs YIYUE_TEST_DATABASE_URL on PostgreSQL"),
]


async def drop_everything(url: str) -> None:
    """The database is lost: every table, sequence, index and row of the application goes."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture
def put_back(database_url: str) -> Iterator[None]:
    """Whatever happens to the drill, the suite's database is left migrated for the tests after it."""
    yield
    try:
        at_head = asyncio.run(backup.schema_revision(database_url)) == backup.head_revision()
    except Exception:
        at_head = False
    if not at_head:
        _reset_postgres_schema(database_url)
        upgrade(database_url)


async def yiyue(*args: str, database_url: str = "", restore_to: str = "") -> Result:
    """``yiyue backup ...`` through the ``yiyue`` command line itself (``yiyue.cli:app``), in this process:
    a process of its own would spend seconds importing the app. In a thread, since the commands run their
    own event loop as they do from a shell."""
    env = {"YIYUE_DATABASE_URL": database_url or None, "YIYUE_RESTORE_TARGET_URL": restore_to or None}
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


async def make_a_busy_little_hospital(
    client: httpx.AsyncClient, db: Database, login: Login, jobs: Jobs, *, name: str = "备份演练医院"
) -> int:
    """A paying hospital with a paid booking, a paid-then-cancelled (refunded) one and an unpaid hold, its
    jobs run (messages, refund) except the hold's end, still due in 15 minutes; returns the schedule."""
    catalog = await make_catalog(db, name=name, payment_required=True)
    schedule = await make_schedule(db, catalog, capacity=5)
    for who in ("payer", "canceller", "holder"):
        auth = await login(f"o-{catalog.hospital.id}-{who}")
        patient = await add_patient(client, auth, id_number=id_number(serial=next(SERIALS)))
        held = await book(client, auth, schedule.id, patient)
        assert held.status_code == 201, held.text
        order = await pay_for(client, auth, held.json()["id"])  # the holder opens the order, never pays
        if who != "holder":
            await user_pays(client, order)
        if who == "canceller":
            cancelled = await client.post(f"/api/v1/appointments/{held.json()['id']}/cancel", headers=auth)
            assert cancelled.status_code == 200, cancelled.text
    await jobs.drain()
    async with db.session() as session:
        money = await session.scalars(
            text(
                "SELECT p.status FROM payments p JOIN appointments a ON a.id = p.appointment_id"
                " WHERE a.schedule_id = :schedule ORDER BY p.id"
            ),
            {"schedule": schedule.id},
        )
        pending = await session.scalar(text("SELECT count(*) FROM outbox_events WHERE handled_at IS NULL"))
    assert list(money) == ["paid", "refunded", "pending"]
    assert pending and pending > 0  # the copy carries work still to do
    return schedule.id


@pytest.mark.usefixtures("put_back")
async def test_dump_drop_restore_keeps_every_row_and_invariant_and_the_app_books(
    client: httpx.AsyncClient,
    db: Database,
    app: object,
    login: Login,
    database_url: str,
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    schedule_id = await make_a_busy_little_hospital(client, db, login, Jobs(app))  # type: ignore[arg-type]
    assert await problems(database_url) == []
    before = await fingerprints(database_url)
    await db.dispose()  # the app lets go of the database before it is lost

    dump = tmp_path / "yiyue.dump"
    made = await yiyue("create", str(dump), database_url=database_url)
    assert made.exit_code == 0, made.output
    assert dump.stat().st_size > 0 and not dump.with_name("yiyue.dump.partial").exists()
    assert dump.stat().st_mode & 0o777 == 0o600  # ID numbers, phones, password hashes: the owner's only
    assert backup.head_revision() in made.stdout

    await drop_everything(database_url)
    assert await backup.schema_revision(database_url) is None

    restored = await yiyue("restore", str(dump), restore_to=database_url)  # the URL out of argv
    assert restored.exit_code == 0, restored.output
    assert "restored into empty" in restored.stdout and restored.stderr == ""
    assert f"id sequences moved {backup.ID_GAP} past the dump's" in restored.stdout

    assert await fingerprints(database_url) == before  # every row of every table, alembic_version too
    verified = await yiyue("verify", database_url=database_url)
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("ok:")

    # Never over a database that has tables, whatever is asked.
    again = await yiyue("restore", str(dump), "--to", database_url, "--id-gap", "0")
    assert again.exit_code == 1 and "只恢复到空数据库" in again.stderr
    assert await fingerprints(database_url) == before

    booked = await books_on(database_url, settings, clock, schedule_id)
    # Ids 1..n were in the dump; those after it, lost with the database, are never given again.
    assert booked == before["appointments"][0] + backup.ID_GAP + 1
    await verify_is_not_vacuous(database_url)


async def books_on(url: str, settings: Settings, clock: FrozenClock, schedule_id: int) -> int:
    """The app on the restored database: a new patient books the schedule (new ids from the restored
    sequences, the unique indexes in place), then its jobs run and every invariant still holds; returns the
    new appointment's id."""
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
    assert answer.json()["status"] == "pending_payment"
    assert await problems(url) == []
    return int(answer.json()["id"])


async def verify_is_not_vacuous(url: str) -> None:
    """What ``verify`` passed it would refuse: a slot freed under its appointment, a slot claimed by no
    appointment, a sequence set back."""
    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(
                text("UPDATE slots SET status = 'available' WHERE id = (SELECT min(slot_id) FROM appointments)")
            )
            await session.execute(
                text(
                    "UPDATE slots SET status = 'booked' WHERE id = (SELECT max(id) FROM slots s WHERE NOT EXISTS"
                    " (SELECT 1 FROM appointments a WHERE a.slot_id = s.id))"
                )
            )
            await session.execute(text("SELECT setval(pg_get_serial_sequence('payments', 'id'), 1)"))
    finally:
        await db.dispose()
    verified = await yiyue("verify", database_url=url)
    assert verified.exit_code == 1
    assert {line.split(":")[0] for line in verified.stdout.splitlines()} == {
        "appointment_slot_not_claimed",
        "claimed_slot_without_appointment",
        "sequence_behind",
    }


async def test_a_failed_dump_leaves_neither_the_dump_nor_a_partial_file(database_url: str, tmp_path: Path) -> None:
    missing = make_url(database_url).set(database="yiyue_no_such_database").render_as_string(hide_password=False)
    dump = tmp_path / "yiyue.dump"
    dump.with_name("yiyue.dump.partial").write_bytes(b"a stale partial of an earlier run")

    made = await yiyue("create", str(dump), database_url=missing)

    assert made.exit_code != 0
    assert "pg_dump" in made.output
    assert await asyncio.to_thread(os.listdir, tmp_path) == []
