"""Logical backups of the PostgreSQL database with ``pg_dump`` and restores with ``pg_restore``.

The database URL is the application's (``postgresql+asyncpg://user:password@host:port/name``); the
password goes to the tools through ``PGPASSWORD``, never on a command line other processes can read.
A dump is written to ``<file>.partial`` and renamed when ``pg_dump`` succeeds, so a file with the final
name is always a whole dump. A restore goes into an empty database only (created when missing) and runs
in one transaction: it either restores everything or leaves the target as empty as it found it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from yiyue.core.migrate import alembic_config

MAINTENANCE_DATABASE = "postgres"
"""Where ``CREATE DATABASE`` is issued from: it cannot run inside the database it creates."""


class BackupError(Exception):
    """A backup or restore that did not happen; the message says why, for the operator."""


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database as the client tools and asyncpg address it."""

    url: URL

    @classmethod
    def parse(cls, database_url: str) -> Target:
        url = make_url(database_url)
        if url.get_backend_name() != "postgresql":
            raise BackupError(
                f"只支持 PostgreSQL 数据库的备份与恢复（得到 {url.get_backend_name()}）；"
                "SQLite 演示库请在停止服务后直接复制文件"
            )
        if not url.database:
            raise BackupError("数据库地址缺少数据库名")
        return cls(url)

    @property
    def name(self) -> str:
        return str(self.url.database)

    def tool_args(self) -> list[str]:
        """Connection options for pg_dump / pg_restore (the password is in ``tool_env``)."""
        args = ["--dbname", self.name]
        if self.url.host:
            args += ["--host", self.url.host]
        if self.url.port:
            args += ["--port", str(self.url.port)]
        if self.url.username:
            args += ["--username", self.url.username]
        return args

    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.url.password:
            env["PGPASSWORD"] = str(self.url.password)
        return env

    def engine(self, database: str | None = None) -> AsyncEngine:
        """A one-connection engine on this database or on another of the same server, out of any
        transaction (``CREATE DATABASE`` refuses to run in one)."""
        url = self.url.set(drivername="postgresql+asyncpg", database=database or self.name)
        return create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")

    def safe(self) -> str:
        return self.url.render_as_string(hide_password=True)


@dataclass(frozen=True)
class DumpSummary:
    path: Path
    bytes: int
    revision: str | None


@dataclass(frozen=True)
class RestoreSummary:
    database: str
    created: bool
    revision: str | None
    sequences_advanced: int


def dump(database_url: str, path: Path) -> DumpSummary:
    """``pg_dump --format=custom`` of the whole database (schema, data, sequences, ``alembic_version``) to
    ``path``. The custom format is compressed and lets ``pg_restore`` pick or reorder objects."""
    target = Target.parse(database_url)
    partial = path.with_name(path.name + ".partial")
    # The dump holds encrypted ID numbers and phones with their blind indexes, staff password hashes and
    # payments: readable by its owner only. pg_dump truncates the file it is given and keeps its mode, so
    # it is made here first, 0600 whatever the umask; a failed dump leaves no partial file behind.
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        options = ["--format=custom", "--no-password", "--lock-wait-timeout=60s", "--file", str(partial)]
        _run("pg_dump", [*options, *target.tool_args()], target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return DumpSummary(path=path, bytes=path.stat().st_size, revision=asyncio.run(schema_revision(database_url)))


ID_GAP = 1_000_000
"""How far a restore moves every id sequence past the dump's. The ids of the rows written after the dump
(lost with the database) are not given out again: they are in WeChat Pay's order numbers (``YY`` + the
appointment id, ``YR`` + the payment id), in messages patients received and in queue messages still
around; a reused id would match a lost order's payment notice to another patient's appointment."""


def restore(database_url: str, path: Path, *, id_gap: int = ID_GAP) -> RestoreSummary:
    """Restores the dump at ``path`` into the database of ``database_url``: created when missing, refused
    when it already has tables (a restore never merges into, or overwrites, a live database). Then every
    sequence moves ``id_gap`` past where the dump left it (0: an exact copy, e.g. for a drill)."""
    if not path.is_file():
        raise BackupError(f"备份文件不存在：{path}")
    target = Target.parse(database_url)
    created = asyncio.run(_ensure_empty_database(target))
    _run(
        "pg_restore",
        # Owners and grants are the source server's; the restoring role owns what it restores, so a dump
        # restores on another server (a staging copy, a drill) without its roles.
        [
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            "--no-privileges",
            "--no-password",
            *target.tool_args(),
            str(path),
        ],
        target,
    )
    advanced = advance_sequences(database_url, id_gap) if id_gap else 0
    return RestoreSummary(
        database=target.name,
        created=created,
        revision=asyncio.run(schema_revision(database_url)),
        sequences_advanced=advanced,
    )


def advance_sequences(database_url: str, gap: int = ID_GAP) -> int:
    """Moves every id sequence of the database ``gap`` past where it is (see ``ID_GAP``): after a restore
    of a dump, or a point-in-time recovery, to a moment before the database was lost. Returns how many."""
    return asyncio.run(_advance_sequences(Target.parse(database_url), gap))


def head_revision() -> str:
    """The newest migration this code knows (the one ``yiyue migrate`` would bring a database to)."""
    heads = ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads()
    if len(heads) != 1:
        raise BackupError(f"迁移脚本有 {len(heads)} 个 head：{heads}")
    return heads[0]


async def schema_revision(database_url: str) -> str | None:
    """The migration the database is at (``alembic_version``), None when it has none."""
    engine = Target.parse(database_url).engine()
    try:
        async with engine.connect() as conn:
            if not await conn.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")):
                return None
            revision = await conn.scalar(text("SELECT version_num FROM alembic_version"))
            return None if revision is None else str(revision)
    finally:
        await engine.dispose()


async def _ensure_empty_database(target: Target) -> bool:
    """Creates the target database when it does not exist (True); refuses one that has tables."""
    server = target.engine(MAINTENANCE_DATABASE)
    try:
        async with server.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.name})
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{_identifier(target.name)}"'))
                return True
    finally:
        await server.dispose()
    engine = target.engine()
    try:
        async with engine.connect() as conn:
            tables = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
            )
    finally:
        await engine.dispose()
    if tables:
        raise BackupError(f"目标数据库 {target.name} 已有 {tables} 张表：只恢复到空数据库（请另建一个或先删除）")
    return False


async def _advance_sequences(target: Target, gap: int) -> int:
    engine = target.engine()
    try:
        async with engine.begin() as conn:
            sequences = (
                await conn.execute(
                    text(
                        "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, 0) FROM pg_sequences"
                        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                    )
                )
            ).all()
            for name, last in sequences:
                await conn.execute(
                    text("SELECT setval(CAST(:name AS regclass), :value)"), {"name": name, "value": last + gap}
                )
        return len(sequences)
    finally:
        await engine.dispose()


def _identifier(name: str) -> str:
    if '"' in name or "\x00" in name:
        raise BackupError(f"数据库名不合法：{name!r}")
    return name


def _run(tool: str, args: list[str], target: Target) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"找不到 {tool}：请安装与服务器同一主版本的 PostgreSQL 客户端（postgresql-client）")
    done = subprocess.run([executable, *args], env=target.tool_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} 失败（退出码 {done.returncode}）：{done.stderr.strip()}")
