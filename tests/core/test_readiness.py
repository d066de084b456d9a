"""/readyz: ready when the database answers at this code's migration head; not ready (503 NOT_READY, naming
the failing check) otherwise. Redis, the job queue and the replica are reported but not required (the app
degrades without them, decision 0022). /healthz stays alive."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import PG_URL
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.migrate import alembic_config, upgrade
from yiyue.core.readiness import Readiness, queue_check, script_revisions, wait_for_migrations
from yiyue.server import create_server

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")
NOBODY = "redis://127.0.0.1:1/0"
"""A Redis URL where nothing listens: connections are refused at once."""


async def probe(settings: Settings) -> httpx.Response:
    """GET /readyz of a fresh server process (the API with its job system) built from ``settings``."""
    app = create_server(settings)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as client:
            return await client.get("/readyz")
    finally:
        await close(app)


async def close(app: FastAPI) -> None:
    await app.state.readiness.aclose()
    await app.state.replica.aclose()
    await app.state.wechat.aclose()
    await app.state.db.dispose()


def checks_of(answer: httpx.Response) -> dict[str, str]:
    body: dict[str, Any] = answer.json()
    found: dict[str, str] = body["checks"] if answer.status_code == 200 else body["detail"]["checks"]
    return found


Versions = Callable[..., Awaitable[None]]


@pytest.fixture
async def set_versions(db: Database) -> AsyncIterator[Versions]:
    """Makes the database say it is at ``versions``; puts the head back afterwards (on PostgreSQL the next
    test's tables are emptied, but ``alembic_version`` is not one of them)."""

    async def set_to(*versions: str) -> None:
        async with db.engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))
            for version in versions:
                await conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})

    yield set_to
    await set_to(*script_revisions()[0])


async def test_a_migrated_server_is_ready_with_every_check_named(settings: Settings) -> None:
    answer = await probe(settings)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "queue": "ok"}}


async def test_a_database_behind_the_migration_head_is_not_ready(settings: Settings, set_versions: Versions) -> None:
    (head,) = script_revisions()[0]
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head).down_revision
    assert isinstance(previous, str)
    await set_versions(previous)

    answer = await probe(settings)

    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["code"] == "NOT_READY" and body["message"] == "服务尚未就绪，请稍后再试"
    assert answer.headers["Retry-After"] == "5"
    assert body["detail"]["checks"] == {
        "database": "ok",
        "migrations": f"behind: at {previous}, head {head}",
        "queue": "ok",
    }


async def test_a_database_ahead_of_this_code_is_ready_during_a_rolling_deploy(
    settings: Settings, set_versions: Versions
) -> None:
    await set_versions("f00dfacef00d")  # a newer release's migration, unknown to this code

    answer = await probe(settings)

    assert answer.status_code == 200, answer.text
    assert checks_of(answer)["migrations"] == "ahead"


@pytest.mark.skipif(bool(PG_URL), reason="migrates an empty SQLite file of its own")
async def test_a_database_never_migrated_is_not_ready_until_migrate_has_run(settings: Settings, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    fresh = settings.model_copy(update={"database_url": url})

    before = await probe(fresh)
    assert before.status_code == 503
    assert checks_of(before)["migrations"].startswith("behind: at none, head ")

    await asyncio.to_thread(upgrade, url)  # what `yiyue migrate` does
    after = await probe(fresh)
    assert after.status_code == 200, after.text


async def test_a_database_that_cannot_be_reached_is_not_ready(settings: Settings, tmp_path: Path) -> None:
    nowhere = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'x.db'}"})

    answer = await probe(nowhere)

    assert answer.status_code == 503
    checks = checks_of(answer)
    assert checks["database"] == checks["migrations"] == "failing: OperationalError"
    assert checks["queue"] == "ok"


async def test_a_pool_with_every_connection_in_use_is_busy_not_unready(settings: Settings) -> None:
    app = create_server(settings.model_copy(update={"database_pool_size": 1, "database_max_overflow": 0}))
    try:
        async with (
            app.state.db.engine.connect(),  # the one connection, held by "a request"
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://yiyue.test") as client,
        ):
            answer = await client.get("/readyz")
    finally:
        await close(app)

    assert answer.status_code == 200, answer.text
    assert checks_of(answer) == {"database": "busy", "migrations": "busy", "queue": "ok"}


async def test_a_queue_that_cannot_be_reached_is_reported_but_stays_ready(settings: Settings) -> None:
    answer = await probe(settings.model_copy(update={"queue_url": NOBODY}))

    assert answer.status_code == 200, answer.text
    assert checks_of(answer) == {"database": "ok", "migrations": "ok", "queue": "failing: ConnectionError"}


async def test_a_configured_redis_that_cannot_be_reached_is_reported_but_stays_ready(settings: Settings) -> None:
    answer = await probe(settings.model_copy(update={"redis_url": NOBODY}))

    assert answer.status_code == 200, answer.text
    assert checks_of(answer)["redis"] == "failing: ConnectionError"


