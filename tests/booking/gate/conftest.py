"""The gate's counts, in memory and (with ``YIYUE_TEST_REDIS_URL``) in Redis, for tests that run on both.

Redis tests use a private database of the same server (``YIYUE_TEST_GATE_REDIS_DB``, default 7), and a key
prefix of their own, so they never touch what the job queue's tests keep in the URL's database; only the
test that simulates a flushed Redis flushes that private database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from yiyue.booking.gate import MemorySlotCounts, SlotCounts

REDIS_URL = os.environ.get("YIYUE_TEST_REDIS_URL", "")
GATE_DB = int(os.environ.get("YIYUE_TEST_GATE_REDIS_DB", "7"))
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="set YIYUE_TEST_REDIS_URL to run the gate's counts in Redis")


def gate_redis_url() -> str:
    """The test server's URL with the gate's private database."""
    base, _, last = REDIS_URL.rstrip("/").rpartition("/")
    root = base if last.isdigit() else REDIS_URL.rstrip("/")
    return f"{root}/{GATE_DB}"


class FakeMonotonic:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeCounts = Callable[..., SlotCounts]


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
async def make_counts(request: pytest.FixtureRequest) -> AsyncIterator[MakeCounts]:
    """Builds counts of the parametrized kind; several built in one test share one store (in Redis, like
    processes of one fleet; in memory there is one process, so they share one object)."""
    made: list[SlotCounts] = []
    prefix = f"yiyue-test:{uuid.uuid4().hex[:10]}"
    memory: dict[float, MemorySlotCounts] = {}

    def make(*, lapse_seconds: float = 60.0) -> SlotCounts:
        if request.param == "memory":
            return memory.setdefault(lapse_seconds, MemorySlotCounts(lapse_seconds=lapse_seconds))
        from yiyue.booking.gate.redis_counts import RedisSlotCounts

        # A generous timeout: on a busy test machine a starved event loop must not look like Redis failing.
        counts = RedisSlotCounts(
            gate_redis_url(), lapse_seconds=lapse_seconds, local_seconds=0.0, timeout_seconds=5.0, prefix=prefix
        )
        made.append(counts)
        return counts

    yield make
    for counts in made:
        await counts.aclose()  # type: ignore[attr-defined]
