"""In-app notifications (站内消息) and their deliveries over the outside channels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yiyue.core.db import Base, BigId, UtcDateTime


class NotificationKind(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"  # 预约成功
    PAYMENT_REMINDER = "payment_reminder"  # 待支付提醒
    PAYMENT_EXPIRED = "payment_expired"  # 未支付已取消
    VISIT_REMINDER = "visit_reminder"  # 就诊提醒
    CANCELLED = "cancelled"  # 已取消预约
    REFUNDED = "refunded"  # 退款成功
    SUSPENDED = "suspended"  # 停诊通知
    NO_SHOW = "no_show"  # 爽约记录
    DOCTOR_CHANGED = "doctor_changed"  # 替诊通知: another doctor sees the patient
    CHECKED_IN = "checked_in"  # 已签到，请候诊
    COMPLETED = "completed"  # 就诊完成，感谢就诊
    WAITLIST_OFFERED = "waitlist_offered"  # 候补成功：号源已为您保留，请确认
    WAITLIST_ENDED = "waitlist_ended"  # 候补已结束（超时未确认、停诊、停止挂号…）
    RELEASE_WON = "release_won"  # 抽签放号：已中签（预约已生成）
    RELEASE_LOST = "release_lost"  # 抽签放号：未中签


WAITLIST_KINDS = frozenset({NotificationKind.WAITLIST_OFFERED, NotificationKind.WAITLIST_ENDED})
"""Kinds about a waitlist entry (``Notification.waitlist_entry_id``) rather than an appointment."""


class DeliveryChannel(StrEnum):
    WECHAT_SUBSCRIBE = "wechat_subscribe"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """Handed to the channel; a delivery found in this state by a later run had an unknown outcome."""
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Nothing to send through: no subscription left (43101), or no phone number on file."""
    CANCELLED = "cancelled"
    """Not sent because its notification no longer applied (``rules.stale_reason``): the hold was paid,
    the visit cancelled... ``last_error`` says why."""


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_account_id_id", "account_id", "id"),
        Index("ix_notifications_account_id_read_at", "account_id", "read_at"),
        Index("ix_notifications_appointment_id", "appointment_id"),
        Index("ix_notifications_waitlist_entry_id", "waitlist_entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    waitlist_entry_id: Mapped[int | None] = mapped_column(ForeignKey("waitlist_entries.id"))
    """For the waitlist's messages (``WAITLIST_KINDS``): the entry (候补) they are about."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the patient read it, or when it was withdrawn: a prompt that no longer applies (a payment
    reminder once the hold is paid, cancelled or expired; see ``rules``) is marked read then."""
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    """What this notification is about, e.g. ``booking_confirmed:appointment:42``: a handler that runs
    twice finds it and creates nothing the second time."""


class Delivery(Base):
    """One notification sent over one outside channel; the in-app message itself needs no delivery."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("notification_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    """What to send, rendered when the notification was made: ``{"template_id", "page", "data"}`` for
    WeChat, ``{"text"}`` for SMS. The recipient (openid, phone) is looked up when sending, so no
    personal data is copied here."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
