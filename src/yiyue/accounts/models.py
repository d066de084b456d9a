"""Patient accounts (WeChat users) and the visit persons (就诊人) they book for."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class Relationship(StrEnum):
    SELF = "self"  # 本人
    PARENT = "parent"  # 父母
    CHILD = "child"  # 子女
    SPOUSE = "spouse"  # 配偶
    OTHER = "other"  # 其他


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime] = mapped_column(UtcDateTime)


class VisitPerson(Base):
    __tablename__ = "visit_persons"
    __table_args__ = (
        # An account holds an ID number once; several accounts may hold it (a family's mother).
        Index(
            "uq_visit_persons_account_id_number",
            "account_id",
            "id_number_index",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(30))
    relationship: Mapped[str] = mapped_column(String(10))
    id_number_encrypted: Mapped[str] = mapped_column(String(200))
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    phone_encrypted: Mapped[str] = mapped_column(String(200))
    # Masked forms are what every screen shows; keeping them avoids decrypting on each read.
    id_number_masked: Mapped[str] = mapped_column(String(18))
    phone_masked: Mapped[str] = mapped_column(String(11))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(2))  # 男 / 女, derived from the ID number
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    realname_status: Mapped[str] = mapped_column(String(12), default="unverified", server_default="unverified")
    """实名认证: ``unverified`` (not checked yet, or the provider could not answer), ``verified`` or ``failed``.
    Only a verified person can be booked for."""
    realname_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RealNameCheck(Base):
    """The provider's answer for one (ID number, name) pair, kept so that the same person added again by
    another family account, or checked again, does not cost another paid query."""

    __tablename__ = "realname_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    lookup: Mapped[str] = mapped_column(String(64), unique=True)
    """A keyed hash of the ID number and the name (never the values themselves)."""
    verified: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(100), default="", server_default="")
    provider: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TokenFamily(Base):
    """One login (a patient's WeChat login or a staff user's API login) and every refresh token rotated
    from it. Revoking the family (logout, or a rotated refresh token used again) ends them all, and the
    access tokens that carry its id."""

    __tablename__ = "token_families"
    __table_args__ = (Index("ix_token_families_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(10))  # patient / staff
    subject_id: Mapped[int] = mapped_column(BigId)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_reason: Mapped[str] = mapped_column(String(40), default="", server_default="")


class RefreshToken(Base):
    """A refresh token issued in a family, by its ``jti``; ``used_at`` once it was exchanged (rotation)."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("token_families.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
