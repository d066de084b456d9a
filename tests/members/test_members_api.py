"""会员中心 and the platform's members API through HTTP: a patient's own standing and ledger, the levels
edited with validation, an account looked up by a visit person's ID number, adjustments with a reason
(audited), and every other role refused."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW, Login
from tests.factories import make_catalog, make_staff, patient_body, staff_login
from yiyue.accounts.models import Account
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database, begin_write
from yiyue.members import service


async def patient(login: Login, db: Database, *, points: int = 0) -> tuple[dict[str, str], int]:
    openid = f"o-api-{uuid.uuid4().hex[:8]}"
    auth = await login(openid)
    async with db.session() as session:
        account = await session.scalar(select(Account.id).where(Account.openid == openid))
        assert account is not None
        if points:
            await begin_write(session)
            await service.credit(session, account_id=account, kind="visit", cause=f"t:{openid}", points=points, now=NOW)
    return auth, account


@pytest.fixture
async def admin(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    return await staff_login(client, (await make_staff(db, role="platform_admin")).username)


class TestMe:
    async def test_a_new_patient_is_a_regular_member_with_the_rules_shown(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        auth, _ = await patient(login, db)

        body = (await client.get("/api/v1/members/me", headers=auth)).json()

        assert body["level"] == {"code": "regular", "name": "普通会员"}
        assert (body["points_balance"], body["points_12m"]) == (0, 0)
        assert body["next_level"] == {"code": "silver", "name": "银卡会员", "min_points": 300, "points_needed": 300}
        assert body["privileges"]["discount_percent"] == 100 and body["privileges"]["descriptions"] == []
        assert [lv["code"] for lv in body["levels"]] == ["regular", "silver", "gold", "diamond"]
        assert "挂号费九五折（折后挂号费按分向下取整，不足1分的零头让利给患者）" in body["levels"][2]["descriptions"]
        assert body["earning_rules"][0] == "完成一次就诊：+100积分" and "24个月" in body["expiry_rule"]

    async def test_a_gold_member_sees_the_privileges_and_the_road_to_diamond(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        auth, _ = await patient(login, db, points=1200)

        body = (await client.get("/api/v1/members/me", headers=auth)).json()

        assert body["level"]["code"] == "gold" and body["points_balance"] == 1200
        assert body["next_level"]["code"] == "diamond" and body["next_level"]["points_needed"] == 1800
        p = body["privileges"]
        assert (p["early_booking_minutes"], p["member_share"], p["can_cancel_late"], p["discount_percent"]) == (
            30,
            True,
            True,
            95,
        )

    async def test_the_ledger_is_the_callers_own_newest_first(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        auth, account = await patient(login, db, points=100)
        await patient(login, db, points=500)  # someone else's
        async with db.session() as session:
            await service.spend(session, account_id=account, points=30, cause="order:1", now=NOW)

        body = (await client.get("/api/v1/members/me/ledger?limit=1", headers=auth)).json()

        assert body["total"] == 2
        [entry] = body["items"]
        assert (entry["delta"], entry["balance_after"], entry["kind"], entry["kind_label"]) == (
            -30,
            70,
            "spend",
            "积分使用",
        )
        assert entry["expires_at"] is None

    async def test_bad_paging_and_no_login_are_refused(
        self, client: httpx.AsyncClient, login: Login, db: Database
    ) -> None:
        auth, _ = await patient(login, db)
        assert (await client.get("/api/v1/members/me/ledger?limit=0", headers=auth)).status_code == 422
        assert (await client.get("/api/v1/members/me")).status_code == 401


class TestLevels:
    async def test_the_platform_admin_lists_and_edits_a_level(
        self, client: httpx.AsyncClient, login: Login, db: Database, admin: dict[str, str]
    ) -> None:
        _, account = await patient(login, db, points=800)
        levels = (await client.get("/api/v1/staff/member-levels", headers=admin)).json()["items"]
        gold = next(lv for lv in levels if lv["code"] == "gold")
        body = {k: gold[k] for k in ("name", "booking_priority", "early_booking_minutes", "member_share")}
        body |= {"min_points": 800, "can_cancel_late": True, "discount_percent": 92}

        answer = await client.put("/api/v1/staff/member-levels/gold", json=body, headers=admin)

        assert answer.status_code == 200, answer.text
        assert answer.json()["discount_percent"] == 92 and "挂号费九二折（" in answer.json()["descriptions"][-1]
        async with db.session() as session:
            assert (await service.privileges(session, account)).level_code == "gold"  # 800 points reach it now

    async def test_a_bad_level_is_refused_by_field(self, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        body = {
            "name": "银卡会员",
            "min_points": 0,
            "booking_priority": 2,
            "early_booking_minutes": 30,
            "member_share": True,
            "can_cancel_late": True,
            "discount_percent": 95,
        }
        answer = await client.put("/api/v1/staff/member-levels/gold", json=body, headers=admin)
        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_MEMBER_LEVEL"
        assert set(answer.json()["detail"]) == {"name", "min_points"}
        missing = await client.put("/api/v1/staff/member-levels/platinum", json=body, headers=admin)
        assert missing.status_code == 404 and missing.json()["code"] == "MEMBER_LEVEL_NOT_FOUND"
        out_of_range = await client.put(
            "/api/v1/staff/member-levels/gold", json=body | {"discount_percent": 0}, headers=admin
        )
        assert out_of_range.status_code == 422

    async def test_hospital_staff_are_refused(self, client: httpx.AsyncClient, db: Database) -> None:
        hospital_admin = await make_staff(db, catalog=await make_catalog(db))
        auth = await staff_login(client, hospital_admin.username)
        answer = await client.get("/api/v1/staff/member-levels", headers=auth)
        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"
        assert (await client.get("/api/v1/staff/members/1", headers=auth)).status_code == 403


class TestAccounts:
    async def test_found_by_a_visit_persons_id_number_and_read_with_its_ledger(
        self, client: httpx.AsyncClient, login: Login, db: Database, admin: dict[str, str]
    ) -> None:
        auth, account = await patient(login, db, points=300)
        person = patient_body(name="赵敏")
        assert (await client.post("/api/v1/me/patients", json=person, headers=auth)).status_code == 201

        found = await client.get(f"/api/v1/staff/members?id_number={person['id_number']}", headers=admin)
        assert found.json() == {"account_ids": [account]}
        detail = (await client.get(f"/api/v1/staff/members/{account}", headers=admin)).json()

        assert detail["level"]["code"] == "silver" and detail["points_balance"] == 300
        assert detail["visit_persons"] == ["赵敏（138****5678）"]
        assert detail["ledger"]["total"] == 1 and detail["ledger"]["items"][0]["delta"] == 300
        async with db.session() as session:
            viewed = await session.scalar(select(AuditLog).where(AuditLog.action == "member.view"))
        assert viewed is not None and viewed.subject == f"account:{account}"

    async def test_an_adjustment_needs_a_reason_is_audited_and_never_overdraws(
        self, client: httpx.AsyncClient, login: Login, db: Database, admin: dict[str, str]
    ) -> None:
        auth, account = await patient(login, db, points=100)
        url = f"/api/v1/staff/members/{account}/adjustments"

        made = await client.post(url, json={"delta": 50, "reason": "客服补偿"}, headers=admin)
        no_reason = await client.post(url, json={"delta": 50, "reason": " "}, headers=admin)
        overdrawn = await client.post(url, json={"delta": -500, "reason": "误发更正"}, headers=admin)
        unknown = await client.post(
            "/api/v1/staff/members/999999/adjustments", json={"delta": 5, "reason": "补发"}, headers=admin
        )

        assert made.status_code == 201 and made.json()["balance_after"] == 150 and made.json()["note"] == "客服补偿"
        assert no_reason.status_code == 422 and no_reason.json()["code"] == "INVALID_POINTS_ADJUSTMENT"
        assert overdrawn.status_code == 409 and overdrawn.json()["code"] == "POINTS_INSUFFICIENT"
        assert unknown.status_code == 404 and unknown.json()["code"] == "MEMBER_NOT_FOUND"
        mine = (await client.get("/api/v1/members/me/ledger", headers=auth)).json()["items"]
        assert [(e["kind_label"], e["delta"]) for e in mine] == [("人工调整", 50), ("就诊完成", 100)]
        async with db.session() as session:
            rows = list(await session.scalars(select(AuditLog).where(AuditLog.action == "points.adjust")))
        assert len(rows) == 1 and rows[0].detail["reason"] == "客服补偿"
