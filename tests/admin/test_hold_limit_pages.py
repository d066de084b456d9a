"""The console's side of the holding limits (占号限制): the hospital form's 放号与防黄牛 settings (Chinese
labels, bounds beside the field, audited) and the 预约限制 page showing a hold-abuse ban's kind and lifting it."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from tests.admin.conftest import ConsoleClient, ConsoleLogin
from tests.admin.test_hospital_pages import FORM, error_beside
from tests.booking.test_booking_api import add_patient, book
from tests.conftest import login_via
from tests.factories import Catalog, id_number, make_catalog, make_schedule, make_staff
from yiyue.booking.models import BookingBan
from yiyue.core.audit import AuditLog
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital

SETTINGS = {
    "release_mode": "window",
    "release_window_seconds": "45",
    "max_unpaid_holds": "2",
    "hold_abuse_threshold": "4",
    "hold_abuse_window_days": "14",
    "hold_abuse_ban_days": "10",
}


@pytest.fixture
async def paid(db: Database) -> Catalog:
    return await make_catalog(db, name="收费医院", payment_required=True)


@pytest.fixture
async def platform(db: Database, console: ConsoleLogin) -> ConsoleClient:
    await make_staff(db, role="platform_admin", username="root")
    return await console("root")


class TestHospitalForm:
    async def test_shows_the_six_settings_in_chinese(self, platform, paid):
        page = await platform.get(f"/admin/hospitals/{paid.hospital.id}")

        assert page.status_code == 200
        for label in ("放号与防黄牛", "放号方式", "放号窗口时长（秒）", "每账号未支付预约上限", "占号限制次数"):
            assert label in page.text
        assert "占号统计期（天）" in page.text and "占号限制时长（天）" in page.text
        assert '<option value="fcfs" selected' in page.text or 'value="fcfs" selected' in page.text

    async def test_saves_them_audited(self, db, platform, paid):
        answer = await platform.post(f"/admin/hospitals/{paid.hospital.id}", FORM | SETTINGS)

        assert answer.status_code == 303, answer.text
        async with db.session() as session:
            hospital = await session.get_one(Hospital, paid.hospital.id)
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "hospital.update"))
        assert (hospital.release_mode, hospital.release_window_seconds, hospital.max_unpaid_holds) == ("window", 45, 2)
        assert (hospital.hold_abuse_threshold, hospital.hold_abuse_window_days, hospital.hold_abuse_ban_days) == (
            4,
            14,
            10,
        )
        assert row is not None
        assert row.detail["before"]["max_unpaid_holds"] == 1 and row.detail["after"]["max_unpaid_holds"] == 2
        assert row.detail["after"]["release_mode"] == "window"

    @pytest.mark.parametrize(
        ("field", "value", "error"),
        [
            ("max_unpaid_holds", "0", "每账号未支付预约上限不能小于1"),
            ("max_unpaid_holds", "9", "每账号未支付预约上限不能大于5"),
            ("release_window_seconds", "5", "放号窗口时长（秒）不能小于10"),
            ("hold_abuse_threshold", "1", "占号限制次数不能小于2"),
            ("hold_abuse_window_days", "100", "占号统计期（天）不能大于90"),
            ("hold_abuse_ban_days", "0", "占号限制时长（天）不能小于1"),
        ],
    )
    async def test_refuses_out_of_bounds_beside_the_field(self, db, platform, paid, field, value, error):
        answer = await platform.post(f"/admin/hospitals/{paid.hospital.id}", FORM | SETTINGS | {field: value})

        assert answer.status_code == 422
        assert error_beside(answer.text, field) == error
        async with db.session() as session:
            assert (await session.get_one(Hospital, paid.hospital.id)).max_unpaid_holds == 1

    async def test_an_unknown_release_mode_is_refused(self, platform, paid):
        answer = await platform.post(f"/admin/hospitals/{paid.hospital.id}", FORM | SETTINGS | {"release_mode": "x"})

        assert answer.status_code == 422 and "release_mode" in answer.text


class TestHoldAbuseBans:
    @pytest.fixture
    async def ban(self, client, db, paid: Catalog, clock: FrozenClock) -> int:
        """An account that held and let go three unpaid holds at 收费医院: banned for hold abuse."""
        schedule = await make_schedule(db, paid, capacity=5)
        auth = await login_via(client, f"o-{uuid.uuid4().hex[:12]}")
        patient = await add_patient(client, auth, name="黄牛甲", id_number=id_number())
        for _ in range(3):
            hold = await book(client, auth, schedule.id, patient)
            assert hold.status_code == 201, hold.text
            await client.post(f"/api/v1/appointments/{hold.json()['id']}/cancel", headers=auth)
        await make_staff(db, catalog=paid, username="admin.paid")
        async with db.session() as session:
            found = await session.scalar(select(BookingBan))
        assert found is not None and found.kind == "hold_abuse"
        return found.id

    async def test_the_page_shows_the_kind(self, console, ban):
        page = await (await console("admin.paid")).get("/admin/bans")

        assert page.status_code == 200 and f'id="ban-{ban}"' in page.text
        assert "预约限制" in page.text and "反复占号" in page.text and "30天内3次取消或超时未支付" in page.text
        assert "黄*" in page.text and "黄牛甲" not in page.text

    async def test_lifting_works_for_a_hold_abuse_ban(self, console, db, ban):
        admin = await console("admin.paid")

        answer = await admin.post(f"/admin/bans/{ban}/lift", {"reason": "患者说明情况，核实后解除"})

        assert answer.status_code == 303 and unquote(answer.headers["location"]) == "/admin/bans?ok=已提前解除限制"
        async with db.session() as session:
            lifted = await session.get_one(BookingBan, ban)
        assert lifted.lifted_at is not None and lifted.lift_reason == "患者说明情况，核实后解除"
