"""The platform keeps the hospitals (医院管理): creating them with their booking rules, changing them,
and closing them for online booking, which refuses new bookings and keeps everything else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import NOW, Login, booking_headers
from tests.factories import (
    FAST_HASHER,
    book_appointment,
    make_catalog,
    make_schedule,
    make_staff,
    patient_body,
    staff_login,
)
from yiyue.accounts.staff import passwords
from yiyue.booking.models import Appointment
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Hospital

HOSPITALS = "/api/v1/staff/hospitals"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
async def root(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    await make_staff(db, role="platform_admin", username="root")
    return await staff_login(client, "root")


def hospital_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "北京市朝阳区和平医院",
        "level": "二级甲等",
        "city": "北京",
        "district": "朝阳区",
        "address": "北京市朝阳区和平街5号",
        "phone": "010-64281234",
        "intro": "区属综合医院",
        "release_days": 14,
        "release_time": "07:30",
        "stop_minutes_before": 30,
        "cancel_minutes_before": 240,
        "max_active_appointments": 3,
        "payment_required": True,
    }
    body.update(overrides)
    return body


async def audit_rows(db: Database, action: str) -> list[AuditLog]:
    async with db.session() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


async def hospital_count(db: Database) -> int:
    async with db.session() as session:
        return len(list(await session.scalars(select(Hospital.id))))


class TestCreating:
    async def test_a_new_hospital_has_its_rules_is_open_and_is_found_by_its_initials(self, client, db, root):
        answer = await client.post(HOSPITALS, json=hospital_body(), headers=root)

        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert created["booking_open"] is True and created["name"] == "北京市朝阳区和平医院"
        assert created["booking_rules"] == {
            "release_days": 14,
            "release_time": "07:30",
            "stop_minutes_before": 30,
            "cancel_minutes_before": 240,
            "max_active_appointments": 3,
            "max_unpaid_holds": 1,
            "release_mode": "fcfs",
            "release_window_seconds": 30,
            "payment_required": True,
            "booking_open": True,
        }
        found = (await client.get("/api/v1/hospitals", params={"q": "bjscyqhpyy"})).json()
        assert [h["id"] for h in found["items"]] == [created["id"]]
        patient_view = (await client.get(f"/api/v1/hospitals/{created['id']}")).json()
        assert patient_view["booking_rules"]["release_time"] == "07:30"

    async def test_the_creation_is_audited_without_the_phone(self, client, db, root):
        created = (await client.post(HOSPITALS, json=hospital_body(), headers=root)).json()

        [row] = await audit_rows(db, "hospital.create")
        assert row.subject == f"hospital:{created['id']}" and row.hospital_id == created["id"] and row.at == NOW
        assert row.detail["after"]["name"] == "北京市朝阳区和平医院" and row.detail["after"]["release_days"] == 14
        assert "phone" not in row.detail["after"] and "64281234" not in str(row.detail)

    async def test_a_second_hospital_of_the_same_name_is_refused(self, client, db, root):
        await client.post(HOSPITALS, json=hospital_body(), headers=root)

        again = await client.post(HOSPITALS, json=hospital_body(city="上海"), headers=root)

        assert again.status_code == 409 and again.json()["code"] == "HOSPITAL_NAME_TAKEN"
        assert await hospital_count(db) == 1

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("release_days", 0),
            ("release_days", 31),
            ("max_active_appointments", 0),
            ("max_active_appointments", 21),
            ("release_time", "25:00"),
            ("stop_minutes_before", -1),
            ("cancel_minutes_before", 10081),
            ("level", "特级"),
            ("name", "院"),
            ("phone", "call us"),
        ],
    )
    async def test_rules_out_of_range_are_refused_and_nothing_is_made(self, client, db, root, field, value):
        answer = await client.post(HOSPITALS, json=hospital_body(**{field: value}), headers=root)

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
        assert [e["loc"][-1] for e in answer.json()["detail"]] == [field]
        assert await hospital_count(db) == 0


class TestEditing:
    async def test_changes_details_and_rules_and_audits_what_changed(self, client, db, root):
        catalog = await make_catalog(db)
        body = hospital_body(name="测试人民医院", level="三级甲等", release_days=10, phone="010-99999999")

        answer = await client.put(f"{HOSPITALS}/{catalog.hospital.id}", json=body, headers=root)

        assert answer.status_code == 200, answer.text
        assert answer.json()["booking_rules"]["release_days"] == 10
        patient_view = (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}")).json()
        assert patient_view["booking_rules"]["release_days"] == 10 and patient_view["city"] == "北京"
        [row] = await audit_rows(db, "hospital.update")
        assert row.hospital_id == catalog.hospital.id
        assert row.detail["before"]["release_days"] == 7 and row.detail["after"]["release_days"] == 10
        assert "phone" in row.detail["changed"] and "99999999" not in str(row.detail)
        assert "name" not in row.detail["changed"]

    async def test_a_new_name_gets_new_initials(self, client, db, root):
        catalog = await make_catalog(db)

        await client.put(f"{HOSPITALS}/{catalog.hospital.id}", json=hospital_body(name="协和医院"), headers=root)

        found = (await client.get("/api/v1/hospitals", params={"q": "xhyy"})).json()
        assert [h["id"] for h in found["items"]] == [catalog.hospital.id]

    async def test_saving_without_a_change_leaves_no_audit_row(self, client, db, root):
        created = (await client.post(HOSPITALS, json=hospital_body(), headers=root)).json()

        again = await client.put(f"{HOSPITALS}/{created['id']}", json=hospital_body(), headers=root)

        assert again.status_code == 200 and await audit_rows(db, "hospital.update") == []

    async def test_taking_another_hospitals_name_is_refused(self, client, db, root):
        await make_catalog(db, name="甲医院")
        second = await make_catalog(db, name="乙医院")

        answer = await client.put(f"{HOSPITALS}/{second.hospital.id}", json=hospital_body(name="甲医院"), headers=root)

        assert answer.status_code == 409 and answer.json()["code"] == "HOSPITAL_NAME_TAKEN"

    async def test_an_unknown_hospital_is_not_found(self, client, root):
        answer = await client.put(f"{HOSPITALS}/999999", json=hospital_body(), headers=root)

        assert answer.status_code == 404 and answer.json()["code"] == "HOSPITAL_NOT_FOUND"


class TestClosingForOnlineBooking:
    async def test_new_bookings_are_refused_while_booked_ones_and_the_catalog_stay(
        self, client, db, root, login: Login
    ):
        catalog = await make_catalog(db)
        schedule = await make_schedule(db, catalog)
        booked = await book_appointment(client, await login(), schedule.id)

        closed = await client.post(f"{HOSPITALS}/{catalog.hospital.id}/close-booking", headers=root)

        assert closed.status_code == 200 and closed.json()["booking_open"] is False
        patient = await login()
        person = await client.post("/api/v1/me/patients", json=patient_body(name="赵六"), headers=patient)
        refused = await client.post(
            "/api/v1/appointments",
            json={"schedule_id": schedule.id, "patient_id": person.json()["id"]},
            headers=booking_headers(patient),
        )
        assert refused.status_code == 409
        assert refused.json()["code"] == "HOSPITAL_CLOSED" and refused.json()["message"] == "该医院暂停网上预约"
        async with db.session() as session:
            assert (await session.get_one(Appointment, booked["id"])).status == "booked"
        assert (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}")).status_code == 200
        assert (await client.get(f"/api/v1/hospitals/{catalog.hospital.id}/departments")).json()["total"] == 1

    async def test_reopening_takes_bookings_again(self, client, db, root, login: Login):
        catalog = await make_catalog(db)
        schedule = await make_schedule(db, catalog)
        await client.post(f"{HOSPITALS}/{catalog.hospital.id}/close-booking", headers=root)

        opened = await client.post(f"{HOSPITALS}/{catalog.hospital.id}/open-booking", headers=root)

        assert opened.json()["booking_open"] is True
        await book_appointment(client, await login(), schedule.id)  # asserts 201

    async def test_each_change_is_audited_once(self, client, db, root):
        catalog = await make_catalog(db)
        close = f"{HOSPITALS}/{catalog.hospital.id}/close-booking"

        await client.post(close, headers=root)
        await client.post(close, headers=root)  # already closed: nothing changes
        await client.post(f"{HOSPITALS}/{catalog.hospital.id}/open-booking", headers=root)

        [closing] = await audit_rows(db, "hospital.close_booking")
        [opening] = await audit_rows(db, "hospital.open_booking")
        assert closing.detail == {
            "changed": ["booking_open"],
            "before": {"booking_open": True},
            "after": {"booking_open": False},
        }
        assert opening.detail["after"] == {"booking_open": True} and opening.hospital_id == catalog.hospital.id

    async def test_the_booking_endpoint_declares_the_refusal(self, client):
        spec = (await client.get("/openapi.json")).json()

        conflict = spec["paths"]["/api/v1/appointments"]["post"]["responses"]["409"]

        assert "HOSPITAL_CLOSED" in conflict["x-error-codes"]


class TestListingAndReading:
    async def test_the_platform_lists_every_hospital_by_name_or_city(self, client, db, root):
        await make_catalog(db, name="北京测试医院")
        await make_catalog(db, name="上海测试医院", city="上海")
        shanghai = await make_catalog(db, name="上海仁济医院", city="上海")
        await client.post(f"{HOSPITALS}/{shanghai.hospital.id}/close-booking", headers=root)

        everything = (await client.get(HOSPITALS, headers=root)).json()
        in_shanghai = (await client.get(HOSPITALS, params={"city": "上海"}, headers=root)).json()
        by_initials = (await client.get(HOSPITALS, params={"q": "shrj"}, headers=root)).json()

        assert everything["total"] == 3
        assert [h["name"] for h in in_shanghai["items"]] == ["上海测试医院", "上海仁济医院"]
        assert [(h["name"], h["booking_open"]) for h in by_initials["items"]] == [("上海仁济医院", False)]

    async def test_hospital_staff_read_their_own_hospital_only(self, client, db):
        ours = await make_catalog(db, name="甲医院")
        theirs = await make_catalog(db, name="乙医院")
        await make_staff(db, role="front_desk", catalog=ours, username="desk.a")
        auth = await staff_login(client, "desk.a")

        own = await client.get(f"{HOSPITALS}/{ours.hospital.id}", headers=auth)
        other = await client.get(f"{HOSPITALS}/{theirs.hospital.id}", headers=auth)
        missing = await client.get(f"{HOSPITALS}/999999", headers=auth)

        assert own.status_code == 200 and own.json()["booking_rules"]["max_active_appointments"] == 5
        assert other.status_code == 404 and other.json() == missing.json()
