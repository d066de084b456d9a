"""Reviewing a doctor through the patient API: a completed visit of one's own, once, within 30 days;
the doctor's rating and the points change with it; bad input and other people's visits are refused."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import NOW
from tests.factories import staff_login
from tests.reviews.support import Visit, book_visits, complete, completed_visits, relogin, review_body
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.members.models import PointsEntry
from yiyue.reviews import service
from yiyue.reviews.models import Review


@pytest.fixture
async def visits(client, db, clock, login, catalog, admin) -> list[Visit]:
    """张三丰, 李四 and 欧阳娜娜 saw the catalog's first doctor this afternoon; completed at 13:00."""
    return await completed_visits(client, db, clock, login, catalog, admin, ["张三丰", "李四", "欧阳娜娜"])


def review_path(visit: Visit) -> str:
    return f"/api/v1/appointments/{visit.appointment_id}/review"


async def review_points(db: Database) -> list[PointsEntry]:
    async with db.session() as session:
        return list(await session.scalars(select(PointsEntry).where(PointsEntry.kind == "review")))


async def review_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Review)) or 0)


async def doctor_rating(client: httpx.AsyncClient, doctor_id: int) -> dict:
    answer = await client.get(f"/api/v1/doctors/{doctor_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["rating"]


class TestTags:
    async def test_lists_the_tags_praise_first(self, client):
        answer = await client.get("/api/v1/review-tags")

        assert answer.status_code == 200
        tags = answer.json()["tags"]
        assert {"tag": "耐心细致", "positive": True} in tags and {"tag": "等待时间长", "positive": False} in tags
        assert [t["positive"] for t in tags] == sorted((t["positive"] for t in tags), reverse=True)


class TestWriting:
    async def test_a_completed_visit_is_reviewed_and_the_doctor_rated(self, client, db, catalog, visits):
        zhang = visits[0]

        answer = await client.post(
            review_path(zhang), json=review_body(5, ["耐心细致", "解释清楚"], " 李医生很耐心 "), headers=zhang.auth
        )

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["stars"] == 5 and body["tags"] == ["耐心细致", "解释清楚"] and body["text"] == "李医生很耐心"
        assert body["hidden"] is False and body["hidden_reason"] is None
        assert await doctor_rating(client, catalog.doctor.id) == {
            "average": 5.0,
            "count": 1,
            "tags": [{"tag": "耐心细致", "count": 1}, {"tag": "解释清楚", "count": 1}],
        }

    async def test_the_rating_averages_to_one_decimal_and_orders_tags_by_count(self, client, catalog, visits):
        for visit, stars, tags in zip(
            visits, [5, 4, 4], [["耐心细致"], ["耐心细致", "等待时间长"], ["等待时间长", "耐心细致"]], strict=True
        ):
            answer = await client.post(review_path(visit), json=review_body(stars, tags), headers=visit.auth)
            assert answer.status_code == 201, answer.text

        assert await doctor_rating(client, catalog.doctor.id) == {
            "average": 4.3,
            "count": 3,
            "tags": [{"tag": "耐心细致", "count": 3}, {"tag": "等待时间长", "count": 2}],
        }
        listed = await client.get("/api/v1/doctors", params={"department_id": catalog.clinic.id})
        by_id = {d["id"]: d for d in listed.json()["items"]}
        assert by_id[catalog.doctor.id]["rating"]["count"] == 3
        assert by_id[catalog.other_doctor.id]["rating"] == {"average": None, "count": 0, "tags": []}
        on_day = await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors", params={"date": str(NOW.date())})
        assert on_day.json()["items"][0]["rating"]["average"] == 4.3

    async def test_tags_and_text_are_optional(self, client, visits):
        answer = await client.post(review_path(visits[0]), json={"stars": 3}, headers=visits[0].auth)

        assert answer.status_code == 201, answer.text
        assert answer.json()["tags"] == [] and answer.json()["text"] == ""

    async def test_the_review_earns_its_points_in_the_same_unit_of_work(self, client, db, visits):
        zhang = visits[0]

        await client.post(review_path(zhang), json=review_body(), headers=zhang.auth)

        [entry] = await review_points(db)
        assert entry.cause == f"review:{zhang.appointment_id}" and entry.delta > 0

    async def test_the_kept_totals_equal_the_rows(self, client, db, catalog, visits):
        for visit, stars in zip(visits, [2, 5, 3], strict=True):
            await client.post(review_path(visit), json=review_body(stars, ["沟通不足"]), headers=visit.auth)

        async with db.session() as session:
            doctor = await session.get_one(Doctor, catalog.doctor.id)
            counted = await service.recount(session, doctor_id=catalog.doctor.id)
        assert (doctor.rating_count, doctor.rating_star_sum, doctor.rating_tags) == (
            counted.count,
            counted.star_sum,
            counted.tags,
        )
        assert counted.count == 3 and counted.star_sum == 10 and counted.tags == {"沟通不足": 3}


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"stars": 0}, "VALIDATION_ERROR"),
            ({"stars": 6}, "VALIDATION_ERROR"),
            ({"tags": ["耐心细致"]}, "VALIDATION_ERROR"),
            ({"stars": "五"}, "VALIDATION_ERROR"),
            ({"stars": 5, "tags": ["长得帅"]}, "UNKNOWN_REVIEW_TAG"),
            ({"stars": 5, "text": "好" * 301}, "VALIDATION_ERROR"),
            ({"stars": 5, "text": "有事打我13812345678"}, "REVIEW_TEXT_REJECTED"),
            ({"stars": 5, "text": "身份证110105199001011234"}, "REVIEW_TEXT_REJECTED"),
            ({"stars": 1, "text": "庸医！"}, "REVIEW_TEXT_REJECTED"),
            ({"stars": 5, "extra": 1}, "VALIDATION_ERROR"),
        ],
    )
    async def test_is_refused_and_nothing_is_written(self, client, db, catalog, visits, body, code):
        answer = await client.post(review_path(visits[0]), json=body, headers=visits[0].auth)

        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == code
        assert await review_count(db) == 0 and await review_points(db) == []
        assert (await doctor_rating(client, catalog.doctor.id))["count"] == 0

    async def test_a_phone_number_says_why(self, client, visits):
        answer = await client.post(
            review_path(visits[0]), json=review_body(text="加我 138 1234 5678"), headers=visits[0].auth
        )

        assert answer.json()["message"] == "评价内容不能包含手机号或电话号码"
        assert answer.json()["detail"] == {"reason": "phone"}

    async def test_without_logging_in(self, client, visits):
        assert (await client.post(review_path(visits[0]), json=review_body())).status_code == 401
        assert (await client.get(review_path(visits[0]))).status_code == 401


