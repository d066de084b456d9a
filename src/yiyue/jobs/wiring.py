"""Which handler answers which outbox event, and which jobs run on a clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.booking import service as booking
from yiyue.jobs.context import JobContext
from yiyue.jobs.system import JobSystem
from yiyue.notifications import tasks as notifications
from yiyue.payments import service as payments
from yiyue.scheduling import service as scheduling

Handler = Callable[[JobContext, AsyncSession, dict[str, Any], datetime], Awaitable[None]]


def wire(jobs: JobSystem) -> JobSystem:
    jobs.on("appointment.booked", notifications.on_appointment_event("booking_confirmed"))
    jobs.on("appointment.payment_due", notifications.on_appointment_event("payment_reminder"))
    jobs.on("appointment.hold_ends", _hold_ends)
    jobs.on("appointment.expired", _then_notify(_close_order, "payment_expired"))
    jobs.on("appointment.cancelled", _then_notify(_refund_if_paid("患者取消预约"), "cancelled"))
    jobs.on("appointment.suspended", _then_notify(_refund_if_paid("医生停诊，全额退款"), "suspended"))
    jobs.on("appointment.refunded", notifications.on_appointment_event("refunded"))
    jobs.on("appointment.no_show", notifications.on_appointment_event("no_show"))
    jobs.on("payment.refund_due", _refund_payment)
    jobs.on("notification.deliver", notifications.deliver_notification)

    every_minute = crontab()
    jobs.every("release_from_templates", every_minute, _release_from_templates)
    jobs.every("expire_unpaid", every_minute, _expire_unpaid)
    jobs.every("no_show_sweep", every_minute, _no_show_sweep)
    jobs.every("visit_reminders", every_minute, _visit_reminders)
    jobs.every("reconcile_payments", crontab(minute="*/2"), _reconcile)
    return jobs


# -- event handlers -------------------------------------------------------------------------------
# Handlers that open their own units of work (refunds, closing orders: they call WeChat Pay between
# transactions) run before anything is written through the event's session.


async def _hold_ends(ctx: JobContext, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await booking.expire_unpaid(session, now=now, gate=ctx.gate, appointment_id=payload["appointment_id"])


def _then_notify(first: Handler, kind: str) -> Handler:
    notify = notifications.on_appointment_event(kind)

    async def handler(ctx: JobContext, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        await first(ctx, session, payload, now)
        await notify(ctx, session, payload, now)

    return handler


async def _close_order(ctx: JobContext, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await payments.close_unpaid(ctx.db, pay=ctx.pay, appointment_id=payload["appointment_id"], now=now)


def _refund_if_paid(reason: str) -> Handler:
    async def handler(ctx: JobContext, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        if payload.get("refund"):
            await payments.refund_for_appointment(
                ctx.db, pay=ctx.pay, appointment_id=payload["appointment_id"], reason=reason, now=now
            )

    return handler


async def _refund_payment(ctx: JobContext, session: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await payments.request_refund(
        ctx.db, pay=ctx.pay, payment_id=payload["payment_id"], reason=payload["reason"], now=now
    )


# -- periodic jobs --------------------------------------------------------------------------------


async def _release_from_templates(ctx: JobContext, now: datetime) -> int:
    async with ctx.db.session() as session:
        return await scheduling.release_from_templates(session, now=now)


async def _expire_unpaid(ctx: JobContext, now: datetime) -> list[int]:
    async with ctx.db.session() as session:
        return await booking.expire_unpaid(session, now=now, gate=ctx.gate)


async def _no_show_sweep(ctx: JobContext, now: datetime) -> list[int]:
    s = ctx.settings
    async with ctx.db.session() as session:
        return await booking.mark_no_shows(
            session,
            now=now,
            threshold=s.no_show_threshold,
            window=timedelta(days=s.no_show_window_days),
            ban_for=timedelta(days=s.no_show_ban_days),
        )


async def _visit_reminders(ctx: JobContext, now: datetime) -> int:
    async with ctx.db.session() as session:
        return await notifications.send_visit_reminders(session, now=now, remind_at=ctx.settings.visit_reminder_time)


async def _reconcile(ctx: JobContext, now: datetime) -> int:
    return await payments.reconcile(ctx.db, pay=ctx.pay, now=now)
