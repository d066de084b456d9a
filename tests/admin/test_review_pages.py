"""患者评价 in the console, through the real login form: the hospital's reviews newest first with their
filters, hiding with a required reason (htmx swaps the row; without script the list comes back with a
message) and restoring; other hospitals' reviews are neither shown nor touched."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from tests.factories import Catalog, make_catalog, make_staff
from tests.reviews.support import completed_visits, review_body
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.reviews.models import Review

PAGE = "/admin/reviews"


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def reviews(client, db, clock, login, catalog: Catalog) -> dict[str, int]:
    """Reviews of the catalog's doctors by 张三丰 (5 stars), 李四 (2 stars, text) and 欧阳娜娜 (4 stars, the
    other doctor), in that order; the hospital administrator is ``admin.li``, the front desk ``desk.wang``."""
    admin = await make_staff(db, catalog=catalog, username="admin.li", display_name="李管理")
    await make_staff(db, role="front_desk", catalog=catalog, username="desk.wang")
    mine = await completed_visits(client, db, clock, login, catalog, admin, ["张三丰", "李四"])
    colleague = catalog.other_doctor
    [theirs] = await completed_visits(client, db, clock, login, catalog, admin, ["欧阳娜娜"], doctor=colleague)
    ids: dict[str, int] = {}
    for minute, (key, visit, body) in enumerate(
        (
            ("zhang", mine[0], review_body(5, ["耐心细致", "医术高明"], "讲得很清楚")),
            ("li", mine[1], review_body(2, ["等待时间长"], "排队两个小时，问诊三分钟")),
            ("ouyang", theirs, review_body(4, [])),
        )
    ):
        clock.set(clock.now().replace(minute=10 + minute))
        path = f"/api/v1/appointments/{visit.appointment_id}/review"
        answer = await client.post(path, json=body, headers=visit.auth)
        assert answer.status_code == 201, answer.text
        ids[key] = answer.json()["id"]
    return ids


def rows_of(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="review-(\d+)"', page)]


async def review(db: Database, review_id: int) -> Review:
    async with db.session() as session:
        return await session.get_one(Review, review_id)


async def rating_count(db: Database, doctor_id: int) -> int:
    async with db.session() as session:
        return (await session.get_one(Doctor, doctor_id)).rating_count


class TestTheList:
    async def test_newest_first_with_stars_tags_text_masked_reviewer_doctor_and_date(self, console, reviews):
        page = await (await console("admin.li")).get(PAGE)

        assert page.status_code == 200
        assert rows_of(page.text) == [reviews["ouyang"], reviews["li"], reviews["zhang"]]
        assert "★★★★★" in page.text and "★★☆☆☆" in page.text
        assert "排队两个小时，问诊三分钟" in page.text and "（未填写文字）" in page.text
        assert "张**" in page.text and "欧阳**" in page.text and "张三丰" not in page.text
        assert '<span class="badge green">耐心细致</span>' in page.text
        assert '<span class="badge orange">等待时间长</span>' in page.text
        assert "李明华" in page.text and "2026-03-02" in page.text

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"stars": "2"}, ["li"]),
            ({"hidden": "true"}, []),
            ({"hidden": "false", "stars": "5"}, ["zhang"]),
            ({"stars": "9", "hidden": "perhaps", "doctor_id": "x"}, ["ouyang", "li", "zhang"]),
        ],
    )
    async def test_filters(self, console, reviews, query, expected):
        page = await (await console("admin.li")).get(PAGE, params=query)

        assert page.status_code == 200
        assert rows_of(page.text) == [reviews[k] for k in expected]

    async def test_one_doctor_with_their_rating(self, console, catalog, reviews):
        page = await (await console("admin.li")).get(PAGE, params={"doctor_id": catalog.doctor.id})

        assert rows_of(page.text) == [reviews["li"], reviews["zhang"]]
        assert "平均 <b>3.5</b> 分" in page.text and "公开评价 <b>2</b> 条" in page.text

    async def test_the_doctor_filter_offers_the_doctors_with_reviews(self, console, db, catalog, reviews):
        async with db.session() as session:
            doctor = await session.get_one(Doctor, catalog.doctor.id)
            session.add(
                Doctor(
                    **{
                        c: getattr(doctor, c)
                        for c in ("hospital_id", "department_id", "gender", "title", "specialty", "fee_fen")
                    },
                    name="未评医生",
                    name_initials="wpys",
                )
            )

        page = await (await console("admin.li")).get(PAGE)

        options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.text)
        assert [int(v) for v, _ in options if "医师" in _] == [catalog.doctor.id, catalog.other_doctor.id]
        assert "未评医生" not in page.text

    async def test_another_hospitals_reviews_are_not_shown(self, console, db, reviews):
        elsewhere = await make_catalog(db, name="别家医院")
        await make_staff(db, catalog=elsewhere, username="admin.other")

        page = await (await console("admin.other")).get(PAGE)

        assert page.status_code == 200 and rows_of(page.text) == [] and "还没有患者评价" in page.text

    @pytest.mark.parametrize(("username", "status"), [("admin.li", 200), ("desk.wang", 403)])
    async def test_only_the_hospital_administrator_opens_it(self, console, reviews, username, status):
        assert (await (await console(username)).get(PAGE)).status_code == status


class TestHiding:
    async def test_htmx_hides_with_a_reason_and_swaps_the_row(self, console, db, catalog, reviews):
        admin = await console("admin.li")

        answer = await admin.htmx("POST", f"{PAGE}/{reviews['li']}/hide", {"reason": "与诊疗无关", "next": PAGE})

        assert answer.status_code == 200, answer.text
        assert rows_of(answer.text) == [reviews["li"]] and "<html" not in answer.text
        assert "已隐藏" in answer.text and "与诊疗无关" in answer.text and "李管理" in answer.text
        assert "恢复显示" in answer.text and 'hx-swap-oob="innerHTML"' in answer.text
        assert 'id="rv-summary" hx-swap-oob="true"' in answer.text and "已隐藏 <b>1</b> 条" in answer.text
        hidden = await review(db, reviews["li"])
        assert hidden.hidden_at is not None and hidden.hidden_reason == "与诊疗无关"
        assert await rating_count(db, catalog.doctor.id) == 1

    @pytest.mark.parametrize("reason", ["", "好"])
    async def test_without_a_reason_the_row_says_so_and_nothing_changes(self, console, db, reviews, reason):
        admin = await console("admin.li")

        answer = await admin.htmx("POST", f"{PAGE}/{reviews['li']}/hide", {"reason": reason})

        assert answer.status_code == 422
        assert "隐藏原因" in answer.text and 'class="field invalid"' in answer.text
        assert (await review(db, reviews["li"])).hidden_at is None

    async def test_without_htmx_back_to_the_list_with_its_filters_and_a_message(self, console, db, reviews):
        admin = await console("admin.li")

        answer = await admin.post(
            f"{PAGE}/{reviews['li']}/hide", {"reason": "含有不实内容", "next": f"{PAGE}?stars=2&evil=1"}
        )

        assert answer.status_code == 303
        target = unquote(answer.headers["location"])
        assert target.startswith(f"{PAGE}?stars=2") and "evil" not in target and "已隐藏该评价" in target
        page = await admin.get(answer.headers["location"])
        assert "含有不实内容" in page.text and rows_of(page.text) == [reviews["li"]]

    async def test_without_htmx_and_without_a_reason_the_list_shows_the_error(self, console, reviews):
        admin = await console("admin.li")

        answer = await admin.post(f"{PAGE}/{reviews['li']}/hide", {"reason": ""})

        assert answer.status_code == 422 and "请填写隐藏原因" in answer.text
        assert rows_of(answer.text) == [reviews["ouyang"], reviews["li"], reviews["zhang"]]

    async def test_hidden_rows_show_the_reason_under_the_hidden_filter(self, console, reviews):
        admin = await console("admin.li")
        await admin.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": "患者要求删除"})

        page = await admin.get(PAGE, params={"hidden": "true"})

        assert rows_of(page.text) == [reviews["zhang"]] and "患者要求删除" in page.text
        assert "已隐藏 <b>1</b> 条" in page.text

    async def test_restoring_brings_it_back(self, console, db, catalog, reviews):
        admin = await console("admin.li")
        await admin.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": "误操作测试"})

        answer = await admin.htmx("POST", f"{PAGE}/{reviews['zhang']}/restore", {})

        assert answer.status_code == 200 and "已恢复显示该评价" in answer.text
        assert (await review(db, reviews["zhang"])).hidden_at is None
        assert await rating_count(db, catalog.doctor.id) == 2
        async with db.session() as session:
            actions = list(await session.scalars(select(AuditLog.action).where(AuditLog.action.like("review.%"))))
        assert sorted(actions) == ["review.hide", "review.restore"]

    async def test_twice_is_a_toast(self, console, reviews):
        admin = await console("admin.li")
        await admin.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": "重复内容"})

        again = await admin.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": "重复内容"})

        assert again.status_code == 409 and again.headers["HX-Retarget"] == "#toast" and "已隐藏" in again.text

    async def test_another_hospitals_administrator_cannot_hide_it(self, console, db, reviews):
        elsewhere = await make_catalog(db, name="别家医院")
        await make_staff(db, catalog=elsewhere, username="admin.other")
        other = await console("admin.other")

        htmx = await other.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": "越权尝试"})
        bad_reason = await other.htmx("POST", f"{PAGE}/{reviews['zhang']}/hide", {"reason": ""})
        form = await other.post(f"{PAGE}/{reviews['zhang']}/restore", {})

        assert htmx.status_code == 404 and bad_reason.status_code == 404
        assert form.status_code == 303 and "评价不存在" in unquote(form.headers["location"])
        assert (await review(db, reviews["zhang"])).hidden_at is None

    async def test_without_the_csrf_token_nothing_happens(self, console, client, db, reviews):
        await console("admin.li")

        answer = await client.post(f"{PAGE}/{reviews['zhang']}/hide", data={"reason": "无令牌"})

        assert answer.status_code == 403
        assert (await review(db, reviews["zhang"])).hidden_at is None
