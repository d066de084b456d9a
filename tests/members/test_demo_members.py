"""The demo's gold member (``demo.members.seed_members``): 金卡 through visits in the ledger, and a popular
expert's session released 20 minutes from now that the gold member books in the early window while a
regular patient is told when it opens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from tests.booking.test_booking_api import add_patient, book
from tests.conftest import NOW, asgi_client, fresh_database_url, login_via, make_settings, running_app
from yiyue.core.clock import FrozenClock, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.demo.members import MembersSeedSummary, seed_members
from yiyue.demo.seed import seed_demo
from yiyue.members import service
from yiyue.members.models import PointsEntry

# Seeding the demo takes seconds, so the module seeds one database and its tests share it (and so one app
# and one event loop): the second run of the seed must leave the first one's session as it was.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    directory = tmp_path_factory.mktemp("demo-members")
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
async def seeded(app: object) -> MembersSeedSummary:
    db: Database = app.state.db  # type: ignore[attr-defined]
    async with db.session() as session:
        await seed_demo(session, today=local_today(NOW), days=10)
    async with db.session() as session:
        return await seed_members(session, now=NOW)


async def test_the_demo_account_is_gold_through_its_visits(db: Database, seeded) -> None:  # type: ignore[no-untyped-def]
    assert (seeded.openid, seeded.level, seeded.points_12m) == ("demo-user", "金卡会员", 1000)
    async with db.session() as session:
        entries = list(await session.scalars(select(PointsEntry).order_by(PointsEntry.id)))
        assert [e.kind for e in entries] == ["visit"] * 10
        assert await service.check_all(session) == []


async def test_running_it_again_adds_no_points(db: Database, seeded) -> None:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        again = await seed_members(session, now=NOW)
    assert again.points_12m == 1000 and again.schedule_id != seeded.schedule_id


async def test_the_gold_member_books_the_expert_early_and_others_wait(client: httpx.AsyncClient, seeded) -> None:  # type: ignore[no-untyped-def]
    assert seeded.schedule_id is not None and seeded.doctor == "北京市景和医院 周振华"
    gold = await login_via(client, seeded.openid)
    regular = await login_via(client, "demo-someone-else")

    refused = await book(client, regular, seeded.schedule_id, await add_patient(client, regular))
    booked = await book(client, gold, seeded.schedule_id, await add_patient(client, gold))

    assert refused.status_code == 409 and "金卡会员提前30分钟" in refused.json()["message"]
    assert booked.status_code == 201, booked.text
    assert booked.json()["payment"]["discount_fen"] > 0
