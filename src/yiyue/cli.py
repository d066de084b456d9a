"""The ``yiyue`` command: demo, serve, migrate, seed, fake-wechat."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
import uvicorn

from yiyue.core.clock import Clock, local_today
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, get_settings
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.demo.seed import SeedSummary

app = typer.Typer(help="医约 YiYue: hospital appointment booking platform.", no_args_is_help=True)

Host = Annotated[str, typer.Option(help="Address to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


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
) -> None:
    """Serve the API (the database must be migrated)."""
    _logging()
    from yiyue.app import create_app

    uvicorn.run(create_app(get_settings()), host=host, port=port, log_level="info", access_log=access_log)


@app.command()
def demo(host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Migrate, seed if empty, and serve the API with the fake WeChat in one process."""
    _logging()
    settings = get_settings()
    upgrade(settings.database_url)
    summary = asyncio.run(_seed())
    from yiyue.app import FAKE_WECHAT_MOUNT, create_app

    base = f"http://{host}:{port}"
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
    typer.echo("")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("fake-wechat")
def fake_wechat(host: Host = "127.0.0.1", port: Port = 9000) -> None:
    """Serve the fake WeChat on its own (point YIYUE_WECHAT_API_BASE at it)."""
    _logging()
    from yiyue.wechat.fake import create_fake_wechat_app

    settings = get_settings()
    typer.echo(f"fake WeChat at http://{host}:{port}  appid={settings.wechat_appid}")
    uvicorn.run(
        create_fake_wechat_app(appid=settings.wechat_appid, secret=settings.wechat_secret), host=host, port=port
    )


async def _seed() -> SeedSummary:
    from yiyue.demo.seed import seed_demo

    db = Database(get_settings().database_url)
    try:
        async with db.session() as session:
            return await seed_demo(session, today=local_today(Clock().now()))
    finally:
        await db.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    app()
