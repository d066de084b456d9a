"""今日概览: what the day looks like for the caller's hospital (or, for the platform, every hospital)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from yiyue.admin.console import Console, page
from yiyue.admin.templating import render

router = APIRouter()


@router.get("/")
async def dashboard(console: Annotated[Console, Depends(page("dashboard"))]) -> Response:
    return render(console, "dashboard.html")
