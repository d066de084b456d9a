"""Membership (会员): levels with their privileges (会员权益), each account's standing, and the points
ledger (积分流水) its balance is derived from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class MemberLevel(Base):
    """One level (普通 / 银卡 / 金卡 / 钻石), configured by the platform administrator (the seed's
    ``member_privilege`` table)."""

    __tablename__ = "member_levels"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    min_points: Mapped[int] = mapped_column(Integer, unique=True)
    """Points earned in the last 12 months that reach this level; the lowest level has 0."""
    booking_priority: Mapped[int] = mapped_column(Integer, default=0)
    """Order on the waitlist (and weight in a release draw): higher goes first."""
    early_booking_minutes: Mapped[int] = mapped_column(Integer, default=0)
    """Books this many minutes before the public release (提前放号)."""
    member_share: Mapped[bool] = mapped_column(Boolean, default=False)
    """May book the slots a hospital keeps for members (会员预留号源)."""
    can_cancel_late: Mapped[bool] = mapped_column(Boolean, default=False)
    """May cancel (with refund) after the hospital's cancel deadline, until the session starts."""
    discount_percent: Mapped[int] = mapped_column(Integer, default=100)
    """Share of the registration fee paid, in percent: 95 is 九五折; 100 is no discount."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MemberAccount(Base):
    """An account's standing: the balance and level, written beside each ledger entry in one unit of work."""

    __tablename__ = "member_accounts"
    __table_args__ = (CheckConstraint("points_balance >= 0", name="balance"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    level_id: Mapped[int] = mapped_column(ForeignKey("member_levels.id"))
    points_balance: Mapped[int] = mapped_column(Integer, default=0)
    points_12m: Mapped[int] = mapped_column(Integer, default=0)
    """Points earned in the 12 months before ``updated_at`` (what the level follows)."""
    level_since: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PointsEntry(Base):
    """One line of the append-only points ledger. ``(kind, cause)`` is unique: the same fact (an
    appointment completed, a review written) can never be credited twice."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("kind", "cause", name="uq_points_ledger_cause"),
        CheckConstraint("delta <> 0", name="delta"),
        CheckConstraint("balance_after >= 0", name="balance"),
        Index("ix_points_ledger_account", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    delta: Mapped[int] = mapped_column(Integer)
    """Points earned (> 0) or spent / expired / taken back (< 0)."""
    balance_after: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    """``visit`` / ``review`` / ``first_booking`` / ``adjust`` / ``spend`` / ``expire``."""
    cause: Mapped[str] = mapped_column(String(80))
    """What the entry is for, e.g. ``appointment:42``; unique with ``kind``."""
    note: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(64), default="")
    """Who made a manual adjustment (``staff:3``); "" for the rules."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """Earned points lapse then (积分有效期), oldest first."""
