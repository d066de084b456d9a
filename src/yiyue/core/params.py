"""Shared request parameter types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**63 - 1

IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="对象 id")]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional id filter in the query string (``?doctor_id=``)."""
