"""The connection pool's limits come from the settings, and running out of connections is a 503
SERVICE_BUSY with Retry-After, never a 500: a real server whose one pooled connection a slow request holds,
and (PostgreSQL) a real PostgreSQL refusing connections past a role's CONNECTION LIMIT."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tests.conftest import NOW, PG_URL
from tests.factories import make_catalog, make_schedule, patient_body
from tests.live import serving
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database, PoolConfig, ServiceBusy, is_busy

BUSY_MESSAGE = "服务繁忙，请稍后再试"


class Holder:
    """A test-only route that takes one pooled connection and keeps it until released."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()

    def install(self, app: FastAPI) -> None:
        @app.get("/__test__/hold")
        async def hold() -> dict[str, str]:
            async with app.state.db.session() as session:
                await session.execute(text("SELECT 1"))
                self.holding.set()
                await asyncio.to_thread(self.release.wait, 30)
            return {"held": "done"}


@pytest.fixture
def holder() -> Holder:
    return Holder()


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"database_pool_size": 1, "database_max_overflow": 0, "database_pool_timeout_seconds": 0.3}
    )


@pytest.fixture
def live(tight: Settings, holder: Holder) -> Iterator[str]:
    app = create_app(tight, clock=FrozenClock(NOW))
    holder.install(app)
    with serving(app) as url:
        yield url


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def new_patient(http: httpx.AsyncClient) -> tuple[dict[str, str], int]:
    minted = await http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": f"o-{uuid.uuid4().hex}"})
    login = await http.post("/api/v1/auth/wechat-login", json={"code": minted.json()["code"]})
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    person = await http.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert person.status_code == 201, person.text
    return auth, int(person.json()["id"])


async def hold_the_connection(http: httpx.AsyncClient, holder: Holder) -> asyncio.Task[httpx.Response]:
    """Starts the holding request, again if it was itself refused because something else (the login's
    after-commit work, on a busy machine) had the one connection at that moment."""
    for _ in range(20):
        held = asyncio.create_task(http.get("/__test__/hold"))
        while not held.done():
            if await asyncio.to_thread(holder.holding.wait, 0.2):
                return held
        assert_busy(await held)
    raise AssertionError("the holding request never got the pool's one connection")


def assert_busy(answer: httpx.Response, retry_after: str = "2") -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "SERVICE_BUSY"
    assert answer.json()["message"] == BUSY_MESSAGE
    assert answer.headers["Retry-After"] == retry_after


async def test_an_exhausted_pool_answers_503_service_busy_then_recovers(
    live: str, holder: Holder, store: Database
) -> None:
    schedule = await make_schedule(store, await make_catalog(store), capacity=5)
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        auth, patient_id = await new_patient(http)
        booking = {"schedule_id": schedule.id, "patient_id": patient_id}
        held = await hold_the_connection(http, holder)

        refused = await http.post("/api/v1/appointments", json=booking, headers={**auth, "Idempotency-Key": "k1"})
        browsing = await asyncio.gather(*(http.get("/api/v1/hospitals") for _ in range(5)))

        assert_busy(refused)
        for answer in browsing:
            assert_busy(answer)
        holder.release.set()
        assert (await held).status_code == 200
        # The connection is back: the same booking goes through (the refusal stored nothing).
        again = await http.post("/api/v1/appointments", json=booking, headers={**auth, "Idempotency-Key": "k1"})
        assert again.status_code == 201, again.text
        assert (await http.get("/api/v1/hospitals")).status_code == 200


