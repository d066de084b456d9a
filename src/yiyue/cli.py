"""The ``yiyue`` command: demo, serve, migrate, seed, fake-wechat, create-staff, members check, draw verify."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import DBAPIError

from yiyue.booking.release_service import DrawRecord
from yiyue.core import logs
from yiyue.core.clock import HOSPITAL_TZ, Clock, local_today
from yiyue.core.config import DEV_WECHAT_PAY_NOTIFY_URL, FAKE_WECHAT_IN_PROCESS, Settings, get_settings
from yiyue.core.db import Database
from yiyue.core.errors import DomainError
from yiyue.core.logs import LogFormat
from yiyue.core.migrate import upgrade
from yiyue.demo.members import MembersSeedSummary
from yiyue.demo.reviews import ReviewSeedSummary
from yiyue.demo.seed import SeedSummary
from yiyue.demo.staff import DemoLogin
from yiyue.jobs.context import JobContext
from yiyue.jobs.system import JobSystem
from yiyue.members.service import Mismatch
from yiyue.ops.commands import backup_app

app = typer.Typer(help="医约 YiYue: hospital appointment booking platform.", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


WORKER_HEALTHCHECK_SECONDS = 30
"""How long ``serve --workers N``'s supervisor waits for a process to answer its ping before it kills and
replaces it as hung. uvicorn's 5 s kill processes still starting on a busy machine, again and again."""


def _logging(default: LogFormat = "json") -> None:
    """JSON lines (or text: YIYUE_LOG_FORMAT) for every logger of the process (core/logs.py, decision 0021)."""
    logs.configure(default=default)


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    _logging()
    settings = get_settings()
    upgrade(settings.database_url)
    typer.echo(f"migrated {_safe_url(settings.database_url)}")


