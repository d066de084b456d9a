"""``yiyue draw verify SCHEDULE_ID``: re-runs a session's draw from its stored record and says whether the
winners match (exit 0), or not (exit 1: a changed seed, a changed winner, no draw)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.booking.test_release_window_api import close_and_draw, entered, patients, window_schedule
from tests.factories import Catalog, make_catalog
from tests.jobs_support import Jobs
from yiyue.booking.models import ReleaseDraw
from yiyue.cli import app as cli
from yiyue.core.config import get_settings
from yiyue.core.db import Database


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db, release_mode="window", release_window_seconds=30)


@pytest.fixture
def env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("YIYUE_DATABASE_URL", database_url)
    monkeypatch.setenv("YIYUE_VAR_DIR", str(tmp_path / "cli-var"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def drawn(client, db, catalog, clock, app) -> int:  # type: ignore[no-untyped-def]
    schedule = await window_schedule(db, catalog, clock, capacity=3)
    for p in await patients(client, 8):
        await entered(client, p, schedule.id)
    await close_and_draw(clock, schedule, Jobs(app))
    return schedule.id


async def verify(schedule_id: int):  # type: ignore[no-untyped-def]
    """The command in a thread of its own: it runs its own event loop."""
    return await asyncio.to_thread(CliRunner().invoke, cli, ["draw", "verify", str(schedule_id)])


async def test_the_stored_record_re_runs_to_the_same_winners(client, db, catalog, clock, app, env):
    schedule_id = await drawn(client, db, catalog, clock, app)

    result = await verify(schedule_id)

    assert result.exit_code == 0, result.output
    assert "es-hmac-sha256-v1" in result.output and "ok: the re-run picks the same 3 winners" in result.output


async def test_another_seed_does_not_give_the_recorded_winners(client, db, catalog, clock, app, env):
    schedule_id = await drawn(client, db, catalog, clock, app)
    async with db.session() as session:
        await session.execute(update(ReleaseDraw).where(ReleaseDraw.schedule_id == schedule_id).values(seed="ab" * 32))

    result = await verify(schedule_id)

    assert result.exit_code == 1 and "MISMATCH" in result.output


async def test_a_session_without_a_draw_is_an_error(client, db, catalog, clock, env):
    schedule = await window_schedule(db, catalog, clock)

    result = await verify(schedule.id)

    assert result.exit_code == 1 and "RELEASE_DRAW_NOT_FOUND" in result.output