class TestWhoAndWhen:
    async def test_another_accounts_appointment_is_not_found(self, client, login, visits):
        stranger = await login()

        written = await client.post(review_path(visits[0]), json=review_body(), headers=stranger)
        read = await client.get(review_path(visits[0]), headers=stranger)

        assert written.status_code == 404 and written.json()["code"] == "APPOINTMENT_NOT_FOUND"
        assert read.status_code == 404 and read.json()["code"] == "APPOINTMENT_NOT_FOUND"

    async def test_an_appointment_that_does_not_exist_is_not_found(self, client, login):
        answer = await client.post("/api/v1/appointments/999999/review", json=review_body(), headers=await login())
        assert answer.status_code == 404

    async def test_a_visit_not_completed_cannot_be_reviewed(self, client, db, clock, login, catalog, admin):
        [booked] = await book_visits(client, db, clock, login, catalog, ["王五"])

        state = await client.get(review_path(booked), headers=booked.auth)
        answer = await client.post(review_path(booked), json=review_body(), headers=booked.auth)

        assert state.json() == {
            "reviewable": False,
            "review_until": None,
            "reason": "完成就诊后才能评价",
            "review": None,
        }
        assert answer.status_code == 409 and answer.json()["code"] == "NOT_REVIEWABLE"

    async def test_a_checked_in_visit_is_not_completed_yet(self, client, db, clock, login, catalog, admin):
        [visit] = await book_visits(client, db, clock, login, catalog, ["王五"])
        clock.set(NOW.replace(hour=13))
        staff = await staff_login(client, admin.username)
        checked = await client.post(f"/api/v1/staff/appointments/{visit.appointment_id}/check-in", headers=staff)
        assert checked.status_code == 200, checked.text

        answer = await client.post(review_path(visit), json=review_body(), headers=await relogin(login, visit))

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_REVIEWABLE"

    async def test_a_cancelled_visit_cannot_be_reviewed(self, client, db, clock, login, catalog):
        [visit] = await book_visits(client, db, clock, login, catalog, ["王五"])
        cancelled = await client.post(
            f"/api/v1/appointments/{visit.appointment_id}/cancel", json={}, headers=visit.auth
        )
        assert cancelled.status_code == 200, cancelled.text

        answer = await client.post(review_path(visit), json=review_body(), headers=visit.auth)

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_REVIEWABLE"

    async def test_once_only_and_the_points_once(self, client, db, catalog, visits):
        zhang = visits[0]
        first = await client.post(review_path(zhang), json=review_body(5), headers=zhang.auth)

        again = await client.post(review_path(zhang), json=review_body(1, ["沟通不足"]), headers=zhang.auth)

        assert first.status_code == 201
        assert again.status_code == 409 and again.json()["code"] == "REVIEW_EXISTS"
        assert len(await review_points(db)) == 1 and await review_count(db) == 1
        assert (await doctor_rating(client, catalog.doctor.id))["average"] == 5.0
        state = (await client.get(review_path(zhang), headers=zhang.auth)).json()
        assert state["reviewable"] is False and state["reason"] == "该次就诊已评价过"
        assert state["review"]["stars"] == 5

    async def test_open_for_thirty_days_from_completion(self, client, clock, login, visits):
        zhang, li = visits[0], visits[1]
        completed_at = NOW.replace(hour=13)

        state = (await client.get(review_path(zhang), headers=zhang.auth)).json()
        assert state["reviewable"] is True and state["reason"] is None and state["review"] is None

        clock.set(completed_at + timedelta(days=30))
        on_the_last_moment = await client.post(
            review_path(zhang), json=review_body(), headers=await relogin(login, zhang)
        )
        assert on_the_last_moment.status_code == 201, on_the_last_moment.text

        clock.set(completed_at + timedelta(days=30, minutes=1))
        too_late = await client.post(review_path(li), json=review_body(), headers=await relogin(login, li))
        assert too_late.status_code == 409 and too_late.json()["code"] == "REVIEW_WINDOW_CLOSED"
        late_state = (await client.get(review_path(li), headers=li.auth)).json()
        assert late_state["reviewable"] is False and "30天" in late_state["reason"]

    async def test_the_window_counts_from_completion_not_from_booking(self, client, db, clock, login, catalog, admin):
        [visit] = await book_visits(client, db, clock, login, catalog, ["王五"])
        await complete(client, clock, login, admin, [visit])

        state = (await client.get(review_path(visit), headers=visit.auth)).json()

        assert state["review_until"].startswith("2026-04-01T05:00:00")  # 13:00 Beijing time + 30 days, in UTC


