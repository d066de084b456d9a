"""The audit log: who (``actor``) did what (``action``) to which record (``subject``), and when.

Every read or write of patient data by staff leaves a row, written in the same unit of work as the
access itself: an access that rolls back leaves none, one that commits always has its row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject_at", "subject", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))
    """Who: ``staff:12``."""
    action: Mapped[str] = mapped_column(String(64))
    """What, as ``noun.verb``: ``appointment.check_in``, ``appointment.list``."""
    subject: Mapped[str] = mapped_column(String(64))
    """Which record: ``appointment:5``, or ``hospital:3`` for a list of its appointments."""
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def record(
    session: AsyncSession, *, actor: str, action: str, subject: str, at: datetime, detail: dict[str, Any] | None = None
) -> AuditLog:
    """Adds an audit row to the unit of work (the caller has declared its write with ``begin_write``)."""
    row = AuditLog(actor=actor, action=action, subject=subject, at=at, detail=detail or {})
    session.add(row)
    return row
