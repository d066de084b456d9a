"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL when asked), the app
with a frozen clock, HTTP clients, and logged-in patients.

Set ``YIYUE_TEST_DATABASE_URL=postgresql+asyncpg://...`` to run the same tests on PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.core.clock import HOSPITAL_TZ, FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Base, Database
from yiyue.core.migrate import upgrade
from yiyue.models import load_all

load_all()

# Generated development secrets (e.g. WeChat Pay keys for the fake) go to a scratch folder, not ./var.
os.environ.setdefault("YIYUE_VAR_DIR", tempfile.mkdtemp(prefix="yiyue-test-var-"))


def _load_each_private_key_once() -> None:
    """Every test's app loads the same development RSA keys three times (the fake WeChat Pay's two and
    the merchant client's, in wechatpayv3), and OpenSSL checks an RSA key as it loads it: 30-90 ms each,
    several minutes over the suite. The tests share one load of each PEM: the same bytes give the same
    (immutable) key; a PEM that does not load is not kept, so it fails every time as before."""
    import wechatpayv3.async_.utils  # type: ignore[import-untyped]
    import wechatpayv3.utils  # type: ignore[import-untyped]
    from cryptography.hazmat.primitives import serialization

    load = serialization.load_pem_private_key
    loaded: dict[tuple[bytes, bytes | None, bool], Any] = {}

    def load_once(
        data: bytes, password: bytes | None, backend: Any = None, *, unsafe_skip_rsa_key_validation: bool = False
    ) -> Any:
        key = (bytes(data), password, unsafe_skip_rsa_key_validation)
        if key not in loaded:
            loaded[key] = load(data, password, unsafe_skip_rsa_key_validation=unsafe_skip_rsa_key_validation)
        return loaded[key]

    for module in (serialization, wechatpayv3.utils, wechatpayv3.async_.utils):
        module.load_pem_private_key = load_once


_load_each_private_key_once()

# A Monday morning in Beijing time; factories make schedules relative to it.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=HOSPITAL_TZ)
PG_URL = os.environ.get("YIYUE_TEST_DATABASE_URL", "")


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once per run; each test gets a copy of the file, which is much faster than migrating."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> dict[str, list[dict[str, Any]]]:
    """Migrates once per run; returns the rows the migrations seed (the default member levels), which each
    test gets back after the tables are emptied, as a copy of the SQLite template would have them."""
    _reset_postgres_schema(PG_URL)
    upgrade(PG_URL)
    return _seeded_rows(PG_URL)


def _seeded_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> dict[str, list[dict[str, Any]]]:
        engine = create_async_engine(url)
        seeded: dict[str, list[dict[str, Any]]] = {}
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = [dict(row) for row in (await conn.execute(table.select())).mappings()]
                if rows:
                    seeded[table.name] = rows
        await engine.dispose()
        return seeded

    return asyncio.run(read())


def _reset_postgres_schema(url: str) -> None:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def reset() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(reset())


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_database_url(request, tmp_path)


def fresh_database_url(request: pytest.FixtureRequest, directory: Path) -> str:
    """A migrated database with only the rows the migrations seed: on PostgreSQL the one test database,
    emptied; on SQLite a copy of the template in ``directory``. For fixtures of a wider scope too."""
    if PG_URL:
        seeded: dict[str, list[dict[str, Any]]] = request.getfixturevalue("_postgres_migrated")
        _empty_postgres(PG_URL, seeded)
        return PG_URL
    template: Path = request.getfixturevalue("_sqlite_template")
    target = directory / "yiyue.db"
    shutil.copy(template, target)
    return f"sqlite+aiosqlite:///{target}"


def _empty_postgres(url: str, seeded: dict[str, list[dict[str, Any]]]) -> None:
    """Empties every table, restarts every sequence, and puts the seeded rows back.

    DELETE rather than TRUNCATE: the tables are nearly empty after a test, and TRUNCATE gives each of the
    ~30 tables (and every table referencing it) new files, which cost 80-250 ms per test on CI against
    a few ms for DELETE, minutes over the suite. The sequences restart as TRUNCATE ... RESTART IDENTITY
    would have them, including those a rolled-back insert moved on an empty table."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    async def empty() -> None:
        engine = create_async_engine(url, poolclass=NullPool)
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):  # rows that refer to others go first
                await conn.execute(table.delete())
            await conn.execute(
                text(
                    "SELECT setval(s.seqrelid, s.seqstart, false) FROM pg_sequence s"
                    " JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = current_schema()::regnamespace"
                )
            )
            for table in Base.metadata.sorted_tables:
                if table.name in seeded:
                    await conn.execute(table.insert(), seeded[table.name])
                    if "id" not in table.c:
                        continue
                    # The ids were given: move the sequence past them, as the migration left it.
                    sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
                    await conn.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {table.name}))"))
        await engine.dispose()

    asyncio.run(empty())


GENEROUS_LIMITS: dict[str, object] = {
    **{
        name: "1000000/minute"
        for name in Settings.model_fields
        if name.startswith("rate_limit_") and name != "rate_limit_strategy"
    },
    "staff_login_lock_after": 1_000_000,
    "staff_login_ip_lock_after": 1_000_000,
    "rate_limit_strategy": "fixed-window",
}
"""Rate limits and login lockouts no ordinary test reaches (issue 9); tests of the limits set tight ones."""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


def make_settings(database_url: str, directory: Path) -> Settings:
    """The tests' settings on ``database_url``, the job queue's file in ``directory``."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-not-for-production-0123456789",
        data_key=base64.b64encode(b"k" * 32).decode(),
        blind_index_key=base64.b64encode(b"i" * 32).decode(),
        wechat_secret="test-wechat-secret",
        queue_url=f"sqlite:///{directory / 'queue.db'}",
        embedded_workers=0,
        **GENEROUS_LIMITS,
    )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[object]:
    async with running_app(settings, clock) as application:
        yield application


@asynccontextmanager
async def running_app(settings: Settings, clock: FrozenClock) -> AsyncIterator[object]:
    application = create_app(settings, clock=clock)
    try:
        yield application
    finally:
        await application.state.wechat.aclose()
        await application.state.db.dispose()


@pytest.fixture
def db(app: object) -> Database:
    database: Database = app.state.db  # type: ignore[attr-defined]
    return database


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


def asgi_client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://yiyue.test")


Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """Logs a WeChat user in through the fake WeChat and returns the Authorization header."""

    async def _login(openid: str | None = None) -> dict[str, str]:
        return await login_via(client, openid or f"o-{uuid.uuid4().hex[:12]}")

    return _login


async def login_via(client: httpx.AsyncClient, openid: str) -> dict[str, str]:
    minted = await client.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": openid})
    assert minted.status_code == 200, minted.text
    answer = await client.post("/api/v1/auth/wechat-login", json={"code": minted.json()["code"]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def booking_headers(auth: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**auth, "Idempotency-Key": key or uuid.uuid4().hex}
