"""Hypothesis drives random sequences of ledger operations (earn, duplicate earns, spend, manual
adjustment, time passing with the expiry and level job, expire) through the members service on a real
database and checks, after every step, that the balance is the sum of the ledger, each entry's
balance_after is the running sum, and balance, 12-month points and level agree with a model kept
independently: lots of points consumed oldest first, lapsing 24 months after they were earned."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from tests.conftest import NOW
from yiyue.accounts.models import Account
from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.core.db import Database, begin_write
from yiyue.core.migrate import upgrade
from yiyue.members import rules, service
from yiyue.members.models import MemberAccount, MemberLevel, PointsEntry

ACCOUNTS = 2
CAUSES = 4  # few causes, so the same fact comes back often
THRESHOLDS = [("regular", 0), ("silver", 300), ("gold", 1000), ("diamond", 3000)]


@dataclass
class Lot:
    """Points earned (or adjusted up) at one time; what is left of them and when they lapse."""

    left: int
    earned_at: datetime
    expires_at: datetime


@dataclass
class Ledger:
    lots: list[Lot] = field(default_factory=list)
    level_entries: list[tuple[datetime, int]] = field(default_factory=list)
    """(when, delta) of what counts for the level: earnings and adjustments."""

    @property
    def balance(self) -> int:
        return sum(lot.left for lot in self.lots)

    def take(self, points: int) -> None:
        """Oldest first."""
        for lot in self.lots:
            used = min(lot.left, points)
            lot.left -= used
            points -= used
        assert points == 0

    def lapse(self, now: datetime) -> None:
        for lot in self.lots:
            if lot.expires_at <= now:
                lot.left = 0

    def points_12m(self, now: datetime) -> int:
        since = rules.add_months(now, -12)
        return max(0, sum(delta for at, delta in self.level_entries if since <= at <= now))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.mark.parametrize("_", [None])
def test_ledger_state_machine(template: Path, _: None) -> None:
    LedgerMachine.template = template
    LedgerMachine.TestCase.settings = settings(
        max_examples=40, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck)
    )
    LedgerMachine.TestCase().runTest()


class LedgerMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.workdir = Path(tempfile.mkdtemp(prefix="yiyue-ledger-"))
        self.now = NOW
        self.ledgers = [Ledger() for _ in range(ACCOUNTS)]
        self.credited: set[tuple[str, str]] = set()
        self.spent: set[str] = set()

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    @initialize()
    def setup(self) -> None:
        path = self.workdir / "yiyue.db"
        shutil.copy(self.template, path)
        self.db = Database(f"sqlite+aiosqlite:///{path}")
        self.run(self._prepare())

    async def _prepare(self) -> None:
        async with self.db.session() as session:
            accounts = [Account(openid=f"sm-{i}", created_at=NOW, last_login_at=NOW) for i in range(ACCOUNTS)]
            admin = StaffUser(
                username="sm-admin",
                password_hash="x",
                role=StaffRole.PLATFORM_ADMIN,
                display_name="平台管理员",
                active=True,
                created_at=NOW,
            )
            session.add_all([*accounts, admin])
            await session.flush()
            self.account_ids = [a.id for a in accounts]
            self.admin = admin

    def teardown(self) -> None:
        if hasattr(self, "db"):
            self.run(self.db.dispose())
        self.loop.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _earn(self, account: int, points: int) -> None:
        ledger = self.ledgers[account]
        ledger.lots.append(Lot(points, self.now, rules.expires_at(self.now)))
        ledger.level_entries.append((self.now, points))

    @rule(
        account=st.integers(0, ACCOUNTS - 1),
        kind=st.sampled_from(sorted(rules.EARNING_KINDS)),
        cause=st.integers(1, CAUSES),
        points=st.none() | st.sampled_from([400, 1200]),
    )
    def earn(self, account: int, kind: str, cause: int, points: int | None) -> None:
        async def go() -> PointsEntry | None:
            async with self.db.session() as session:
                await begin_write(session)
                return await service.credit(
                    session,
                    account_id=self.account_ids[account],
                    kind=kind,
                    cause=f"thing:{cause}",
                    points=points,
                    now=self.now,
                )

        entry = self.run(go())
        if (kind, f"thing:{cause}") in self.credited:
            assert entry is None  # the same fact, whichever account it is offered for
            return
        assert entry is not None
        self.credited.add((kind, f"thing:{cause}"))
        self._earn(account, points or rules.EARNED_POINTS[kind])

    @rule(account=st.integers(0, ACCOUNTS - 1), points=st.integers(1, 600), cause=st.integers(1, CAUSES))
    def spend(self, account: int, points: int, cause: int) -> None:
        async def go() -> PointsEntry | None:
            async with self.db.session() as session:
                return await service.spend(
                    session, account_id=self.account_ids[account], points=points, cause=f"order:{cause}", now=self.now
                )

        ledger = self.ledgers[account]
        if f"order:{cause}" in self.spent:
            assert self.run(go()) is None
            return
        ledger.lapse(self.now)
        if points > ledger.balance:
            with pytest.raises(service.InsufficientPoints):
                self.run(go())
            return
        assert self.run(go()) is not None
        self.spent.add(f"order:{cause}")
        ledger.take(points)

    @rule(account=st.integers(0, ACCOUNTS - 1), delta=st.integers(-500, 1500).filter(bool))
    def adjust(self, account: int, delta: int) -> None:
        async def go() -> PointsEntry:
            async with self.db.session() as session:
                return await service.adjust(
                    session,
                    staff=self.admin,
                    account_id=self.account_ids[account],
                    delta=delta,
                    reason="测试调整",
                    now=self.now,
                )

        ledger = self.ledgers[account]
        if delta < 0:
            ledger.lapse(self.now)
            if -delta > ledger.balance:
                with pytest.raises(service.InsufficientPoints):
                    self.run(go())
                return
        self.run(go())
        if delta > 0:
            self._earn(account, delta)
        else:
            ledger.take(-delta)
            ledger.level_entries.append((self.now, delta))

    @rule(days=st.sampled_from([1, 30, 200, 365, 400]))
    def time_passes(self, days: int) -> None:
        """The clock moves on and the hourly members job runs: expiry, then levels."""
        self.now += timedelta(days=days)

        async def go() -> None:
            async with self.db.session() as session:
                await service.expire_due(session, now=self.now)
            async with self.db.session() as session:
                await service.refresh_levels(session, now=self.now)

        self.run(go())
        for ledger in self.ledgers:
            ledger.lapse(self.now)

    @rule()
    def expire_again(self) -> None:
        """Running the expiry twice at one time lapses nothing more."""

        async def go() -> list[PointsEntry]:
            async with self.db.session() as session:
                return await service.expire_due(session, now=self.now)

        lapsed = self.run(go())
        for ledger in self.ledgers:
            ledger.lapse(self.now)
        assert all(e.delta < 0 for e in lapsed)

    @invariant()
    def ledger_and_standing_agree(self) -> None:
        if hasattr(self, "db"):
            self.run(self._check())

    async def _check(self) -> None:
        async with self.db.session() as session:
            assert await service.check_all(session) == []
            codes = {lv.id: lv.code for lv in await session.scalars(select(MemberLevel))}
            for i, account_id in enumerate(self.account_ids):
                ledger = self.ledgers[i]
                member = await session.get(MemberAccount, account_id)
                if member is None:
                    assert ledger.balance == 0 and not ledger.lots
                    continue
                entries = list(await session.scalars(select(PointsEntry).where(PointsEntry.account_id == account_id)))
                assert member.points_balance == sum(e.delta for e in entries)
                # Points past their expiry stay in the balance only until the job runs; none here is
                # older than the last run or spend that lapsed them.
                assert member.points_balance == ledger.balance, (member.points_balance, ledger)
                # The level follows the last 12 months as of now: each entry recomputes it, and the job of
                # time_passes recomputes the accounts whose earnings have aged out since.
                assert member.points_12m == ledger.points_12m(self.now)
                reached = [code for code, least in THRESHOLDS if least <= member.points_12m]
                assert codes[member.level_id] == reached[-1]
