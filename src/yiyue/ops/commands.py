"""``yiyue backup create | restore | advance-ids | verify``: backups, restores and their checks
(docs/operations.md).

They take the database from ``--database-url`` or ``YIYUE_DATABASE_URL`` alone, not from the full
settings: a backup job needs the database's address and nothing else (no signing keys, no WeChat keys).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from yiyue.core.db import Database
from yiyue.ops import backup
from yiyue.ops.invariants import Problem, check

backup_app = typer.Typer(
    help="PostgreSQL backups (pg_dump), restores (pg_restore) and their checks.", no_args_is_help=True
)

DatabaseUrl = Annotated[
    str,
    typer.Option(
        "--database-url",
        envvar="YIYUE_DATABASE_URL",
        show_envvar=True,
        help="postgresql+asyncpg://user@host:port/name (the password from PGPASSWORD or ~/.pgpass, not argv)",
    ),
]


@backup_app.command("create")
def create(
    file: Annotated[
        Path, typer.Argument(help="Where to write the dump (pg_dump custom format, e.g. yiyue-2026-12-04.dump).")
    ],
    database_url: DatabaseUrl,
) -> None:
    """Dump the whole database (schema, rows, sequences, migration revision) with pg_dump -Fc."""
    try:
        summary = backup.dump(database_url, file)
    except backup.BackupError as exc:
        _fail(exc)
    typer.echo(f"backed up {backup.Target.parse(database_url).safe()} at revision {summary.revision}")
    typer.echo(f"  {summary.path} ({summary.bytes} bytes)")


@backup_app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(help="A dump written by `yiyue backup create` (or pg_dump -Fc).")],
    database_url: Annotated[
        str,
        typer.Option(
            "--to",
            envvar="YIYUE_RESTORE_TARGET_URL",
            show_envvar=True,
            help="The database to restore into: created when missing, refused when it has tables. Given "
            "explicitly (never read from YIYUE_DATABASE_URL), so a restore never lands on a live database by "
            "accident. Leave the password out of it (it would show in ps and the shell history): PGPASSWORD or "
            "~/.pgpass (PGPASSFILE) supply it, or pass the whole URL in YIYUE_RESTORE_TARGET_URL.",
        ),
    ],
    id_gap: Annotated[
        int,
        typer.Option(
            min=0,
            help="Move every id sequence this far past the dump's, so ids (and WeChat Pay order numbers) used "
            "after the dump are never given out again; 0 for an exact copy (a drill, a staging copy).",
        ),
    ] = backup.ID_GAP,
) -> None:
    """Restore a dump into an empty database in one transaction, then say whether its schema is at this
    code's migration head (run `yiyue migrate` against it when it is behind)."""
    try:
        summary = backup.restore(database_url, file, id_gap=id_gap)
        head = backup.head_revision()
    except backup.BackupError as exc:
        _fail(exc)
    made = "created and restored" if summary.created else "restored into empty"
    typer.echo(f"{made} {summary.database} from {file}: revision {summary.revision} (code head {head})")
    if summary.sequences_advanced:
        typer.echo(f"  {summary.sequences_advanced} id sequences moved {id_gap} past the dump's")
    if summary.revision != head:
        typer.echo("  the schema is not at this code's head: run `yiyue migrate` against it before serving", err=True)


@backup_app.command("advance-ids")
def advance_ids(
    database_url: DatabaseUrl,
    by: Annotated[int, typer.Option(min=1, help="How far to move every id sequence.")] = backup.ID_GAP,
) -> None:
    """Move every id sequence past the ids the lost hours used (after a point-in-time recovery; `restore`
    does it itself): those ids are in WeChat Pay's order numbers and must never be given out again."""
    try:
        moved = backup.advance_sequences(database_url, by)
    except backup.BackupError as exc:
        _fail(exc)
    typer.echo(f"{moved} id sequences of {backup.Target.parse(database_url).safe()} moved {by} ahead")


@backup_app.command("verify")
def verify(database_url: DatabaseUrl) -> None:
    """Check the database (a restored one, or any): its schema is at the migration head and it keeps every
    invariant (no slot sold twice, no person twice with a doctor a day, every appointment's slot claimed,
    every claimed slot occupied by an appointment, no refund above its payment, points balance = ledger,
    sequences past their ids). Exits 1 on any problem."""
    try:
        head = backup.head_revision()
        revision = asyncio.run(backup.schema_revision(database_url))
        problems = asyncio.run(_check(database_url))
    except backup.BackupError as exc:
        _fail(exc)
    if revision != head:
        problems.insert(0, Problem("schema_not_at_head", f"数据库迁移版本 {revision}，代码为 {head}"))
    for problem in problems:
        typer.echo(f"{problem.invariant}: {problem.detail}")
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {backup.Target.parse(database_url).safe()}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {backup.Target.parse(database_url).safe()} at head {head}, every invariant holds")


async def _check(database_url: str) -> list[Problem]:
    backup.Target.parse(database_url)  # PostgreSQL only, like the rest of the drill
    db = Database(database_url)
    try:
        async with db.session() as session:
            return await check(session)
    finally:
        await db.dispose()


def _fail(exc: backup.BackupError) -> NoReturn:
    typer.echo(f"错误 [BACKUP_FAILED]：{exc}", err=True)
    raise typer.Exit(1)
