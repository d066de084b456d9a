"""Hospital staff and reviews through the staff API: the hospital's list with filters, hiding with a
reason (audited; the review leaves the public list and the rating; its patient sees why) and restoring;
another hospital's review is not found, a role that may not moderate is refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from tests.factories import Catalog, make_catalog, make_staff, staff_login
from tests.reviews.support import Visit, completed_visits, review_body
from yiyue.accounts.staff.models import StaffUser
from yiyue.core.audit import AuditLog
from yiyue.hospitals.models import Doctor
from yiyue.reviews import service

LIST = "/api/v1/staff/reviews"


class Reviewed(dict[str, int]):
    """Review ids by key, and the visit of the one-star review."""

    visit: Visit


@pytest.fixture
async def reviewed(client, db, clock, login, catalog: Catalog, admin: StaffUser) -> Reviewed:
    """Three reviews of the catalog's first doctor (5, 4 and 1 stars) and one of the other (3 stars), by
    review id; the clock is at 13:00 of the visit day."""
    mine = await completed_visits(client, db, clock, login, catalog, admin, ["张三丰", "李四", "王五"])
    colleague = catalog.other_doctor
    [theirs] = await completed_visits(client, db, clock, login, catalog, admin, ["赵六"], doctor=colleague)
    ids = Reviewed()
    for key, visit, body in (
        ("five", mine[0], review_body(5, ["耐心细致", "医术高明"], "非常专业")),
        ("four", mine[1], review_body(4, ["耐心细致"])),
        ("one", mine[2], review_body(1, ["沟通不足"], "问了三句就让走了")),
        ("other", theirs, review_body(3, ["等待时间长"])),
    ):
        path = f"/api/v1/appointments/{visit.appointment_id}/review"
        answer = await client.post(path, json=body, headers=visit.auth)
        assert answer.status_code == 201, answer.text
        ids[key] = answer.json()["id"]
    ids.visit = mine[2]
    return ids


async def as_admin(client: httpx.AsyncClient, user: StaffUser) -> dict[str, str]:
    return await staff_login(client, user.username)


async def hide(
    client: httpx.AsyncClient, auth: dict[str, str], review_id: int, reason: str = "含有不实内容"
) -> httpx.Response:
    return await client.post(f"{LIST}/{review_id}/hide", json={"reason": reason}, headers=auth)


class TestTheList:
    async def test_the_hospitals_reviews_newest_first_with_their_doctor(self, client, admin, catalog, reviewed):
        answer = await client.get(LIST, headers=await as_admin(client, admin))

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["total"] == 4
        assert [r["id"] for r in body["items"]] == sorted((r["id"] for r in body["items"]), reverse=True)
        first = next(r for r in body["items"] if r["id"] == reviewed["five"])
        assert first["doctor"] == {"id": catalog.doctor.id, "name": "李明华", "title": "主任医师"}
        assert first["reviewer"] == "张**" and first["hidden"] is False and first["text"] == "非常专业"

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"stars": 1}, ["one"]),
            ({"hidden": "false", "stars": 5}, ["five"]),
            ({"hidden": "true"}, []),
        ],
    )
    async def test_filters(self, client, admin, reviewed, params, expected):
        answer = await client.get(LIST, params=params, headers=await as_admin(client, admin))
        assert [r["id"] for r in answer.json()["items"]] == [reviewed[k] for k in expected]

    async def test_by_doctor_and_paged(self, client, admin, catalog, reviewed):
        auth = await as_admin(client, admin)
        by_doctor = await client.get(LIST, params={"doctor_id": catalog.other_doctor.id}, headers=auth)
        paged = await client.get(LIST, params={"offset": 1, "limit": 2}, headers=auth)

        assert [r["id"] for r in by_doctor.json()["items"]] == [reviewed["other"]]
        assert paged.json()["total"] == 4 and len(paged.json()["items"]) == 2

    async def test_a_doctor_sees_only_their_own(self, client, db, catalog, reviewed):
        doctor = await make_staff(db, role="doctor", catalog=catalog, doctor=catalog.other_doctor, username="dr.wang")

        answer = await client.get(LIST, headers=await as_admin(client, doctor))

        assert [r["id"] for r in answer.json()["items"]] == [reviewed["other"]]

    async def test_another_hospital_sees_none_and_cannot_name_ours(self, client, db, catalog, reviewed):
        elsewhere = await make_catalog(db, name="别家医院")
        their_admin = await make_staff(db, catalog=elsewhere, username="admin.other")
        auth = await as_admin(client, their_admin)

        own = await client.get(LIST, headers=auth)
        ours = await client.get(LIST, params={"hospital_id": catalog.hospital.id}, headers=auth)

        assert own.json()["total"] == 0
        assert ours.status_code == 404 and ours.json()["code"] == "HOSPITAL_NOT_FOUND"

    async def test_the_platform_reads_every_hospital_or_one(self, client, db, catalog, reviewed):
        platform = await make_staff(db, role="platform_admin", username="platform")
        auth = await as_admin(client, platform)

        every = await client.get(LIST, headers=auth)
        one = await client.get(LIST, params={"hospital_id": catalog.hospital.id + 1}, headers=auth)

        assert every.json()["total"] == 4 and one.json()["total"] == 0

    async def test_the_front_desk_may_not_read_them(self, client, db, catalog, reviewed):
        desk = await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang")

        answer = await client.get(LIST, headers=await as_admin(client, desk))

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"

    async def test_a_patient_token_or_none_is_refused(self, client, login, reviewed):
        assert (await client.get(LIST)).status_code == 401
        assert (await client.get(LIST, headers=await login())).status_code == 403

    @pytest.mark.parametrize("params", [{"stars": 0}, {"stars": 6}, {"hidden": "maybe"}, {"limit": 0}])
    async def test_bad_filters_are_refused(self, client, admin, reviewed, params):
        answer = await client.get(LIST, params=params, headers=await as_admin(client, admin))
        assert answer.status_code == 422


class TestHiding:
    async def test_hidden_leaves_the_public_list_and_the_rating(self, client, admin, catalog, reviewed):
        before = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"]

        answer = await hide(client, await as_admin(client, admin), reviewed["one"], "与就诊无关的内容")

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["hidden"] is True and body["hidden_reason"] == "与就诊无关的内容"
        assert body["hidden_by"] == f"staff:{admin.id}" and body["hidden_at"] is not None
        assert before == {
            "average": 3.3,
            "count": 3,
            "tags": [{"tag": "耐心细致", "count": 2}, {"tag": "医术高明", "count": 1}, {"tag": "沟通不足", "count": 1}],
        }
        after = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"]
        assert after == {
            "average": 4.5,
            "count": 2,
            "tags": [{"tag": "耐心细致", "count": 2}, {"tag": "医术高明", "count": 1}],
        }
        public = (await client.get(f"/api/v1/doctors/{catalog.doctor.id}/reviews")).json()
        assert reviewed["one"] not in [r["id"] for r in public["items"]] and public["total"] == 2
        assert public["rating"]["count"] == 2

    async def test_its_patient_sees_it_hidden_and_why(self, client, admin, reviewed):
        one_visit = reviewed.visit
        await hide(client, await as_admin(client, admin), reviewed["one"], "含有不实内容")

        state = await client.get(f"/api/v1/appointments/{one_visit.appointment_id}/review", headers=one_visit.auth)

        review = state.json()["review"]
        assert review["id"] == reviewed["one"] and review["hidden"] is True
        assert review["hidden_reason"] == "含有不实内容"

    async def test_hiding_is_audited(self, client, db, admin, catalog, reviewed):
        await hide(client, await as_admin(client, admin), reviewed["one"], "含有不实内容")

        async with db.session() as session:
            row = await session.scalar(select(AuditLog).where(AuditLog.action == "review.hide"))
        assert row is not None and row.subject == f"review:{reviewed['one']}"
        assert row.actor == f"staff:{admin.id}" and row.hospital_id == catalog.hospital.id
        assert row.detail["reason"] == "含有不实内容"

    async def test_restoring_brings_it_back_into_the_list_and_the_rating(self, client, db, admin, catalog, reviewed):
        auth = await as_admin(client, admin)
        await hide(client, auth, reviewed["one"])

        answer = await client.post(f"{LIST}/{reviewed['one']}/restore", headers=auth)

        assert answer.status_code == 200, answer.text
        assert answer.json()["hidden"] is False and answer.json()["hidden_reason"] == ""
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"]["average"] == 3.3
        async with db.session() as session:
            doctor = await session.get_one(Doctor, catalog.doctor.id)
            counted = await service.recount(session, doctor_id=catalog.doctor.id)
            audited = await session.scalar(select(AuditLog).where(AuditLog.action == "review.restore"))
        assert (doctor.rating_count, doctor.rating_star_sum, doctor.rating_tags) == (
            counted.count,
            counted.star_sum,
            counted.tags,
        )
        assert audited is not None and audited.detail["hidden_reason"] == "含有不实内容"

    async def test_the_hidden_filter_finds_it(self, client, admin, reviewed):
        auth = await as_admin(client, admin)
        await hide(client, auth, reviewed["one"])

        hidden = await client.get(LIST, params={"hidden": "true"}, headers=auth)

        assert [(r["id"], r["hidden_reason"]) for r in hidden.json()["items"]] == [(reviewed["one"], "含有不实内容")]

    async def test_twice_or_restoring_a_visible_one_conflicts(self, client, admin, reviewed):
        auth = await as_admin(client, admin)
        await hide(client, auth, reviewed["one"])

        again = await hide(client, auth, reviewed["one"])
        visible = await client.post(f"{LIST}/{reviewed['five']}/restore", headers=auth)

        assert again.status_code == 409 and again.json()["code"] == "REVIEW_ALREADY_HIDDEN"
        assert visible.status_code == 409 and visible.json()["code"] == "REVIEW_NOT_HIDDEN"

    @pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": " 好 "}, {"reason": "长" * 101}])
    async def test_needs_a_reason(self, client, admin, catalog, reviewed, body):
        answer = await client.post(f"{LIST}/{reviewed['one']}/hide", json=body, headers=await as_admin(client, admin))

        assert answer.status_code == 422
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"]["count"] == 3

    async def test_another_hospitals_admin_cannot_hide_it(self, client, db, catalog, reviewed):
        elsewhere = await make_catalog(db, name="别家医院")
        their_admin = await make_staff(db, catalog=elsewhere, username="admin.other")
        auth = await as_admin(client, their_admin)

        hidden = await hide(client, auth, reviewed["one"])
        restored = await client.post(f"{LIST}/{reviewed['one']}/restore", headers=auth)

        assert hidden.status_code == 404 and hidden.json()["code"] == "REVIEW_NOT_FOUND"
        assert restored.status_code == 404
        assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"]["count"] == 3

    @pytest.mark.parametrize("role", ["front_desk", "doctor", "platform_admin"])
    async def test_only_a_hospital_administrator_hides(self, client, db, catalog, reviewed, role):
        user = await make_staff(db, role=role, catalog=None if role == "platform_admin" else catalog)

        answer = await hide(client, await as_admin(client, user), reviewed["one"])

        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN_ROLE"

    async def test_an_unknown_review_is_not_found(self, client, admin, reviewed):
        answer = await hide(client, await as_admin(client, admin), 999999)
        assert answer.status_code == 404 and answer.json()["code"] == "REVIEW_NOT_FOUND"
