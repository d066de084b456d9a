"""The points ledger and standing in the database: credit once per cause, spend, adjust (audited),
expire oldest first, levels following the last 12 months, and the check that balance = sum(ledger)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, select, update

from tests.conftest import NOW
from tests.factories import make_catalog, make_staff
from yiyue.accounts.models import Account
from yiyue.accounts.staff.errors import ForbiddenRole
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database, begin_write
from yiyue.members import rules, service
from yiyue.members.models import MemberAccount, PointsEntry

_openids = count(1)


async def make_account(db: Database) -> int:
    async with db.session() as session:
        account = Account(openid=f"members-{next(_openids)}", created_at=NOW, last_login_at=NOW)
        session.add(account)
        await session.flush()
        return account.id


async def credit(db: Database, account_id: int, cause: str, *, kind: str = "visit", **kw: object) -> PointsEntry | None:
    async with db.session() as session:
        await begin_write(session)
        return await service.credit(session, account_id=account_id, kind=kind, cause=cause, now=NOW, **kw)  # type: ignore[arg-type]


async def visits(db: Database, account_id: int, n: int, *, at: datetime = NOW, first: int = 1) -> None:
    async with db.session() as session:
        await begin_write(session)
        for i in range(first, first + n):
            await service.credit(session, account_id=account_id, kind="visit", cause=f"appointment:{i}", now=at)


async def standing(db: Database, account_id: int) -> service.Standing:
    async with db.session() as session:
        return await service.standing(session, account_id=account_id)


async def entries(db: Database, account_id: int) -> list[PointsEntry]:
    async with db.session() as session:
        items, _ = await service.ledger(session, account_id=account_id, limit=100)
        return items


async def mismatches(db: Database) -> list[service.Mismatch]:
    async with db.session() as session:
        return await service.check_all(session)


class TestCredit:
    async def test_a_first_credit_opens_the_standing_at_the_lowest_level(self, db: Database) -> None:
        account = await make_account(db)

        entry = await credit(db, account, "appointment:1")

        assert entry is not None and (entry.delta, entry.balance_after, entry.kind) == (100, 100, "visit")
        assert entry.expires_at == rules.expires_at(NOW) and entry.note == "就诊完成"
        now = await standing(db, account)
        assert (now.level.code, now.points_balance, now.points_12m) == ("regular", 100, 100)
        assert now.next_level is not None and (now.next_level[0].code, now.next_level[1]) == ("silver", 200)

    async def test_the_same_fact_credited_twice_is_credited_once(self, db: Database) -> None:
        account = await make_account(db)
        assert await credit(db, account, "appointment:7") is not None

        assert await credit(db, account, "appointment:7") is None

        assert [e.cause for e in await entries(db, account)] == ["appointment:7"]
        assert (await standing(db, account)).points_balance == 100

    async def test_a_duplicate_leaves_the_callers_unit_of_work_usable(self, db: Database) -> None:
        account = await make_account(db)
        await credit(db, account, "appointment:7")
        async with db.session() as session:
            await begin_write(session)
            # Past the quick look-up: the unique index answers, inside a savepoint.
            await service._append(
                session, account_id=account, delta=100, kind="visit", cause="appointment:7", note="", now=NOW
            )
            assert await service.credit(session, account_id=account, kind="review", cause="review:7", now=NOW)
        assert [e.kind for e in await entries(db, account)] == ["review", "visit"]
        assert await mismatches(db) == []

    async def test_points_follow_the_kind_unless_given(self, db: Database) -> None:
        account = await make_account(db)
        await credit(db, account, f"account:{account}", kind="first_booking")
        await credit(db, account, "review:3", kind="review")
        await credit(db, account, "appointment:9", points=250)
        assert [e.delta for e in reversed(await entries(db, account))] == [50, 20, 250]
        assert [e.balance_after for e in reversed(await entries(db, account))] == [50, 70, 320]

    async def test_the_level_rises_with_the_credit_that_reaches_it(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 9)
        assert (await standing(db, account)).level.code == "silver"

        await visits(db, account, 1, first=10)

        now = await standing(db, account)
        assert now.level.code == "gold" and now.level_since == NOW
        async with db.session() as session:
            gold = await service.privileges(session, account)
        assert (gold.early_booking_minutes, gold.discount_percent, gold.can_cancel_late) == (30, 95, True)

    async def test_an_account_with_no_standing_has_the_regular_privileges(self, db: Database) -> None:
        account = await make_account(db)
        async with db.session() as session:
            assert await service.privileges(session, account) == rules.REGULAR
        assert (await standing(db, account)).points_balance == 0


class TestSpend:
    async def test_spending_takes_points_but_not_the_level(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 3)
        async with db.session() as session:
            entry = await service.spend(session, account_id=account, points=250, cause="order:1", now=NOW)
        assert entry is not None and entry.balance_after == 50
        now = await standing(db, account)
        assert (now.points_balance, now.points_12m, now.level.code) == (50, 300, "silver")

    async def test_spending_more_than_the_balance_is_refused(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 1)
        async with db.session() as session:
            with pytest.raises(service.InsufficientPoints) as refused:
                await service.spend(session, account_id=account, points=101, cause="order:1", now=NOW)
        assert refused.value.text == "积分余额不足（当前100积分）"

    async def test_lapsed_points_cannot_be_spent(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 1)
        later = rules.expires_at(NOW)
        async with db.session() as session:
            with pytest.raises(service.InsufficientPoints):
                await service.spend(session, account_id=account, points=10, cause="order:1", now=later)


class TestAdjust:
    async def test_the_platform_admin_adjusts_with_a_reason_and_it_is_audited(self, db: Database) -> None:
        account = await make_account(db)
        admin = await make_staff(db, role="platform_admin")
        async with db.session() as session:
            entry = await service.adjust(
                session, staff=admin, account_id=account, delta=1200, reason="线下活动补发积分", now=NOW
            )
        assert (entry.kind, entry.note, entry.actor, entry.balance_after) == (
            "adjust",
            "线下活动补发积分",
            f"staff:{admin.id}",
            1200,
        )
        assert (await standing(db, account)).level.code == "gold"
        async with db.session() as session:
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "points.adjust"))
        assert row is not None and row.subject == f"account:{account}" and row.actor == f"staff:{admin.id}"
        assert row.detail["delta"] == 1200 and row.detail["reason"] == "线下活动补发积分"

    async def test_taking_back_lowers_the_level_and_never_below_zero(self, db: Database) -> None:
        account = await make_account(db)
        admin = await make_staff(db, role="platform_admin")
        await visits(db, account, 3)
        async with db.session() as session:
            await service.adjust(session, staff=admin, account_id=account, delta=-100, reason="误发积分更正", now=NOW)
        assert (await standing(db, account)).level.code == "regular"
        async with db.session() as session:
            with pytest.raises(service.InsufficientPoints):
                await service.adjust(session, staff=admin, account_id=account, delta=-201, reason="更正", now=NOW)

    @pytest.mark.parametrize(
        ("delta", "reason", "fields"),
        [(0, "补发积分", {"delta"}), (10, " ", {"reason"}), (100_001, "x", {"delta", "reason"})],
    )
    async def test_bad_adjustments_are_refused_by_field(
        self, db: Database, delta: int, reason: str, fields: set[str]
    ) -> None:
        account = await make_account(db)
        admin = await make_staff(db, role="platform_admin")
        async with db.session() as session:
            with pytest.raises(service.InvalidAdjustment) as refused:
                await service.adjust(session, staff=admin, account_id=account, delta=delta, reason=reason, now=NOW)
        assert set(refused.value.detail) == fields

    async def test_only_the_platform_adjusts(self, db: Database) -> None:
        account = await make_account(db)
        hospital_admin = await make_staff(db, catalog=await make_catalog(db))
        async with db.session() as session:
            with pytest.raises(ForbiddenRole):
                await service.adjust(session, staff=hospital_admin, account_id=account, delta=5, reason="补发", now=NOW)

    async def test_an_unknown_account_is_not_found(self, db: Database) -> None:
        admin = await make_staff(db, role="platform_admin")
        async with db.session() as session:
            with pytest.raises(service.MemberNotFound):
                await service.adjust(session, staff=admin, account_id=99999, delta=5, reason="补发", now=NOW)


class TestExpiry:
    async def test_points_lapse_oldest_first_once(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 2)
        later = NOW + timedelta(days=100)
        await visits(db, account, 1, at=later, first=3)
        async with db.session() as session:
            await service.spend(session, account_id=account, points=150, cause="order:1", now=later)

        async with db.session() as session:
            lapsed = await service.expire_due(session, now=rules.expires_at(NOW))
        assert [(e.account_id, e.delta, e.balance_after) for e in lapsed] == [(account, -50, 100)]
        assert lapsed[0].note == "积分有效期24个月已到，50积分过期"
        async with db.session() as session:
            assert await service.expire_due(session, now=rules.expires_at(NOW) + timedelta(days=1)) == []
        async with db.session() as session:
            last = await service.expire_due(session, now=rules.expires_at(later))
        assert [e.delta for e in last] == [-100]
        assert (await standing(db, account)).points_balance == 0
        assert await mismatches(db) == []

    async def test_the_level_falls_when_earnings_leave_the_12_months(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 10)
        year_later = rules.add_months(NOW, 12) + timedelta(seconds=1)
        async with db.session() as session:
            assert await service.refresh_levels(session, now=year_later - timedelta(days=2)) == 0
        assert (await standing(db, account)).level.code == "gold"

        async with db.session() as session:
            assert await service.refresh_levels(session, now=year_later) == 1

        now = await standing(db, account)
        assert (now.level.code, now.points_12m, now.points_balance) == ("regular", 0, 1000)


class TestCheck:
    async def test_an_honest_ledger_has_no_mismatch(self, db: Database) -> None:
        for _ in range(2):
            await visits(db, await make_account(db), 3, first=next(_openids) * 10)
        assert await mismatches(db) == []

    async def test_a_balance_changed_behind_the_ledger_is_found(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 2)
        async with db.session() as session:
            await session.execute(update(MemberAccount).values(points_balance=500))
        [found] = await mismatches(db)
        assert (found.account_id, found.problem, found.balance, found.ledger_sum) == (
            account,
            "积分余额与流水合计不符",
            500,
            200,
        )

    async def test_a_broken_chain_names_its_first_entry(self, db: Database) -> None:
        account = await make_account(db)
        await visits(db, account, 3)
        async with db.session() as session:
            second = await session.scalar(
                select(func.min(PointsEntry.id)).where(
                    PointsEntry.account_id == account, PointsEntry.balance_after == 200
                )
            )
            await session.execute(update(PointsEntry).where(PointsEntry.id == second).values(balance_after=250))
        [found] = await mismatches(db)
        assert (found.problem, found.entry_id, found.balance, found.ledger_sum) == (
            "流水的结余与累计不符",
            second,
            250,
            200,
        )


class TestLevels:
    async def test_editing_a_threshold_moves_accounts_and_is_audited(self, db: Database) -> None:
        account = await make_account(db)
        admin = await make_staff(db, role="platform_admin")
        await visits(db, account, 8)
        async with db.session() as session:
            gold = await service.get_level(session, "gold")
            changed = rules.LevelChange(
                code="gold",
                name=gold.name,
                min_points=800,
                booking_priority=gold.booking_priority,
                early_booking_minutes=45,
                member_share=True,
                can_cancel_late=True,
                discount_percent=95,
            )
            await service.update_level(session, staff=admin, change=changed, now=NOW)
        now = await standing(db, account)
        assert now.level.code == "gold" and now.level.early_booking_minutes == 45
        async with db.session() as session:
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "member_level.update"))
        assert (
            row is not None and row.detail["before"]["min_points"] == 1000 and row.detail["after"]["min_points"] == 800
        )

    async def test_a_bad_level_is_refused_by_field(self, db: Database) -> None:
        admin = await make_staff(db, role="platform_admin")
        async with db.session() as session:
            change = rules.LevelChange("silver", "银卡会员", 1000, 1, 0, True, False, 100)
            with pytest.raises(service.InvalidMemberLevel) as refused:
                await service.update_level(session, staff=admin, change=change, now=NOW)
        assert refused.value.detail == {"min_points": "所需积分与其他等级相同"}
