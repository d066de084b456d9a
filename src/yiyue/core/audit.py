"""The audit log: who (``actor``) did what (``action``) to which record (``subject``), and when.

Every read or write of patient data by staff leaves a row, written in the same unit of work as the
access itself: an access that rolls back leaves none, one that commits always has its row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Index, String, func, select
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


def _conditions(
    *,
    hospital_id: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if hospital_id is not None:
        conditions.append(AuditLog.hospital_id == hospital_id)
    if since is not None:
        conditions.append(AuditLog.at >= since)
    if until is not None:
        conditions.append(AuditLog.at < until)
    if actor:
        conditions.append(AuditLog.actor == actor)
    if action:
        conditions.append(AuditLog.action == action)
    if subject:
        # "appointment:12" is that record; "appointment" every record of the kind.
        conditions.append(
            AuditLog.subject == subject
            if ":" in subject
            else AuditLog.subject.startswith(subject + ":", autoescape=True)
        )
    return conditions


async def search(
    session: AsyncSession,
    *,
    hospital_id: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditLog], int]:
    """Rows of the log, newest first, and how many match: one hospital's (``hospital_id``) or, with
    None, every row. ``since`` is inclusive, ``until`` exclusive. Who may read which hospital's log is
    the caller's to check."""
    conditions = _conditions(
        hospital_id=hospital_id, since=since, until=until, actor=actor, action=action, subject=subject
    )
    total = await session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
    rows = await session.scalars(
        select(AuditLog).where(*conditions).order_by(AuditLog.at.desc(), AuditLog.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total or 0)


async def actions(session: AsyncSession, *, hospital_id: int | None) -> list[str]:
    """The actions the log of a hospital (None: every hospital) holds, for a filter's choices."""
    return list(
        await session.scalars(
            select(AuditLog.action).where(*_conditions(hospital_id=hospital_id)).distinct().order_by(AuditLog.action)
        )
    )
