"""A real server on a free port and the two handles its tests need: a database handle of the test's own
event loop, and one HTTP client with room for every parallel request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import NOW
from tests.live import serving
from yiyue.app import create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings, clock=FrozenClock(NOW))) as url:
        yield url


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Database]:
    """A database handle of the test's own event loop (the server has its own)."""
    database = Database(settings.database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def http(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=60) as client:
        yield client
