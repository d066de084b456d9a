"""Payments (支付) and refunds (退款) of appointments, each with its own status history. Money in fen."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class PaymentStatus(StrEnum):
    PENDING = "pending"  # an order exists at WeChat Pay, not paid yet
    PAID = "paid"
    CLOSED = "closed"  # never paid; the order was closed
    REFUNDED = "refunded"


class RefundStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    ABNORMAL = "abnormal"  # WeChat could not pay it back (e.g. the card was closed); staff follow up
    CLOSED = "closed"


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    """One refund per payment: every refund here is a full one (cancellation in time, 停诊, late payment)."""
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    refund_id: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    succeeded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MoneyEvent(Base):
    """Every status change of a payment or refund, with the provider's ids, for reconciliation and audit."""

    __tablename__ = "money_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(30))  # api / notify / reconcile / job
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