class TestTheDoctorsList:
    async def test_newest_first_with_the_reviewer_masked(self, client, clock, catalog, visits):
        for minutes, visit in enumerate(visits):
            clock.set(NOW.replace(hour=14, minute=minutes))
            answer = await client.post(
                review_path(visit), json=review_body(4, text=f"第{minutes}条"), headers=visit.auth
            )
            assert answer.status_code == 201, answer.text

        answer = await client.get(f"/api/v1/doctors/{catalog.doctor.id}/reviews")

        body = answer.json()
        assert answer.status_code == 200 and body["total"] == 3
        assert [r["reviewer"] for r in body["items"]] == ["欧阳**", "李*", "张**"]
        assert [r["text"] for r in body["items"]] == ["第2条", "第1条", "第0条"]
        assert set(body["items"][0]) == {"id", "stars", "tags", "text", "reviewer", "created_at"}
        assert body["rating"] == {"average": 4.0, "count": 3, "tags": [{"tag": "耐心细致", "count": 3}]}
        assert "欧阳娜娜" not in answer.text and "张三丰" not in answer.text

    async def test_pages_by_offset_and_limit(self, client, catalog, visits):
        for visit in visits:
            await client.post(review_path(visit), json=review_body(), headers=visit.auth)

        page = (
            await client.get(f"/api/v1/doctors/{catalog.doctor.id}/reviews", params={"offset": 1, "limit": 1})
        ).json()

        assert page["total"] == 3 and len(page["items"]) == 1 and (page["offset"], page["limit"]) == (1, 1)

    @pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 51}, {"offset": -1}])
    async def test_bad_paging_is_refused(self, client, catalog, params):
        answer = await client.get(f"/api/v1/doctors/{catalog.doctor.id}/reviews", params=params)
        assert answer.status_code == 422

    async def test_a_doctor_with_no_reviews_has_an_empty_list(self, client, catalog):
        body = (await client.get(f"/api/v1/doctors/{catalog.other_doctor.id}/reviews")).json()
        assert body == {
            "items": [],
            "total": 0,
            "offset": 0,
            "limit": 10,
            "rating": {"average": None, "count": 0, "tags": []},
        }

    async def test_an_unknown_doctor_is_not_found(self, client):
        answer = await client.get("/api/v1/doctors/999999/reviews")
        assert answer.status_code == 404 and answer.json()["code"] == "DOCTOR_NOT_FOUND"

    async def test_only_that_doctors_reviews(self, client, db, clock, login, catalog, admin, visits):
        [other] = await completed_visits(
            client, db, clock, login, catalog, admin, ["赵六"], doctor=catalog.other_doctor
        )
        await client.post(review_path(other), json=review_body(2, ["等待时间长"]), headers=other.auth)
        await client.post(review_path(visits[0]), json=review_body(5), headers=visits[0].auth)

        mine = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/reviews")).json()
        theirs = (await client.get(f"/api/v1/doctors/{catalog.other_doctor.id}/reviews")).json()

        assert mine["total"] == 1 and mine["items"][0]["stars"] == 5
        assert theirs["total"] == 1 and theirs["rating"]["average"] == 2.0
