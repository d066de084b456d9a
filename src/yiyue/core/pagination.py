"""Page parameters and the list envelope every list endpoint answers with."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class PageParams(BaseModel):
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


async def page_params(
    page: Annotated[int, Query(ge=1, le=10_000, description="页码，从 1 开始")] = 1,
    page_size: Annotated[int, Query(ge=1, le=100, description="每页条数")] = 20,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> Page[T]:
        return cls(items=items, total=total, page=params.page, page_size=params.page_size)


async def paginate(session: AsyncSession, query: Select[tuple[T]], *, offset: int, limit: int) -> tuple[list[T], int]:
    """One page of ``query`` (which carries its order) and the total count of all its rows."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(await session.scalars(query.offset(offset).limit(limit)))
    return items, int(total or 0)
