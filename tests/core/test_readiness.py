"""/readyz: ready when the database answers at this code's migration head, Redis (when configured) and the
job queue answer; not ready (503 NOT_READY, naming the failing check) otherwise. /healthz stays alive."""

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
from yiyue.core.readiness import Readiness, script_revisions
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


async def test_a_queue_that_cannot_be_reached_is_not_ready(settings: Settings) -> None:
    answer = await probe(settings.model_copy(update={"queue_url": NOBODY}))

    assert answer.status_code == 503
    assert checks_of(answer) == {"database": "ok", "migrations": "ok", "queue": "failing: ConnectionError"}


async def test_a_configured_redis_that_cannot_be_reached_is_not_ready(settings: Settings) -> None:
    answer = await probe(settings.model_copy(update={"redis_url": NOBODY}))

    assert answer.status_code == 503
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
    readiness.add("slow", hangs)
    readiness.add("fine", answers)

    ready, checks = await asyncio.wait_for(readiness.run(), 2)

    assert not ready
    assert checks == {"slow": "timeout", "fine": "ok"}


async def test_healthz_stays_alive_while_not_ready(client: httpx.AsyncClient, set_versions: Versions) -> None:
    await set_versions()

    assert (await client.get("/readyz")).status_code == 503
    assert (await client.get("/healthz")).json() == {"status": "ok"}
