"""Imports every table module, for Alembic and for tools that need the whole metadata."""

from __future__ import annotations


def load_all() -> None:
    import yiyue.accounts.models
    import yiyue.booking.models
    import yiyue.hospitals.models
    import yiyue.scheduling.models  # noqa: F401
