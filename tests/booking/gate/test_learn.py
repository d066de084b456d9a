"""A crowd at a count not known yet (the first wave of a rush, or the first after the count lapsed): one
booking reads the free slots, the others wait for that read and are decided against it, instead of each
queueing for the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from yiyue.booking.errors import SoldOut
from yiyue.booking.gate import BookingGate, Ticket
from yiyue.core.db import Database

S = 7


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    yield database
    await database.dispose()


async def test_a_crowd_reads_the_count_once_and_only_the_free_slots_go_on(db: Database) -> None:
    gate = BookingGate.in_memory()
    reads = 0
    all_in = asyncio.Event()
    admitted = 0

    async def free_slots() -> tuple[int, frozenset[int] | None]:
        nonlocal reads
        reads += 1
        await all_in.wait()  # the whole crowd arrives while the first read is on its way
        return 3, None

    async def booking(account: int) -> str:
        nonlocal admitted
        async with db.session() as session:
            ticket = await gate.admit(session, S, account)
            admitted += 1
            if admitted == 20:
                all_in.set()
            assert ticket.unknown
            if not gate.crowded(ticket):
                await all_in.wait()  # on its way to the database meanwhile
                await asyncio.sleep(0.05)
                return "alone"
            try:
                await gate.learn(ticket, free_slots)
            except SoldOut:
                return "sold out"
            await all_in.wait()  # a token is held until its booking's unit of work ends
            await asyncio.sleep(0.05)  # (on its way to the database) while the rest of the crowd is decided
            return "token" if ticket.counted else "no token"

    answers = await asyncio.gather(*(booking(account) for account in range(20)))

    assert reads == 1
    assert answers.count("alone") == 1  # the first one, before there was a crowd: straight on, no read
    assert answers.count("token") == 3 and answers.count("sold out") == 16


async def test_a_booking_alone_at_an_unknown_count_is_not_crowded(db: Database) -> None:
    gate = BookingGate.in_memory()
    async with db.session() as first:
        ticket = await gate.admit(first, S, 1)
        assert ticket.unknown and not gate.crowded(ticket)
        async with db.session() as second:
            other: Ticket = await gate.admit(second, S, 2)
            assert gate.crowded(other)
    async with db.session() as third:  # the others' units of work ended: alone again
        assert not gate.crowded(await gate.admit(third, S, 3))


async def test_a_schedule_not_to_count_learns_nothing_and_refuses_nobody(db: Database) -> None:
    gate = BookingGate.in_memory()

    async def not_open() -> None:
        return None

    async with db.session() as session, db.session() as other:
        await gate.admit(other, S, 1)
        ticket = await gate.admit(session, S, 2)
        await gate.learn(ticket, not_open)  # unknown or 停诊: the booking's own refusal says why

        assert ticket.counted  # it goes to the database with a token, as any booking at an unknown count
        assert await gate.counts.is_sold_out_for(S, 3) is False


async def test_a_failed_read_lets_the_crowd_go_to_the_database(db: Database) -> None:
    gate = BookingGate.in_memory()

    async def failing() -> tuple[int, frozenset[int] | None]:
        raise RuntimeError("database gone")

    async with db.session() as session, db.session() as other:
        await gate.admit(other, S, 1)
        ticket = await gate.admit(session, S, 2)
        with pytest.raises(RuntimeError):
            await gate.learn(ticket, failing)
        waiter = await gate.admit(other, S, 3)
        with pytest.raises(RuntimeError):  # no read left hanging: this one reads (and fails) on its own
            await asyncio.wait_for(gate.learn(waiter, failing), timeout=1)