@app.command()
def seed() -> None:
    """Fill an empty database with the demo hospitals, doctors and 14 days of schedules."""
    _logging()
    summary = asyncio.run(_seed())
    if summary.created:
        typer.echo(
            f"seeded {summary.hospitals} hospitals, {summary.departments} departments, {summary.doctors} doctors, "
            f"{summary.schedules} schedules, {summary.slots} slots"
        )
    else:
        typer.echo("database already has data; nothing seeded")


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Server processes (default YIYUE_SERVER_WORKERS, 1).")
    ] = None,
    graceful_timeout: Annotated[
        int | None,
        typer.Option(
            min=1, help="Seconds requests in flight may take to finish after SIGTERM (YIYUE_SHUTDOWN_GRACE_SECONDS)."
        ),
    ] = None,
) -> None:
    """Serve the API (the database must be migrated). With --workers N, N processes share the port; each
    has its own connection pool (mind the connection budget) and its own embedded job workers."""
    if not access_log:  # the request lines (core/logs.py); in the environment, so every process of --workers N hears
        os.environ[logs.ACCESS_LOG_ENV] = "0"
    _logging()
    from yiyue.server import create_server, multiprocess_problems

    settings = get_settings()  # in the supervisor too: development secrets are generated once, before any fork
    processes = workers or settings.server_workers
    grace = graceful_timeout or settings.shutdown_grace_seconds
    if processes == 1:
        uvicorn.run(
            create_server(settings),
            host=host,
            port=port,
            log_level="info",
            log_config=None,  # uvicorn keeps the JSON handler of _logging()
            access_log=access_log,
            timeout_graceful_shutdown=grace,
        )
        return
    problems = multiprocess_problems(settings)
    if problems:
        for problem in problems:
            typer.echo(f"错误：--workers {processes} 需要独立的微信服务。{problem}", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"yiyue serve: {processes} processes on {host}:{port}, each with a pool of "
        f"{settings.database_pool_size} + {settings.database_max_overflow} connections and "
        f"{settings.embedded_workers} job worker threads"
    )
    from yiyue.core import metrics  # issue 13 (decision 0020): the processes add up their metrics there

    metrics_dir = metrics.prepare_multiprocess()
    try:
        uvicorn.run(
            "yiyue.server:server_from_environment",
            factory=True,
            workers=processes,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            host=host,
            port=port,
            log_level="info",
            log_config=None,  # uvicorn keeps the JSON handler of _logging()
            access_log=access_log,
            timeout_graceful_shutdown=grace,
        )
    finally:
        metrics.discard_multiprocess(metrics_dir)


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, seed if empty, and serve the API with the fake WeChat in one process."""
    _logging(default="text")  # a developer reads these
    settings = get_settings()
    upgrade(settings.database_url)
    summary = asyncio.run(_seed())
    reviews, gold = asyncio.run(_demo_patients(settings))
    logins = asyncio.run(_demo_staff(settings.secret_key))
    from yiyue.app import FAKE_WECHAT_MOUNT
    from yiyue.server import create_server

    base = f"http://{host}:{port}"
    if settings.wechat_pay_notify_url == DEV_WECHAT_PAY_NOTIFY_URL:
        # WeChat Pay must call back this very server, whatever port the demo was given.
        settings = settings.model_copy(update={"wechat_pay_notify_url": f"{base}/api/v1/payments/wechat/notify"})
    typer.echo("")
    typer.echo("医约 YiYue demo")
    typer.echo(
        f"  database     {_safe_url(settings.database_url)} ({summary.hospitals} hospitals, {summary.doctors} doctors)"
    )
    typer.echo(f"  API          {base}/api/v1/hospitals")
    typer.echo(f"  API docs     {base}/docs")
    if settings.wechat_api_base == FAKE_WECHAT_IN_PROCESS:
        fake = f"{base}{FAKE_WECHAT_MOUNT}"
        typer.echo(f"  fake WeChat  {fake}  (mint a login code: POST {fake}/__fake__/login-code)")
    typer.echo(
        f"  patients     demo-review-01..40: {reviews.completed_visits} completed visits, {reviews.reviews} reviews"
    )
    typer.echo(f"  member       {gold.openid} {gold.level} ({gold.points_12m} points in 12 months)")
    if gold.release_at is not None:
        released = gold.release_at.astimezone(HOSPITAL_TZ)
        typer.echo(f"               {gold.doctor}: public release {released:%H:%M}, members book now (提前预约)")
    typer.echo(f"  console      {base}/admin/  (development accounts, user name / password:)")
    for login in logins:
        typer.echo(f"               {login.username:<12} {login.password}  {login.label}")
    typer.echo("")
    uvicorn.run(
        create_server(settings),
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # uvicorn keeps the JSON handler of _logging()
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads (each with its own event loop).")] = 2,
    migrations_timeout: Annotated[
        float,
        typer.Option(
            envvar="YIYUE_WORKER_MIGRATIONS_TIMEOUT",
            help="Seconds to wait for the database to reach the migration head before giving up (exit 1).",
        ),
    ] = 600.0,
) -> None:
    """Run job workers apart from the server (set YIYUE_EMBEDDED_WORKERS=0 on the servers then)."""
    _logging()
    from yiyue.core.readiness import MigrationsBehind
    from yiyue.jobs.runtime import build_jobs, worker_consumer, worker_context

    settings = get_settings()
    clock = Clock()
    try:  # before any job runs: a database behind the migrations fails them all (decision 0022)
        state = asyncio.run(_wait_for_migrations(settings, migrations_timeout))
    except MigrationsBehind as exc:
        typer.echo(f"yiyue worker: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"migrations: {state}")
    startup = worker_context(settings, clock)  # fails now, with a clear message, rather than in every job

    def thread_context() -> JobContext:
        context = worker_context(settings, clock)
        jobs.listen(context.db)  # events that handlers write are queued as soon as they commit
        return context

    jobs = build_jobs(settings, clock, thread_context)
    # Work a crashed worker took with it is handed out again now, not at the next periodic sweep.
    recovered = asyncio.run(_recover(jobs, startup))
    typer.echo(f"handed {recovered} unfinished events to the queue again")
    typer.echo(f"yiyue worker: {threads} threads, queue {settings.queue_url or 'sqlite (./var/queue.db)'}")
    if settings.worker_metrics_port:  # issue 13 (decision 0020): a worker serves no API, so its own /metrics
        from yiyue.core import metrics

        metrics.start_worker_endpoint(host="0.0.0.0", port=settings.worker_metrics_port, token=settings.metrics_token)
        typer.echo(f"metrics on :{settings.worker_metrics_port}/metrics (bearer YIYUE_METRICS_TOKEN)")
    worker_consumer(jobs, threads=threads).run()  # SIGTERM: the jobs in progress finish first


@app.command("fake-wechat")
def fake_wechat(host: Host = "127.0.0.1", port: Port = 9000) -> None:
    """Serve the fake WeChat on its own (point YIYUE_WECHAT_API_BASE, and YIYUE_REALNAME_API_BASE, at it)."""
    _logging()
    from yiyue.wechat.fake import FakePayKeys, create_fake_wechat_app

    settings = get_settings()
    typer.echo(f"fake WeChat (login, messages, Pay v3) at http://{host}:{port}  appid={settings.wechat_appid}")
    typer.echo(f"  real-name verification (实名认证) for app id {settings.realname_app_id}: YIYUE_REALNAME_API_BASE")
    fake = create_fake_wechat_app(
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        pay=FakePayKeys.from_settings(settings),
        realname_apps={settings.realname_app_id: settings.realname_app_secret},
    )
    uvicorn.run(fake, host=host, port=port, log_config=None)


@app.command("create-staff")
def create_staff(
    username: Annotated[str, typer.Option(help="Login name: 3-32 characters of a-z 0-9 _ . -")],
    role: Annotated[str, typer.Option(help="platform_admin | hospital_admin | doctor")],
    hospital_id: Annotated[int | None, typer.Option(help="Their hospital (not for platform_admin).")] = None,
    doctor_id: Annotated[int | None, typer.Option(help="The doctor this account is (role doctor only).")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console (default: username).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Create a hospital staff account (the database must be migrated) and print its id."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    try:
        staff_id = asyncio.run(
            _create_staff(
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                hospital_id=hospital_id,
                doctor_id=doctor_id,
            )
        )
    except DomainError as exc:
        typer.echo(f"错误 [{exc.code}]：{exc.text}", err=True)
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        typer.echo(f"错误 [DATABASE_ERROR]：数据库操作失败（如尚未迁移，请先运行 yiyue migrate）：{exc.orig}", err=True)
        raise typer.Exit(1) from None
    typer.echo(staff_id)


members_app = typer.Typer(help="Members and points (会员与积分).", no_args_is_help=True)
app.add_typer(members_app, name="members")


@members_app.command("check")
def members_check() -> None:
    """Prove every account's points balance equals the sum of its ledger (and each entry's balance_after
    the running sum). Lists each mismatch and exits 1 when there is any."""
    try:
        found = asyncio.run(_members_check())
    except DBAPIError as exc:
        typer.echo(f"错误 [DATABASE_ERROR]：数据库操作失败（如尚未迁移，请先运行 yiyue migrate）：{exc.orig}", err=True)
        raise typer.Exit(1) from None
    accounts, mismatches = found
    for m in mismatches:
        where = f" 流水#{m.entry_id}" if m.entry_id is not None else ""
        typer.echo(f"account {m.account_id}{where}: {m.problem}（余额 {m.balance}，流水合计 {m.ledger_sum}）")
    if mismatches:
        typer.echo(f"{len(mismatches)} mismatch(es) in {accounts} accounts", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: {accounts} accounts, balance = sum(ledger) for every one")


async def _members_check() -> tuple[int, list[Mismatch]]:
    from sqlalchemy import func, select

    from yiyue.members import service as members
    from yiyue.members.models import MemberAccount

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            accounts = await session.scalar(select(func.count()).select_from(MemberAccount))
            return int(accounts or 0), await members.check_all(session)
    finally:
        await db.dispose()


draw_app = typer.Typer(help="The release window's draws (抽签放号).", no_args_is_help=True)
app.add_typer(draw_app, name="draw")
app.add_typer(backup_app, name="backup")  # yiyue backup create | restore | advance-ids | verify (yiyue.ops)


@draw_app.command("verify")
def draw_verify(schedule_id: Annotated[int, typer.Argument(help="排班 id (schedule id)")]) -> None:
    """Re-run a session's draw from its stored record (seed, entries with their weights, capacity) and say
    whether it picks the same winners; exit 1 when it does not, or when the session has no draw."""
    from yiyue.booking import draw

    try:
        record = asyncio.run(_draw_record(schedule_id))
    except DomainError as exc:
        typer.echo(f"错误 [{exc.code}]：{exc.text}", err=True)
        raise typer.Exit(1) from None
    except DBAPIError as exc:
        typer.echo(f"错误 [DATABASE_ERROR]：数据库操作失败（如尚未迁移，请先运行 yiyue migrate）：{exc.orig}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"schedule {record.schedule_id}: {record.algorithm}, seed {record.seed}")
    typer.echo(f"capacity {record.capacity}, {len(record.entries)} entries, {len(record.winners)} winners recorded")
    if record.algorithm != draw.ALGORITHM:
        typer.echo(f"错误：未知的抽签算法 {record.algorithm}（本程序实现 {draw.ALGORITHM}）", err=True)
        raise typer.Exit(1)
    again = draw.pick(record.seed, record.entries, record.capacity)
    if set(again) != set(record.winners):
        typer.echo(f"MISMATCH: re-run picks {sorted(again)}, the record says {sorted(record.winners)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"ok: the re-run picks the same {len(again)} winners: {sorted(again)}")


async def _draw_record(schedule_id: int) -> DrawRecord:
    from yiyue.booking import release_service

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            return await release_service.draw_record(session, schedule_id)
    finally:
        await db.dispose()


async def _create_staff(
    *,
    username: str,
    password: str,
    role: str,
    display_name: str | None,
    hospital_id: int | None,
    doctor_id: int | None,
) -> int:
    from yiyue.hospitals.staff_accounts import create_staff_account

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            created = await create_staff_account(
                session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                hospital_id=hospital_id,
                doctor_id=doctor_id,
                now=Clock().now(),
            )
            return created.id
    finally:
        await db.dispose()


async def _wait_for_migrations(settings: Settings, give_up_after: float) -> str:
    from yiyue.core.readiness import wait_for_migrations

    db = Database.from_settings(settings, worker=True)  # its own pool, closed in this event loop
    try:
        return await wait_for_migrations(db, give_up_after=give_up_after)
    finally:
        await db.dispose()


async def _recover(jobs: JobSystem, context: JobContext) -> int:
    try:
        return await jobs.redeliver_stale(context.db)
    finally:
        await context.db.dispose()
        await context.wechat.aclose()
        await context.pay.aclose()


async def _seed() -> SeedSummary:
    from yiyue.demo.seed import seed_demo

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            return await seed_demo(session, today=local_today(Clock().now()))
    finally:
        await db.dispose()


async def _demo_patients(settings: Settings) -> tuple[ReviewSeedSummary, MembersSeedSummary]:
    """Demo patients with completed visits and reviews (once), then the 金卡 member and an expert's session
    in its early window (each start: the window moves with the clock). Each declares its own write."""
    from yiyue.demo.members import seed_members
    from yiyue.demo.reviews import seed_reviews

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            reviews = await seed_reviews(session, settings=settings, now=Clock().now())
        async with db.session() as session:
            gold = await seed_members(session, now=Clock().now())
        return reviews, gold
    finally:
        await db.dispose()


async def _demo_staff(secret_key: str) -> list[DemoLogin]:
    from yiyue.demo.staff import ensure_demo_staff

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            return await ensure_demo_staff(session, secret_key=secret_key, now=Clock().now())
    finally:
        await db.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
