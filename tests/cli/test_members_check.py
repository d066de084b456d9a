"""``yiyue members check``: exit 0 when every account's balance is the sum of its ledger, exit 1 listing
each account that disagrees."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import update
from typer.testing import CliRunner

from tests.conftest import NOW
from yiyue.accounts.models import Account
from yiyue.cli import app
from yiyue.core.config import get_settings
from yiyue.core.db import Database, begin_write
from yiyue.members import service
from yiyue.members.models import MemberAccount


@pytest.fixture
def url(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("YIYUE_DATABASE_URL", database_url)
    monkeypatch.setenv("YIYUE_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def with_db(url: str, work) -> object:  # type: ignore[no-untyped-def]
    async def go() -> object:
        db = Database(url)
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


def accounts_with_points(url: str, n: int) -> list[int]:
    async def work(session) -> list[int]:  # type: ignore[no-untyped-def]
        await begin_write(session)
        made = [Account(openid=f"cli-{i}", created_at=NOW, last_login_at=NOW) for i in range(n)]
        session.add_all(made)
        await session.flush()
        for a in made:
            for i in range(2):
                await service.credit(session, account_id=a.id, kind="visit", cause=f"appointment:{a.id}-{i}", now=NOW)
        return [a.id for a in made]

    ids: list[int] = with_db(url, work)  # type: ignore[assignment]
    return ids


def run() -> Result:
    return CliRunner().invoke(app, ["members", "check"])


def test_an_honest_ledger_passes(url: str) -> None:
    accounts_with_points(url, 3)

    result = run()

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ok: 3 accounts, balance = sum(ledger) for every one"


def test_a_balance_that_disagrees_exits_1_and_names_the_account(url: str) -> None:
    _, second = accounts_with_points(url, 2)

    async def tamper(session) -> None:  # type: ignore[no-untyped-def]
        await session.execute(
            update(MemberAccount).where(MemberAccount.account_id == second).values(points_balance=999)
        )

    with_db(url, tamper)

    result = run()

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"account {second}: 积分余额与流水合计不符（余额 999，流水合计 200）"]
    assert "1 mismatch(es) in 2 accounts" in result.stderr