@pytest.mark.skipif(not REDIS_URL, reason="set YIYUE_TEST_REDIS_URL to check a real Redis and Redis queue")
async def test_redis_and_a_redis_queue_that_answer_are_ready(settings: Settings) -> None:
    answer = await probe(settings.model_copy(update={"redis_url": REDIS_URL, "queue_url": REDIS_URL}))

    assert answer.status_code == 200, answer.text
    assert checks_of(answer) == {"database": "ok", "migrations": "ok", "redis": "ok", "queue": "ok"}


async def test_a_replica_down_is_reported_but_does_not_take_the_process_out(settings: Settings, tmp_path: Path) -> None:
    replica = f"sqlite+aiosqlite:///{tmp_path / 'no' / 'replica.db'}"

    answer = await probe(settings.model_copy(update={"database_replica_url": replica}))

    assert answer.status_code == 200, answer.text
    assert checks_of(answer)["replica"] == "failing: OperationalError"


async def test_a_check_that_hangs_answers_timeout_within_its_limit() -> None:
    async def hangs() -> str:
        await asyncio.sleep(60)
        return "ok"

    async def answers() -> str:
        return "ok"

    readiness = Readiness(timeout=0.05)
    readiness.add("slow", hangs, required=True)
    readiness.add("fine", answers, required=True)

    ready, checks = await asyncio.wait_for(readiness.run(), 2)

    assert not ready
    assert checks == {"slow": "timeout", "fine": "ok"}


async def test_healthz_stays_alive_while_not_ready(client: httpx.AsyncClient, set_versions: Versions) -> None:
    await set_versions()

    assert (await client.get("/readyz")).status_code == 503
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_a_queue_probe_still_blocked_answers_timeout_at_once_without_another_thread() -> None:
    import threading
    import time

    release = threading.Event()
    calls = []

    class Stuck:
        def queue_size(self) -> int:
            calls.append(1)
            release.wait(5)
            return 0

    readiness = Readiness(timeout=0.05)
    readiness.add("queue", queue_check(Stuck()))
    try:
        assert (await readiness.run())[1] == {"queue": "timeout"}
        started = time.monotonic()
        assert (await readiness.run()) == (True, {"queue": "timeout"})  # not required: still ready
        assert time.monotonic() - started < 0.04  # answered at once, not after another full limit
        assert len(calls) == 1  # the second probe did not block a second thread
    finally:
        release.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if (await readiness.run())[1] == {"queue": "ok"}:
            break
    assert (await readiness.run())[1] == {"queue": "ok"}
    assert len(calls) >= 2


def previous_revision() -> str:
    (head,) = script_revisions()[0]
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head).down_revision
    assert isinstance(previous, str)
    return previous


async def test_the_worker_waits_for_the_migrations_and_goes_on_once_they_ran(
    db: Database, set_versions: Versions
) -> None:
    await set_versions(previous_revision())
    waited: list[float] = []

    async def migrate_meanwhile(seconds: float) -> None:  # `yiyue migrate` finishes while the worker waits
        waited.append(seconds)
        await set_versions(*script_revisions()[0])

    state = await wait_for_migrations(db, give_up_after=30, interval=1, sleep=migrate_meanwhile)

    assert state == "ok"
    assert waited == [1]


async def test_the_worker_command_gives_up_on_a_database_behind_and_exits_non_zero(
    settings: Settings, set_versions: Versions
) -> None:
    from typer.testing import CliRunner

    from yiyue import cli

    await set_versions(previous_revision())
    env = {
        "YIYUE_DATABASE_URL": settings.database_url,
        "YIYUE_WECHAT_API_BASE": "http://127.0.0.1:1",
        "YIYUE_WECHAT_PAY_API_BASE": "http://127.0.0.1:1",
    }

    result = await asyncio.to_thread(CliRunner().invoke, cli.app, ["worker", "--migrations-timeout", "0.2"], env=env)

    assert result.exit_code == 1, result.output
    assert "not at the migration head" in result.output
    assert f"behind: at {previous_revision()}" in result.output
    assert "handed" not in result.output  # no job, not even the recovery, ran


@pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="PostgreSQL's undefined_table (42P01)")
async def test_postgres_without_the_version_table_is_behind_and_another_error_is_a_failure(
    settings: Settings, db: Database
) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("ALTER TABLE alembic_version RENAME TO alembic_version_away"))
    try:
        missing = checks_of(await probe(settings))["migrations"]
        async with db.engine.begin() as conn:  # a table there but unreadable: not "behind"
            await conn.execute(text("CREATE VIEW alembic_version AS SELECT 1 / 0 AS version_num"))
        try:
            broken = checks_of(await probe(settings))["migrations"]
        finally:
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP VIEW alembic_version"))
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE alembic_version_away RENAME TO alembic_version"))

    assert missing.startswith("behind: at none")
    assert broken.startswith("failing: ")
