"""What the benchmarks share: made-up but valid ID numbers and an emptied PostgreSQL database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from yiyue.accounts.idcard import check_digit


def id_number(serial: int) -> str:
    """A valid resident ID number (GB 11643 check digit), different for each serial below 3,000."""
    first17 = f"110105{1950 + serial % 60}0101{serial % 1000:03d}"
    return first17 + check_digit(first17)


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
