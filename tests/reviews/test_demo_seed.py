"""The demo's reviews: believable reviews on completed past visits of demo patients, made through the
same services as production, so the ratings, the history and the points all agree; never twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from tests.conftest import NOW, asgi_client, fresh_database_url, make_settings, running_app
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core.clock import FrozenClock, local, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database, begin_write
from yiyue.demo.reviews import ReviewSeedSummary, seed_reviews
from yiyue.demo.seed import seed_demo
from yiyue.hospitals.models import Doctor
from yiyue.members import service as members
from yiyue.members.models import PointsEntry
from yiyue.reviews import rules, service
from yiyue.reviews.models import Review

# Seeding the demo and its reviews takes many seconds, so the module seeds one database and its tests share
# it (and so one app and one event loop): they read it, but for a login and a second run that must
# change nothing, which come last.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    directory = tmp_path_factory.mktemp("demo-reviews")
    return make_settings(fresh_database_url(request, directory), directory)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def app(settings: Settings) -> AsyncIterator[object]:
    async with running_app(settings, FrozenClock(NOW)) as application:
        yield application


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as c:
        yield c


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def seeded(app: object, settings: Settings) -> ReviewSeedSummary:
    db: Database = app.state.db  # type: ignore[attr-defined]
    async with db.session() as session:
        await begin_write(session)
        await seed_demo(session, today=local_today(NOW))
    async with db.session() as session:
        return await seed_reviews(session, settings=settings, now=NOW)


async def test_some_doctors_of_every_hospital_have_reviews_that_agree_with_their_ratings(db, seeded):
    assert seeded.created and seeded.reviews >= 60 and seeded.doctors == 20
    async with db.session() as session:
        rated = list(await session.scalars(select(Doctor).where(Doctor.rating_count > 0)))
        assert len({d.hospital_id for d in rated}) == 4 and len(rated) == 20
        for doctor in rated:
            counted = await service.recount(session, doctor_id=doctor.id)
            assert (doctor.rating_count, doctor.rating_star_sum, doctor.rating_tags) == (
                counted.count,
                counted.star_sum,
                counted.tags,
            )
        assert sum(d.rating_count for d in rated) == seeded.reviews


async def test_each_review_is_of_a_completed_visit_within_its_window_and_passes_the_rules(db, seeded):
    async with db.session() as session:
        rows = (await session.execute(select(Review, Appointment).join(Appointment))).tuples().all()
        for review, appointment in rows:
            assert appointment.status == AppointmentStatus.COMPLETED
            assert appointment.account_id == review.account_id and appointment.doctor_id == review.doctor_id
            completed_at = await service.completed_at_of(session, appointment)
            assert completed_at is not None and completed_at < review.created_at <= NOW
            assert review.created_at <= rules.review_until(completed_at)
            assert rules.text_problem(review.text) is None and set(review.tags) <= rules.TAG_NAMES
            assert review.reviewer.endswith("*") and "*" not in review.reviewer[:1]
        moves = Counter(
            (await session.execute(select(AppointmentEvent.from_status, AppointmentEvent.to_status))).tuples()
        )
    assert moves[(None, "booked")] == moves[("booked", "checked_in")] == moves[("checked_in", "completed")]
    stars = Counter(r.stars for r, _ in rows)
    assert stars[5] > stars[3] > 0
    texts = Counter((r.doctor_id, r.text) for r, _ in rows if r.text)
    assert texts and max(texts.values()) == 1  # no doctor has the same words twice
    hours = {local(r.created_at).hour for r, _ in rows}
    assert min(hours) >= 8 and max(hours) <= 22


async def test_the_points_of_each_fact_are_in_the_ledger_and_it_balances(db, seeded):
    async with db.session() as session:
        assert await members.check_all(session) == []
        kinds = Counter(await session.scalars(select(PointsEntry.kind)))
    assert kinds["review"] == seeded.reviews and kinds["visit"] == seeded.completed_visits


async def test_one_visit_is_left_to_review_for_the_first_demo_patient(client, login, seeded):
    auth = await login("demo-review-01")

    mine = (await client.get("/api/v1/me/appointments", params={"status": "completed"}, headers=auth)).json()
    states = [(await client.get(f"/api/v1/appointments/{a['id']}/review", headers=auth)).json() for a in mine["items"]]

    assert [s["reviewable"] for s in states].count(True) == 1


async def test_never_twice(db, settings, seeded):
    async with db.session() as session:
        again = await seed_reviews(session, settings=settings, now=NOW + timedelta(days=1))
        total = await session.scalar(select(func.count()).select_from(Review))
    assert again.created is False and again.reviews == seeded.reviews == total
