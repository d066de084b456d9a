"""Making notifications and reading them: one in-app message per event, deliveries queued through the outbox.

A notification is keyed by what it is about (``dedupe_key``, unique), so the handler of an event that
runs twice creates nothing the second time. Its deliveries (WeChat subscribe message, SMS) are rows
written in the same transaction, each with an outbox event that sends it after the commit
(``channels.deliver``); a delivery that fails never touches the appointment.

A message that no longer applies (``rules``: a payment reminder once the hold is paid, cancelled or
expired; a visit reminder once the visit is cancelled) is withdrawn by ``withdraw_stale``: its pending
deliveries are cancelled and, for a prompt, ``read_at`` is set, so it no longer counts as unread.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import read_model
from yiyue.booking.models import Appointment, AppointmentEvent
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import NotFound
from yiyue.core.events import DeliveryDue
from yiyue.core.pagination import PageParams
from yiyue.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Notification,
    NotificationKind,
)
from yiyue.notifications.rules import PROMPTS, stale_reason
from yiyue.notifications.templates import AppointmentFacts, render
from yiyue.scheduling.models import PERIOD_LABELS, Period


class NotificationNotFound(NotFound):
    code = "NOTIFICATION_NOT_FOUND"
    message = "消息不存在"


def dedupe_key(kind: NotificationKind | str, appointment_id: int, about: str = "") -> str:
    key = f"{NotificationKind(kind).value}:appointment:{appointment_id}"
    return f"{key}:{about}" if about else key


async def appointment_facts(session: AsyncSession, appointment_id: int) -> tuple[Appointment, AppointmentFacts]:
    """The appointment (read model) and everything a message says about it."""
    a = await read_model.load_one(session, appointment_id)
    facts = AppointmentFacts(
        appointment_id=a.id,
        hospital=a.hospital.name,
        hospital_address=a.hospital.address,
        department=a.department.name,
        location=a.department.location,
        doctor=a.doctor.name,
        doctor_title=a.doctor.title,
        patient_name=a.visit_person.name,
        visit_date=a.visit_date,
        period_label=PERIOD_LABELS[Period(a.schedule.period)],
        starts_at=a.slot.starts_at,
        ends_at=a.slot.ends_at,
        queue_number=a.queue_number,
        fee_fen=a.fee_fen,
        status_reason=await status_reason(session, a.id, a.status),
    )
    return a, facts


async def status_reason(session: AsyncSession, appointment_id: int, status: str) -> str:
    """The reason the latest transition into ``status`` recorded (the 停诊 reason staff gave), "" if none."""
    reason = await session.scalar(
        select(AppointmentEvent.reason)
        .where(AppointmentEvent.appointment_id == appointment_id, AppointmentEvent.to_status == status)
        .order_by(AppointmentEvent.id.desc())
        .limit(1)
    )
    return reason or ""


async def _stale(session: AsyncSession, kind: str, appointment_id: int, now: datetime) -> str | None:
    row = (
        await session.execute(
            select(Appointment.status, Appointment.pay_deadline)
            .where(Appointment.id == appointment_id)
            .with_for_update(read=True)  # PostgreSQL: a payment confirming it waits, or is seen (SQLite: one writer)
        )
    ).one_or_none()
    if row is None:
        return None  # reported as not found by whoever loads it
    return stale_reason(kind, row.status, pay_deadline=row.pay_deadline, now=now)


async def notify(
    session: AsyncSession,
    *,
    kind: NotificationKind | str,
    appointment_id: int,
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    about: str = "",
) -> Notification | None:
    """Tells the appointment's account about it: an in-app message, plus a WeChat subscribe message (for
    kinds that have a template) and an SMS to the visit person, each sent after commit by its own job.

    Once per kind and appointment (and ``about``, for a kind that can happen to an appointment more than
    once, e.g. each change of doctor): when the notification exists already this returns None and writes
    nothing. Nor is a prompt made that no longer applies (``rules``: a payment reminder for a hold paid
    meanwhile, a visit reminder for a cancelled visit); that is checked again once this unit of work
    writes, so a payment committed meanwhile is seen. Any other message is kept as history even when
    the appointment moved on (预约成功 of a booking cancelled since); its deliveries are not sent then
    (``channels.deliver``). ``extra`` carries what the appointment does not know (see
    ``templates.render``).
    """
    kind = NotificationKind(kind)
    key = dedupe_key(kind, appointment_id, about)
    if await session.scalar(select(Notification.id).where(Notification.dedupe_key == key)) is not None:
        return None
    appointment, facts = await appointment_facts(session, appointment_id)
    prompt = kind.value in PROMPTS
    if prompt and stale_reason(kind, appointment.status, pay_deadline=appointment.pay_deadline, now=now):
        return None
    message = render(kind, facts, extra)

    await begin_write(session)
    if prompt and await _stale(session, kind, appointment_id, now) is not None:
        return None
    notification = Notification(
        account_id=appointment.account_id,
        kind=kind.value,
        title=message.title,
        body=message.body,
        appointment_id=appointment.id,
        created_at=now,
        read_at=None,
        dedupe_key=key,
    )
    try:
        async with session.begin_nested():
            session.add(notification)
    except IntegrityError:  # made meanwhile by another run of the same event (PostgreSQL; SQLite queues writers)
        return None

    contents: list[tuple[DeliveryChannel, dict[str, Any]]] = []
    if message.wechat is not None:
        wechat = message.wechat
        contents.append(
            (DeliveryChannel.WECHAT_SUBSCRIBE, {"purpose": wechat.purpose, "page": wechat.page, "data": wechat.data})
        )
    if message.sms is not None:
        contents.append((DeliveryChannel.SMS, {"text": message.sms}))
    deliveries = [
        Delivery(
            notification_id=notification.id,
            channel=channel.value,
            status=DeliveryStatus.PENDING.value,
            content=content,
            attempts=0,
            last_error="",
            created_at=now,
            updated_at=now,
            sent_at=None,
        )
        for channel, content in contents
    ]
    session.add_all(deliveries)
    await session.flush()
    for delivery in deliveries:
        outbox.add(session, DeliveryDue(delivery_id=delivery.id), now=now)
    return notification


async def withdraw_stale(session: AsyncSession, *, appointment_id: int, now: datetime) -> int:
    """Withdraws the appointment's messages that no longer apply to it (``rules``): each one's deliveries
    not yet sent become ``cancelled`` with the reason, and a prompt still unread is marked read now.
    Safe to run twice; writes nothing when nothing is stale. Returns how many messages were withdrawn."""
    if not await _stale_notifications(session, appointment_id, now):
        return 0
    await begin_write(session)
    stale = await _stale_notifications(session, appointment_id, now)  # again, under the writer's turn
    for notification_id, kind, reason in stale:
        if kind in PROMPTS:
            await session.execute(
                update(Notification)
                .where(Notification.id == notification_id, Notification.read_at.is_(None))
                .values(read_at=now)
                .execution_options(synchronize_session=False)
            )
        await session.execute(
            update(Delivery)
            .where(Delivery.notification_id == notification_id, Delivery.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.CANCELLED.value, last_error=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(stale)


async def _stale_notifications(session: AsyncSession, appointment_id: int, now: datetime) -> list[tuple[int, str, str]]:
    """(id, kind, reason) of the appointment's messages that no longer apply and still have something to
    withdraw: an unread prompt, or a delivery not yet sent."""
    appointment = (
        await session.execute(
            select(Appointment.status, Appointment.pay_deadline).where(Appointment.id == appointment_id)
        )
    ).one_or_none()
    if appointment is None:
        return []
    pending = (
        select(Delivery.id)
        .where(Delivery.notification_id == Notification.id, Delivery.status == DeliveryStatus.PENDING.value)
        .exists()
    )
    rows = await session.execute(
        select(Notification.id, Notification.kind, Notification.read_at.is_(None), pending)
        .where(Notification.appointment_id == appointment_id)
        .order_by(Notification.id)
    )
    found: list[tuple[int, str, str]] = []
    for notification_id, kind, unread, has_pending in rows.tuples():
        reason = stale_reason(kind, appointment.status, pay_deadline=appointment.pay_deadline, now=now)
        if reason is not None and (has_pending or (unread and kind in PROMPTS)):
            found.append((notification_id, kind, reason))
    return found


async def list_for(session: AsyncSession, account_id: int, page: PageParams) -> tuple[list[Notification], int, int]:
    """The account's notifications, newest first; with how many there are and how many are unread."""
    items = list(
        await session.scalars(
            select(Notification)
            .where(Notification.account_id == account_id)
            .order_by(Notification.id.desc())
            .offset(page.offset)
            .limit(page.page_size)
        )
    )
    counts = (
        await session.execute(
            select(func.count(), func.count().filter(Notification.read_at.is_(None))).where(
                Notification.account_id == account_id
            )
        )
    ).one()
    return items, int(counts[0]), int(counts[1])


async def mark_read(session: AsyncSession, account_id: int, notification_id: int, now: datetime) -> Notification:
    """Marks one of the caller's notifications read (once: reading it again keeps the first time).
    Anyone else's is reported as not found."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.account_id != account_id:
        raise NotificationNotFound()
    if notification.read_at is None:
        await begin_write(session)
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.refresh(notification)
    return notification


async def mark_all_read(session: AsyncSession, account_id: int, now: datetime) -> int:
    """Marks every unread notification of the caller read; returns how many changed."""
    await begin_write(session)
    result = await session.execute(
        update(Notification)
        .where(Notification.account_id == account_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
