"""My notifications (我的消息) through HTTP: list, unread count, read one, read all, only my own."""

from __future__ import annotations

import httpx
import pytest

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, Login
from tests.factories import make_catalog, make_schedule
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.notifications import service

URL = "/api/v1/me/notifications"


async def notify(db: Database, kind: str, appointment_id: int) -> int:
    async with db.session() as session:
        made = await service.notify(session, kind=kind, appointment_id=appointment_id, now=NOW)
    assert made is not None
    return made.id


@pytest.fixture
async def schedule_id(db: Database) -> int:
    catalog = await make_catalog(db)
    return (await make_schedule(db, catalog, days_ahead=1)).id


async def booked(client: httpx.AsyncClient, auth: dict[str, str], schedule_id: int) -> int:
    answer = await book(client, auth, schedule_id, await add_patient(client, auth))
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def listing(client: httpx.AsyncClient, auth: dict[str, str], query: str = "") -> dict:  # type: ignore[type-arg]
    answer = await client.get(URL + query, headers=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


class TestList:
    async def test_a_patient_who_booked_has_nothing_until_notified(self, client, login: Login, schedule_id):
        auth = await login()
        await booked(client, auth, schedule_id)

        assert await listing(client, auth) == {"items": [], "total": 0, "unread": 0, "page": 1, "page_size": 20}

    async def test_lists_newest_first_with_the_unread_count(self, client, db, login: Login, schedule_id):
        auth = await login()
        appointment = await booked(client, auth, schedule_id)
        first = await notify(db, "booking_confirmed", appointment)
        second = await notify(db, "visit_reminder", appointment)

        body = await listing(client, auth)

        assert body["total"] == 2 and body["unread"] == 2
        assert [n["id"] for n in body["items"]] == [second, first]
        item = body["items"][1]
        assert set(item) == {
            "id",
            "kind",
            "title",
            "body",
            "appointment_id",
            "waitlist_entry_id",
            "created_at",
            "read_at",
        }
        assert item["kind"] == "booking_confirmed" and item["title"] == "预约成功"
        assert item["appointment_id"] == appointment and item["read_at"] is None
        assert item["created_at"].startswith("2026-03-02T01:00:00")

    async def test_pages(self, client, db, login: Login, schedule_id):
        auth = await login()
        appointment = await booked(client, auth, schedule_id)
        for kind in ("booking_confirmed", "no_show", "visit_reminder"):
            await notify(db, kind, appointment)

        body = await listing(client, auth, "?page=2&page_size=2")

        assert body["total"] == 3 and body["unread"] == 3 and body["page"] == 2 and body["page_size"] == 2
        assert [n["kind"] for n in body["items"]] == ["booking_confirmed"]

    @pytest.mark.parametrize("query", ["?page=0", "?page_size=101", "?page=x"])
    async def test_bad_paging_is_a_validation_error(self, client, login: Login, query):
        answer = await client.get(URL + query, headers=await login())
        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"

    async def test_requires_login(self, client):
        for answer in (
            await client.get(URL),
            await client.post(f"{URL}/1/read"),
            await client.post(f"{URL}/read-all"),
        ):
            assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHENTICATED"


class TestRead:
    async def test_marks_one_read_once(self, client, db, clock: FrozenClock, login: Login, schedule_id):
        auth = await login()
        appointment = await booked(client, auth, schedule_id)
        read = await notify(db, "booking_confirmed", appointment)
        unread = await notify(db, "visit_reminder", appointment)

        answer = await client.post(f"{URL}/{read}/read", headers=auth)
        clock.set(NOW.replace(hour=10))
        again = await client.post(f"{URL}/{read}/read", headers=auth)

        assert answer.status_code == 200 and answer.json()["id"] == read
        assert answer.json()["read_at"].startswith("2026-03-02T01:00:00")
        assert again.json()["read_at"] == answer.json()["read_at"]
        body = await listing(client, auth)
        assert body["unread"] == 1 and body["total"] == 2
        assert {n["id"]: n["read_at"] is None for n in body["items"]} == {read: False, unread: True}

    async def test_read_all_marks_every_unread_one(self, client, db, login: Login, schedule_id):
        auth = await login()
        appointment = await booked(client, auth, schedule_id)
        first = await notify(db, "booking_confirmed", appointment)
        await notify(db, "visit_reminder", appointment)
        await notify(db, "no_show", appointment)
        await client.post(f"{URL}/{first}/read", headers=auth)

        answer = await client.post(f"{URL}/read-all", headers=auth)
        again = await client.post(f"{URL}/read-all", headers=auth)

        assert answer.status_code == 200 and answer.json() == {"updated": 2}
        assert again.json() == {"updated": 0}
        assert (await listing(client, auth))["unread"] == 0

    async def test_another_accounts_notification_is_not_found(self, client, db, login: Login, schedule_id):
        owner, intruder = await login(), await login()
        mine = await notify(db, "booking_confirmed", await booked(client, owner, schedule_id))
        await booked(client, intruder, schedule_id)

        foreign = await client.post(f"{URL}/{mine}/read", headers=intruder)
        unknown = await client.post(f"{URL}/999999/read", headers=intruder)
        everything = await client.post(f"{URL}/read-all", headers=intruder)

        assert foreign.status_code == 404 and foreign.json()["code"] == "NOTIFICATION_NOT_FOUND"
        assert unknown.status_code == 404 and unknown.json()["code"] == "NOTIFICATION_NOT_FOUND"
        assert everything.json() == {"updated": 0}
        assert (await listing(client, intruder))["total"] == 0
        assert (await listing(client, owner))["unread"] == 1

    @pytest.mark.parametrize("notification_id", ["0", "x", str(2**70)])
    async def test_a_malformed_id_is_a_validation_error(self, client, login: Login, notification_id):
        answer = await client.post(f"{URL}/{notification_id}/read", headers=await login())
        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