async def test_requests_queue_for_the_pool_within_its_timeout(tight: Settings, store: Database) -> None:
    """One connection and many parallel readers: each waits its turn (well under the timeout), none is refused."""
    app = create_app(tight.model_copy(update={"database_pool_timeout_seconds": 20}), clock=FrozenClock(NOW))
    await make_catalog(store)
    with serving(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            answers = await asyncio.gather(*(http.get("/api/v1/hospitals") for _ in range(40)))
    assert {a.status_code for a in answers} == {200}


async def test_the_pool_has_the_configured_size(settings: Settings) -> None:
    db = Database.from_settings(
        settings.model_copy(
            update={"database_pool_size": 3, "database_max_overflow": 2, "database_pool_timeout_seconds": 0.2}
        )
    )
    try:
        assert db.pool == PoolConfig(size=3, overflow=2, timeout=0.2)
        sessions = [db.sessionmaker() for _ in range(5)]
        for session in sessions:
            await session.execute(text("SELECT 1"))  # five connections: 3 pooled + 2 overflow
        with pytest.raises(ServiceBusy) as refused:
            async with db.session() as session:
                await session.execute(text("SELECT 1"))
        assert refused.value.headers == {"Retry-After": "2"}
        assert isinstance(refused.value.__cause__, PoolTimeout)
        for session in sessions:
            await session.close()
        async with db.session() as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()


def test_the_default_budget_fits_postgres_default_max_connections() -> None:
    """Decision 0017: 2 servers × 2 processes × (pool + overflow) + a worker's 2 threads × its pool, with
    superuser_reserved_connections (3) and 10 for migrations, psql and monitoring kept free."""
    defaults = Settings.model_fields
    server = int(defaults["database_pool_size"].default) + int(defaults["database_max_overflow"].default)
    worker = int(defaults["worker_database_pool_size"].default) + int(defaults["worker_database_max_overflow"].default)
    assert 2 * 2 * server + 1 * 2 * worker <= 100 - 3 - 10


def test_busy_is_read_through_the_causes() -> None:
    refused = asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
    assert is_busy(refused)
    try:
        try:
            raise refused
        except asyncpg.exceptions.TooManyConnectionsError as exc:
            raise OperationalError("connect", {}, exc) from exc
    except OperationalError as wrapped:
        assert is_busy(wrapped)
    assert is_busy(PoolTimeout("QueuePool limit of size 1 overflow 0 reached"))
    assert not is_busy(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_busy(ValueError("nothing to do with connections"))


# --- PostgreSQL refusing connections ------------------------------------------------------------------


@pytest.fixture
async def limited_role(database_url: str) -> AsyncIterator[str]:
    """A login role of this test allowed one connection, with read access to the tables; its URL."""
    role = f"yiyue_busy_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(database_url))
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
        await admin.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        await admin.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        yield make_url(database_url).set(username=role).render_as_string(hide_password=False)
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
            role,
        )
        await admin.execute(f"DROP OWNED BY {role}")
        await admin.execute(f"DROP ROLE {role}")
        await admin.close()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (YIYUE_TEST_DATABASE_URL)")
async def test_postgres_refusing_connections_answers_503_service_busy(
    settings: Settings, limited_role: str, store: Database
) -> None:
    await make_catalog(store)
    app = create_app(settings.model_copy(update={"database_url": limited_role}), clock=FrozenClock(NOW))
    with serving(app) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            squatter = await asyncpg.connect(_dsn(limited_role))  # the role's one connection
            try:
                refused = await asyncio.gather(*(http.get("/api/v1/hospitals") for _ in range(3)))
            finally:
                await squatter.close()
            for answer in refused:
                assert_busy(answer)
            served = await http.get("/api/v1/hospitals")
            assert served.status_code == 200, served.text
            assert len(served.json()["items"]) == 1


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (YIYUE_TEST_DATABASE_URL)")
async def test_without_a_statement_cache_queries_run_as_behind_pgbouncer(database_url: str) -> None:
    """``YIYUE_DATABASE_STATEMENT_CACHE_SIZE=0`` (PgBouncer in transaction mode): statements are prepared
    under names of their own each time, and the same query runs again and again."""
    db = Database(database_url, pool=PoolConfig(size=1, overflow=0, statement_cache_size=0))
    try:
        for n in range(5):
            async with db.session() as session:
                assert await session.scalar(text("SELECT CAST(:n AS integer) + 1"), {"n": n}) == n + 1
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            assert driver._config.statement_cache_size == 0
    finally:
        await db.dispose()
