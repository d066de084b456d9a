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
    hospital_id: Mapped[int | None] = mapped_column(BigId, index=True)
    """The hospital whose data it was (None: platform-wide), so each hospital reads its own log."""
    ip: Mapped[str] = mapped_column(String(45), default="", server_default="")
    """Where the request came from (staff console or API)."""


CLIENT_IP = "audit_client_ip"
"""``session.info`` key: the request's client address, set by the staff dependencies, read by ``record``."""


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject: str,
    at: datetime,
    detail: dict[str, Any] | None = None,
    hospital_id: int | None = None,
) -> AuditLog:
    """Adds an audit row to the unit of work (the caller has declared its write with ``begin_write``).
    The client address comes from the unit of work (``CLIENT_IP``), so use cases need not carry it."""
    row = AuditLog(
        actor=actor,
        action=action,
        subject=subject,
        at=at,
        detail=detail or {},
        hospital_id=hospital_id,
        ip=str(session.info.get(CLIENT_IP, "")),
    )
    session.add(row)
    return row
