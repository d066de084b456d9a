"""Jobs of the payments domain: money back when a paid appointment ends early, orders closed when a
hold runs out, and reconciliation of notifications WeChat Pay may have lost.

These handlers call WeChat Pay between units of work of their own (``flows``) and never write through
the event's session, so they run before the other domains' handlers of the same event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.core.db import Database
from yiyue.core.events import AppointmentCancelled, AppointmentExpired, AppointmentSuspended, RefundDue
from yiyue.core.tasks import Tasks
from yiyue.payments import flows
from yiyue.wechat.pay import WeChatPayClient

tasks = Tasks("payments")

REFUND_REASONS = {
    AppointmentCancelled: "患者取消预约",
    AppointmentSuspended: "医生停诊，全额退款",
}
"""What the refund says to WeChat Pay (and the patient's bank statement) for each reason."""


class PaymentsContext(Protocol):
    @property
    def db(self) -> Database: ...
    @property
    def pay(self) -> WeChatPayClient: ...


async def refund_if_paid(
    ctx: PaymentsContext, session: AsyncSession, event: AppointmentCancelled | AppointmentSuspended, now: datetime
) -> None:
    """A paid appointment cancelled in time or suspended (停诊) is refunded in full."""
    if event.refund:
        await flows.refund_for_appointment(
            ctx.db, pay=ctx.pay, appointment_id=event.appointment_id, reason=REFUND_REASONS[type(event)], now=now
        )


tasks.on(AppointmentCancelled)(refund_if_paid)
tasks.on(AppointmentSuspended)(refund_if_paid)


@tasks.on(AppointmentExpired)
async def close_order(ctx: PaymentsContext, session: AsyncSession, event: AppointmentExpired, now: datetime) -> None:
    await flows.close_unpaid(ctx.db, pay=ctx.pay, appointment_id=event.appointment_id, now=now)


@tasks.on(RefundDue)
async def refund_payment(ctx: PaymentsContext, session: AsyncSession, event: RefundDue, now: datetime) -> None:
    await flows.request_refund(ctx.db, pay=ctx.pay, payment_id=event.payment_id, reason=event.reason, now=now)


@tasks.every(minute="*/2", name="reconcile_payments")
async def reconcile(ctx: PaymentsContext, now: datetime) -> int:
    return await flows.reconcile(ctx.db, pay=ctx.pay, now=now)
