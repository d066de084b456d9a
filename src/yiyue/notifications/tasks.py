"""Jobs of the notifications domain: a message for each appointment fact (and the withdrawal of those it
made stale), the waitlist's offers and ends, sending deliveries, and the visit reminders of the evening
before.

Handlers run inside the job's unit of work and are safe to run twice (a notification exists once per
kind and appointment; a delivery is sent at most once; withdrawing twice changes nothing). A fact's
message is sent on every channel by the fact's own job once its writes commit (decision 0019); a
``DeliveryDue`` job sends one delivery: a retry of a channel that failed, or one made outside a job.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking.models import Appointment, AppointmentStatus, WaitlistEntry
from yiyue.core.clock import local
from yiyue.core.config import Settings
from yiyue.core.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentCheckedIn,
    AppointmentCompleted,
    AppointmentDoctorChanged,
    AppointmentExpired,
    AppointmentFact,
    AppointmentNoShow,
    AppointmentPaymentDue,
    AppointmentSuspended,
    DeliveryDue,
    RefundSucceeded,
    ReleaseEntryDecided,
    WaitlistEnded,
    WaitlistOffered,
)
from yiyue.core.tasks import EventHandler, Tasks
from yiyue.notifications.channels import DeliveryContext, deliver
from yiyue.notifications.events import DeliveriesDue
from yiyue.notifications.models import Notification, NotificationKind
from yiyue.notifications.rules import tells_ending
from yiyue.notifications.service import (
    notify,
    notify_release,
    notify_waitlist,
    one_job_for_deliveries,
    send_in_this_job,
    withdraw_stale,
    withdraw_waitlist,
)

tasks = Tasks("notifications")


NotificationsContext = DeliveryContext
"""What the notifications jobs need of the job context: the database, settings and WeChat."""

REMIND_AT = time(18, 0)
"""Visit reminders go out from this hospital-local time on the evening before the visit."""
REMINDER_BATCH = 500


def notify_of(kind: NotificationKind | str) -> EventHandler[AppointmentFact]:
    """A handler for an appointment fact that notifies ``kind``; the event's other fields (``refund``,
    ...) reach the template as ``extra``, over the rules the settings hold (the payment hold, the
    no-show ban). First it withdraws the appointment's messages the fact made stale (paid, cancelled or
    expired: the payment reminder; cancelled, 停诊 or checked in: the visit reminder)."""
    notification_kind = NotificationKind(kind)

    async def handler(ctx: NotificationsContext, session: AsyncSession, event: AppointmentFact, now: datetime) -> None:
        await withdraw_stale(session, appointment_id=event.appointment_id, now=now)
        extra = _rules_from_settings(notification_kind, ctx.settings)
        extra.update(event.model_dump(exclude={"appointment_id"}))
        await notify(session, kind=notification_kind, appointment_id=event.appointment_id, now=now, extra=extra)

    handler.__name__ = handler.__qualname__ = f"notify_{notification_kind.value}"
    return handler


NOTIFY_ON: dict[type[AppointmentFact], NotificationKind] = {
    AppointmentBooked: NotificationKind.BOOKING_CONFIRMED,
    AppointmentPaymentDue: NotificationKind.PAYMENT_REMINDER,
    AppointmentExpired: NotificationKind.PAYMENT_EXPIRED,
    AppointmentCancelled: NotificationKind.CANCELLED,
    AppointmentSuspended: NotificationKind.SUSPENDED,
    RefundSucceeded: NotificationKind.REFUNDED,
    AppointmentNoShow: NotificationKind.NO_SHOW,
    AppointmentCheckedIn: NotificationKind.CHECKED_IN,
    AppointmentCompleted: NotificationKind.COMPLETED,
}
"""Which message each appointment fact sends to its patient. The thank-you of ``completed`` invites a
review when its ``extra`` carries a ``review_link`` (``templates.render``): the place for a reviews
feature to pass one."""
for _event_type, _kind in NOTIFY_ON.items():
    tasks.on(_event_type)(notify_of(_kind))


def _rules_from_settings(kind: NotificationKind, settings: Settings) -> dict[str, Any]:
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


@tasks.on(AppointmentDoctorChanged)
async def notify_doctor_changed(
    ctx: NotificationsContext, session: AsyncSession, event: AppointmentDoctorChanged, now: datetime
) -> None:
    """替诊: the patient is told who sees them now; each change of doctor once (a session may change twice)."""
    await notify(
        session,
        kind=NotificationKind.DOCTOR_CHANGED,
        appointment_id=event.appointment_id,
        now=now,
        extra=event.model_dump(mode="json", exclude={"appointment_id"}),
        about=f"{event.to_doctor_id}@{event.changed_at:%Y%m%dT%H%M%S%f}",
    )


@tasks.on(WaitlistOffered)
async def notify_waitlist_offered(
    ctx: NotificationsContext, session: AsyncSession, event: WaitlistOffered, now: datetime
) -> None:
    """候补成功: the patient is told at once, in the mini-program and by a subscribe message."""
    await notify_waitlist(session, kind=NotificationKind.WAITLIST_OFFERED, entry_id=event.entry_id, now=now)


@tasks.on(WaitlistEnded)
async def notify_waitlist_ended(
    ctx: NotificationsContext, session: AsyncSession, event: WaitlistEnded, now: datetime
) -> None:
    """An entry ended: its offer message (if any) is withdrawn; the patient is told why, unless they left
    the line themselves."""
    await withdraw_waitlist(session, entry_id=event.entry_id, now=now)
    entry = await session.get(WaitlistEntry, event.entry_id)
    if entry is not None and tells_ending(entry.end_reason):
        await notify_waitlist(session, kind=NotificationKind.WAITLIST_ENDED, entry_id=event.entry_id, now=now)


@tasks.on(ReleaseEntryDecided)
async def notify_release_result(
    ctx: NotificationsContext, session: AsyncSession, event: ReleaseEntryDecided, now: datetime
) -> None:
    """抽签放号: each entrant is told the draw's result (已中签 / 未中签), in-app and by a subscribe message."""
    await notify_release(session, entry_id=event.entry_id, now=now)


@tasks.on(DeliveryDue)
async def deliver_notification(
    ctx: NotificationsContext, session: AsyncSession, event: DeliveryDue, now: datetime
) -> None:
    """Sends one delivery (subscribe message, SMS): a retry, or one made outside an event's job."""
    await deliver(session, ctx, event.delivery_id, now)


@tasks.on(DeliveriesDue)
async def deliver_notifications(
    ctx: NotificationsContext, session: AsyncSession, event: DeliveriesDue, now: datetime
) -> None:
    """Sends a batch of deliveries (the evening's visit reminders) in this one job."""
    send_in_this_job(session, list(event.delivery_ids))


@tasks.every(name="visit_reminders")
async def _visit_reminders(ctx: NotificationsContext, now: datetime) -> int:
    async with ctx.db.session() as session:
        return await send_visit_reminders(session, now=now, remind_at=ctx.settings.visit_reminder_time)


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
    with one_job_for_deliveries(session, now=now):  # one job sends the run's reminders, not one per channel each
        for appointment_id in due:
            if await notify(session, kind=NotificationKind.VISIT_REMINDER, appointment_id=appointment_id, now=now):
                made += 1
    return made
