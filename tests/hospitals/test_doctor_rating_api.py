"""A doctor's rating (评分) in the catalog: the average to one decimal (halves up), the count and the tags
most chosen first, read from the doctor row wherever doctors are shown, without a query per doctor."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from tests.conftest import NOW
from tests.factories import Catalog, make_catalog, make_schedule
from yiyue.core.db import Database
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.schemas import RatingOut, average_stars
from yiyue.scheduling.models import Period


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    catalog = await make_catalog(db)
    async with db.session() as session:
        await session.execute(
            update(Doctor)
            .where(Doctor.id == catalog.doctor.id)
            .values(rating_count=4, rating_star_sum=17, rating_tags={"解释清楚": 1, "耐心细致": 3, "沟通不足": 1})
        )
    return catalog


RATED = {
    "average": 4.3,
    "count": 4,
    "tags": [{"tag": "耐心细致", "count": 3}, {"tag": "沟通不足", "count": 1}, {"tag": "解释清楚", "count": 1}],
}
UNRATED = {"average": None, "count": 0, "tags": []}


@pytest.mark.parametrize(
    ("star_sum", "count", "average"),
    [(17, 4, 4.3), (9, 2, 4.5), (13, 3, 4.3), (14, 3, 4.7), (5, 1, 5.0), (1, 1, 1.0), (0, 0, None), (49, 10, 4.9)],
)
def test_the_average_rounds_halves_up_to_one_decimal(star_sum, count, average):
    assert average_stars(star_sum, count) == average


def test_tags_never_chosen_are_left_out():
    assert RatingOut.of(count=1, star_sum=5, tags={"耐心细致": 1, "沟通不足": 0}).tags[0].tag == "耐心细致"
    assert len(RatingOut.of(count=1, star_sum=5, tags={"耐心细致": 1, "沟通不足": 0}).tags) == 1


async def test_the_doctor_detail_carries_it(client, catalog):
    assert (await client.get(f"/api/v1/doctors/{catalog.doctor.id}")).json()["rating"] == RATED
    assert (await client.get(f"/api/v1/doctors/{catalog.other_doctor.id}")).json()["rating"] == UNRATED


async def test_the_doctor_list_carries_it(client, catalog):
    listed = (await client.get("/api/v1/doctors", params={"department_id": catalog.clinic.id})).json()["items"]

    assert {d["id"]: d["rating"] for d in listed} == {catalog.doctor.id: RATED, catalog.other_doctor.id: UNRATED}


async def test_the_departments_doctors_of_a_day_carry_it_in_one_query_for_all(client, db, catalog):
    await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON)
    await make_schedule(db, catalog, days_ahead=0, period=Period.AFTERNOON, doctor=catalog.other_doctor)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        answer = await client.get(f"/api/v1/departments/{catalog.clinic.id}/doctors", params={"date": str(NOW.date())})
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    ratings = {d["id"]: d["rating"] for d in answer.json()["items"]}
    assert ratings == {catalog.doctor.id: RATED, catalog.other_doctor.id: UNRATED}
    assert sum("FROM doctors" in s for s in statements) == 1
