"""会员与积分 in the console: the levels table and its edit form, an account looked up by id or a visit
person's ID number with its ledger, manual adjustments with a reason (audited), and the hospital form's
members' share and waitlist settings."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.admin.test_hospital_pages import FORM, error_beside
from tests.conftest import NOW, Login
from tests.factories import Catalog, make_catalog, make_staff, patient_body
from yiyue.accounts.models import Account
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database, begin_write
from yiyue.hospitals.models import Hospital
from yiyue.members import service


@pytest.fixture
async def platform(db: Database, console: ConsoleLogin) -> ConsoleClient:
    await make_staff(db, role="platform_admin", username="root")
    return await console("root")


async def member(login: Login, db: Database, client: httpx.AsyncClient, *, points: int) -> tuple[int, str]:
    """A patient account with ``points`` earned and one visit person; its id and that person's ID number."""
    openid = f"o-page-{uuid.uuid4().hex[:8]}"
    auth = await login(openid)
    person = patient_body(name="钱多多")
    assert (await client.post("/api/v1/me/patients", json=person, headers=auth)).status_code == 201
    async with db.session() as session:
        account = await session.scalar(select(Account.id).where(Account.openid == openid))
        assert account is not None
        await begin_write(session)
        await service.credit(session, account_id=account, kind="visit", cause=f"p:{openid}", points=points, now=NOW)
    return account, person["id_number"]


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


class TestLevels:
    async def test_the_levels_and_their_privileges_in_chinese(self, platform: ConsoleClient) -> None:
        page = await platform.get("/admin/members")

        assert page.status_code == 200
        text = text_of(page.text)
        for name in ("普通会员", "银卡会员", "金卡会员", "钻石会员"):
            assert name in text
        assert "提前预约：比公开放号时间提前30分钟预约" in text and "挂号费九折" in text
        assert "积分自获得之日起24个月内有效" in text

    async def test_an_edit_is_saved_and_audited(self, db: Database, platform: ConsoleClient) -> None:
        form = await platform.get("/admin/members/levels/silver")
        assert 'value="银卡会员"' in form.text

        saved = await platform.post(
            "/admin/members/levels/silver",
            {
                "name": "银卡会员",
                "min_points": "400",
                "booking_priority": "1",
                "early_booking_minutes": "10",
                "member_share": "true",
                "discount_percent": "98",
            },
        )

        assert saved.status_code == 303 and "ok=" in saved.headers["location"]
        async with db.session() as session:
            silver = await service.get_level(session, "silver")
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "member_level.update"))
        assert (silver.min_points, silver.early_booking_minutes, silver.can_cancel_late, silver.discount_percent) == (
            400,
            10,
            False,
            98,
        )
        assert row is not None and row.actor.startswith("staff:")

    async def test_a_bad_edit_shows_the_error_beside_its_field(self, platform: ConsoleClient) -> None:
        refused = await platform.post(
            "/admin/members/levels/silver",
            {
                "name": "金卡会员",
                "min_points": "300",
                "booking_priority": "1",
                "early_booking_minutes": "0",
                "discount_percent": "0",
            },
        )
        assert refused.status_code == 422
        assert error_beside(refused.text, "discount_percent").startswith("挂号费折扣")
        second = await platform.post(
            "/admin/members/levels/silver",
            {
                "name": "金卡会员",
                "min_points": "300",
                "booking_priority": "1",
                "early_booking_minutes": "0",
                "discount_percent": "100",
            },
        )
        assert error_beside(second.text, "name") == "等级名称已被其他等级使用"

    async def test_a_hospital_admin_cannot_open_the_page(self, db: Database, console: ConsoleLogin) -> None:
        await make_staff(db, catalog=await make_catalog(db), username="h-admin")
        hospital_admin = await console("h-admin")
        assert (await hospital_admin.get("/admin/members")).status_code == 403


