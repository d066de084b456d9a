"""Imports every table module, for Alembic and for tools that need the whole metadata."""

from __future__ import annotations


def load_all() -> None:
    import yiyue.accounts.models
    import yiyue.accounts.staff.models
    import yiyue.booking.models
    import yiyue.core.audit
    import yiyue.core.outbox
    import yiyue.hospitals.models
    import yiyue.members.models
    import yiyue.notifications.models
    import yiyue.payments.models
    import yiyue.reviews.models
    import yiyue.scheduling.models  # noqa: F401
