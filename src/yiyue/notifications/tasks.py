"""Jobs of the notifications domain, wired to outbox topics and schedules by ``yiyue.jobs``.

Event handlers have the job system's shape, ``handler(ctx, session, payload, now)``: they run inside the
job's unit of work and are safe to run twice (a notification exists once per kind and appointment; a
delivery is sent at most once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.core.clock import local
from yiyue.notifications.channels import deliver
from yiyue.notifications.models import Notification, NotificationKind
from yiyue.notifications.service import notify

EventHandler = Callable[[Any, AsyncSession, dict[str, Any], datetime], Awaitable[None]]

REMIND_AT = time(18, 0)
"""Visit reminders go out from this hospital-local time on the evening before the visit."""
REMINDER_BATCH = 500


def on_appointment_event(kind: NotificationKind | str) -> EventHandler:
    """A handler for an appointment event (payload ``{"appointment_id", ...}``) that notifies ``kind``;
    the payload's other keys (``refund``, ``reason``, ``minutes``, ...) reach the template as ``extra``,
    over the rules the settings hold (the payment hold, the no-show ban)."""
    notification_kind = NotificationKind(kind)

    async def handler(ctx: Any, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        extra = _rules_from_settings(notification_kind, getattr(ctx, "settings", None))
        extra.update((key, value) for key, value in payload.items() if key != "appointment_id")
        await notify(
            session, kind=notification_kind, appointment_id=int(payload["appointment_id"]), now=now, extra=extra
        )

    handler.__name__ = handler.__qualname__ = f"notify_{notification_kind.value}"
    return handler


def _rules_from_settings(kind: NotificationKind, settings: object) -> dict[str, Any]:
    """The numbers a message quotes from the settings, so it says what the rules really are."""
    wanted = {
        NotificationKind.PAYMENT_REMINDER: {"minutes": "payment_hold_minutes"},
        NotificationKind.NO_SHOW: {
            "threshold": "no_show_threshold",
            "window_days": "no_show_window_days",
            "ban_days": "no_show_ban_days",
        },
    }.get(kind, {})
    found = {key: getattr(settings, name, None) for key, name in wanted.items()}
    return {key: value for key, value in found.items() if isinstance(value, int)}


async def deliver_notification(ctx: Any, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    """Handler of ``notification.deliver`` (payload ``{"delivery_id"}``): sends one delivery."""
    await deliver(session, ctx, int(payload["delivery_id"]), now)


async def send_visit_reminders(
    session: AsyncSession, *, now: datetime, remind_at: time = REMIND_AT, limit: int = REMINDER_BATCH
) -> int:
    """From ``remind_at`` (hospital local time) on, reminds every ``booked`` appointment whose visit is
    tomorrow (就诊提醒). Each is reminded once whatever how often this runs; up to ``limit`` per run, the
    next run takes the rest. Returns how many reminders were made."""
    local_now = local(now)
    if local_now.time() < remind_at:
        return 0
    tomorrow = local_now.date() + timedelta(days=1)
    already = (
        select(Notification.id)
        .where(
            and_(
                Notification.appointment_id == Appointment.id,
                Notification.kind == NotificationKind.VISIT_REMINDER.value,
            )
        )
        .exists()
    )
    due = list(
        await session.scalars(
            select(Appointment.id)
            .where(Appointment.status == AppointmentStatus.BOOKED.value, Appointment.visit_date == tomorrow, ~already)
            .order_by(Appointment.id)
            .limit(limit)
        )
    )
    made = 0
    for appointment_id in due:
        if await notify(session, kind=NotificationKind.VISIT_REMINDER, appointment_id=appointment_id, now=now):
            made += 1
    return made
