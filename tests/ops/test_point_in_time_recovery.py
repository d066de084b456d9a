"""Point-in-time recovery (docs/operations.md), on a PostgreSQL cluster of the test's own: WAL archived
with ``archive_command``, a base backup with ``pg_basebackup``, bookings before a named restore point and
more after it; the cluster is then lost (stopped at once), and a new one recovered from the base backup and
the archive to the restore point has every row as it was at that point and none written after, keeps every
invariant (``yiyue backup verify``), and books again once ``yiyue backup advance-ids`` has moved its ids
past the lost ones. A dump of it is then restored into a database the restore creates.

Runs with ``YIYUE_TEST_DATABASE_URL`` on PostgreSQL (the suite's PostgreSQL run), and needs the server's
programs (``initdb``, ``pg_ctl``, ``pg_basebackup``) and, when run as root, the ``postgres`` account
(PostgreSQL refuses to run as root). The cluster listens on a free port of 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests.conftest import Login
from tests.jobs_support import Jobs
from tests.live import free_port
from tests.ops.test_backup_restore import books_on, fingerprints, make_a_busy_little_hospital, problems, yiyue
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.ops import backup

PG_URL = os.environ.get("YIYUE_TEST_DATABASE_URL", "")
RESTORE_POINT = "before-the-bad-hour"


def _server_programs() -> Path | None:
    """Debian keeps them out of PATH, one directory per major version: the newest."""
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if installed:
        return installed[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _can_run_postgres() -> bool:
    if os.geteuid() != 0:
        return True
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


BIN = _server_programs()

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL.startswith("postgresql"), reason="needs YIYUE_TEST_DATABASE_URL on PostgreSQL"),
    pytest.mark.skipif(BIN is None, reason="needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup)"),
    pytest.mark.skipif(not _can_run_postgres(), reason="as root, needs the postgres account and runuser"),
]


class Cluster:
    """A throwaway PostgreSQL cluster: a data directory, a WAL archive, a port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.archive = root / "wal-archive"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/yiyue"

    def run(self, program: str, *args: str, check: bool = True) -> str:
        assert BIN is not None
        command = [str(BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0 or not check, f"{program}: {done.stderr}"
        return done.stdout

    def configure(self, data: Path, *lines: str) -> None:
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self, data: Path) -> None:
        self.run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{data.name}.log"), "-w", "-t", "60", "start")

    def stop_at_once(self, data: Path, *, check: bool = True) -> None:
        """The primary is lost: no shutdown checkpoint, nothing more archived."""
        self.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop", check=check)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="yiyue-pitr-"))
    _give_to_postgres(root)
    made = Cluster(root)
    try:
        made.run("initdb", "-D", str(made.data), "--auth=trust", "--username=postgres", "--no-sync")
        made.configure(
            made.data,
            f"port = {made.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{root}'",
            "wal_level = replica",
            "archive_mode = on",
            f"archive_command = 'test ! -f {made.archive}/%f && cp %p {made.archive}/%f'",
            "fsync = off",  # a test's cluster: speed; recovery reads the archive, not the lost files
            "max_connections = 40",
        )
        made.archive.mkdir()
        _give_to_postgres(made.archive)
        made.start(made.data)
        yield made
    finally:
        for data in (made.data, root / "recovered"):
            if (data / "postmaster.pid").exists():
                made.stop_at_once(data, check=False)  # a failed test's failure is the one to see
        shutil.rmtree(root, ignore_errors=True)


def _give_to_postgres(path: Path) -> None:
    """As root, the server runs as postgres (it refuses root): its directories must be its own."""
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(path, account.pw_uid, account.pw_gid)


@pytest.fixture
def database_url(cluster: Cluster) -> str:
    """conftest's app, clients and logins use the cluster's database, migrated."""
    cluster.run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "yiyue")
    upgrade(cluster.url)
    return cluster.url


async def sql(url: str, statement: str) -> object:
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            return await conn.scalar(text(statement))
    finally:
        await engine.dispose()


async def test_recovery_to_a_restore_point_has_what_was_committed_before_it_and_nothing_after(
    client: httpx.AsyncClient,
    db: Database,
    app: object,
    login: Login,
    cluster: Cluster,
    database_url: str,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    cluster.run(
        "pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-U",
        "postgres",
        "-D",
        str(cluster.root / "recovered"),
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-sync",
    )
    jobs = Jobs(app)  # type: ignore[arg-type]
    schedule_id = await make_a_busy_little_hospital(client, db, login, jobs)  # after the base backup: from WAL
    at_the_point = await fingerprints(database_url)
    await sql(database_url, f"SELECT pg_create_restore_point('{RESTORE_POINT}')")

    # The bad hour: more bookings, a cancellation, jobs; all of it must be gone after the recovery.
    later = await make_a_busy_little_hospital(client, db, login, jobs, name="备份演练之后")
    assert later != schedule_id
    await db.dispose()
    segment = await sql(database_url, "SELECT pg_walfile_name(pg_current_wal_lsn())")
    await sql(database_url, "SELECT pg_switch_wal()")
    await archived(database_url, str(segment))
    cluster.stop_at_once(cluster.data)

    recovered = cluster.root / "recovered"
    cluster.configure(
        recovered,
        f"restore_command = 'cp {cluster.archive}/%f %p'",
        f"recovery_target_name = '{RESTORE_POINT}'",
        "recovery_target_action = 'promote'",
        "archive_mode = off",
    )
    (recovered / "recovery.signal").touch()
    cluster.start(recovered)
    await promoted(database_url)

    assert await fingerprints(database_url) == at_the_point
    assert await problems(database_url) == []
    verified = await yiyue("verify", database_url=database_url)
    assert verified.exit_code == 0, verified.output
    moved = await yiyue("advance-ids", database_url=database_url)
    assert moved.exit_code == 0, moved.output
    booked = await books_on(database_url, settings, clock, schedule_id)
    # Past the ids of the bad hour (a recovered sequence may also skip the up to 32 values it had logged).
    assert booked > at_the_point["appointments"][0] + 3 + backup.ID_GAP

    # The daily dump of this cluster, restored into a database the restore creates (a drill's scratch copy).
    dump = cluster.root / "yiyue.dump"
    copy = database_url.rsplit("/", 1)[0] + "/yiyue_drill"
    assert (await yiyue("create", str(dump), database_url=database_url)).exit_code == 0
    restored = await yiyue("restore", str(dump), "--to", copy, "--id-gap", "0")
    assert restored.exit_code == 0, restored.output
    assert "created and restored yiyue_drill" in restored.stdout
    assert await fingerprints(copy) == await fingerprints(database_url)


async def archived(url: str, segment: str, *, within: float = 30) -> None:
    """Waits until the archiver has copied the segment that holds the last commit."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        last = await sql(url, "SELECT last_archived_wal FROM pg_stat_archiver")
        if last is not None and str(last) >= segment:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"segment {segment} not archived within {within} s (last: {last})")


async def promoted(url: str, *, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await sql(url, "SELECT NOT pg_is_in_recovery()"):
                return
        except OSError:
            pass  # still starting
        await asyncio.sleep(0.1)
    raise AssertionError(f"not promoted within {within} s")