class TestAccounts:
    async def test_looked_up_by_id_number_and_by_account_id(
        self, db: Database, platform: ConsoleClient, login: Login, client: httpx.AsyncClient
    ) -> None:
        account, id_number = await member(login, db, client, points=1000)

        by_person = await platform.get(f"/admin/members?q={id_number}")
        by_id = await platform.get(f"/admin/members?q={account}")
        nobody = await platform.get("/admin/members?q=110105199001019999")

        assert by_person.status_code == 303 and by_person.headers["location"] == f"/admin/members/accounts/{account}"
        assert by_id.headers["location"] == f"/admin/members/accounts/{account}"
        assert "没有找到持有该身份证号就诊人的账号" in nobody.text
        page = await platform.get(f"/admin/members/accounts/{account}")
        text = text_of(page.text)
        assert "金卡会员" in text and "钱多多（138****5678）" in text and "+1000" in text
        async with db.session() as session:
            assert await session.scalar(select(AuditLog.id).where(AuditLog.action == "member.view")) is not None

    async def test_an_adjustment_with_a_reason_lands_in_the_ledger(
        self, db: Database, platform: ConsoleClient, login: Login, client: httpx.AsyncClient
    ) -> None:
        account, _ = await member(login, db, client, points=100)

        done = await platform.post(
            f"/admin/members/accounts/{account}/adjust", {"delta": "-40", "reason": "重复发放更正"}
        )

        assert done.status_code == 303 and "ok=" in done.headers["location"]
        page = await platform.get(done.headers["location"])
        assert "重复发放更正" in page.text and "已扣减40积分，当前余额60" in page.text
        async with db.session() as session:
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "points.adjust"))
        assert row is not None and row.detail["delta"] == -40

    async def test_a_refused_adjustment_says_why_beside_the_field(
        self, db: Database, platform: ConsoleClient, login: Login, client: httpx.AsyncClient
    ) -> None:
        account, _ = await member(login, db, client, points=100)

        overdrawn = await platform.post(
            f"/admin/members/accounts/{account}/adjust", {"delta": "-500", "reason": "更正"}
        )
        no_reason = await platform.post(f"/admin/members/accounts/{account}/adjust", {"delta": "5"})

        assert overdrawn.status_code == 422 and error_beside(overdrawn.text, "delta") == "积分余额不足（当前100积分）"
        assert no_reason.status_code == 422 and error_beside(no_reason.text, "reason") == "请填写调整原因"
        async with db.session() as session:
            assert (await service.standing(session, account_id=account)).points_balance == 100


class TestHospitalSettings:
    async def test_the_hospital_form_keeps_the_members_share_and_waitlist_settings(
        self, db: Database, platform: ConsoleClient
    ) -> None:
        catalog: Catalog = await make_catalog(db)
        form = await platform.get(f"/admin/hospitals/{catalog.hospital.id}")
        assert "会员预留比例（%）" in form.text and "候补确认时限（分钟）" in form.text

        saved = await platform.post(
            f"/admin/hospitals/{catalog.hospital.id}",
            FORM
            | {
                "member_share_percent": "20",
                "member_share_opens_hours": "12",
                "waitlist_hold_minutes": "30",
                "waitlist_max_entries": "2",
            },
        )
        refused = await platform.post(f"/admin/hospitals/{catalog.hospital.id}", FORM | {"member_share_percent": "80"})

        assert saved.status_code == 303
        async with db.session() as session:
            hospital = await session.get_one(Hospital, catalog.hospital.id)
        assert (
            hospital.member_share_percent,
            hospital.member_share_opens_hours,
            hospital.waitlist_hold_minutes,
            hospital.waitlist_max_entries,
        ) == (20, 12, 30, 2)
        assert refused.status_code == 422 and "不能大于50" in error_beside(refused.text, "member_share_percent")

    async def test_the_staff_api_reads_and_writes_them(self, db: Database, client: httpx.AsyncClient) -> None:
        from tests.factories import staff_login

        catalog = await make_catalog(db)
        auth = await staff_login(client, (await make_staff(db, role="platform_admin")).username)
        body = {**FORM, "release_days": 14, "stop_minutes_before": 30, "cancel_minutes_before": 240}
        body |= {"max_active_appointments": 3, "payment_required": True, "member_share_percent": 10}

        answer = await client.put(f"/api/v1/staff/hospitals/{catalog.hospital.id}", json=body, headers=auth)

        assert answer.status_code == 200, answer.text
        got = answer.json()
        assert (got["member_share_percent"], got["member_share_opens_hours"], got["waitlist_hold_minutes"]) == (
            10,
            24,
            15,
        )
