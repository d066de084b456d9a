"""Paying for an appointment and paying it back (WeChat Pay v3, JSAPI): the use cases that run inside
the caller's unit of work (an API request, a notification, a job). The flows that call WeChat Pay
between units of work of their own (refunds, closing orders, reconciliation) are in ``flows.py``.

The money state lives here; the appointment's state lives in booking and moves through its service.
Every change is recorded (``MoneyEvent``); every handler can run twice without paying or refunding
twice: payments are settled by ``UPDATE ... WHERE status = 'pending'``, refunds carry one refund number
per payment, which WeChat Pay itself refunds only once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import Account
from yiyue.booking import lifecycle
from yiyue.booking import service as booking
from yiyue.booking.models import Appointment, AppointmentStatus
from yiyue.core import outbox
from yiyue.core.db import begin_write
from yiyue.core.errors import Conflict, NotFound
from yiyue.core.events import PaymentSucceeded, RefundDue, RefundSucceeded
from yiyue.hospitals.models import Department, Hospital
from yiyue.payments.models import MoneyEvent, Payment, PaymentStatus, Refund, RefundStatus
from yiyue.wechat.pay import PayNotification, WeChatPayClient

log = logging.getLogger("yiyue.payments")


class NotAwaitingPayment(Conflict):
    code = "NOT_AWAITING_PAYMENT"
    message = "该预约无需支付或已支付"


class PaymentWindowClosed(Conflict):
    code = "PAYMENT_EXPIRED"
    message = "支付时间已过，号源已释放，请重新预约"


class HoldExpired(Conflict):
    code = "HOLD_EXPIRED"
    message = "该预约已超过支付时限，号源已释放，请重新预约"


class UnknownOrder(NotFound):
    code = "UNKNOWN_ORDER"
    message = "订单不存在"


class AmountMismatch(Conflict):
    code = "AMOUNT_MISMATCH"
    message = "支付金额与订单不符"


_OURS = re.compile(r"YY[0-9]{14,30}")
_OURS_REFUND = re.compile(r"YR[0-9]{14,30}")
"""The numbers ``out_trade_no`` and ``out_refund_no`` give."""


def out_trade_no(appointment_id: int) -> str:
    """One order number per appointment: placing the order again is answered with the same prepay id."""
    return f"YY{appointment_id:014d}"


def out_refund_no(payment_id: int) -> str:
    return f"YR{payment_id:014d}"


async def start_payment(
    session: AsyncSession, *, account_id: int, appointment_id: int, pay: WeChatPayClient, now: datetime
) -> tuple[dict[str, str], Appointment]:
    """Places (or finds) the WeChat Pay order of a held appointment and returns the signed parameters
    of ``wx.requestPayment`` with the appointment. The order expires with the hold."""
    appointment = await booking.get_own(session, account_id=account_id, appointment_id=appointment_id)
    pay_deadline = _check_awaiting_payment(appointment)
    if pay_deadline <= now:
        raise PaymentWindowClosed()
    payment = await session.scalar(select(Payment).where(Payment.appointment_id == appointment.id))
    if payment is not None and payment.prepay_id:
        return await pay.request_payment_params(payment.prepay_id), appointment
    account = await session.get_one(Account, account_id)
    # The outside call comes before this unit of work writes anything (no lock held while waiting).
    prepay_id = await pay.create_jsapi_order(
        out_trade_no=out_trade_no(appointment.id),
        description=await _description(session, appointment),
        amount_fen=appointment.fee_fen,
        payer_openid=account.openid,
        time_expire=pay_deadline,
        attach=str(appointment.id),
    )
    await begin_write(session)
    payment = await session.scalar(select(Payment).where(Payment.appointment_id == appointment.id))
    if payment is None:
        payment = Payment(
            appointment_id=appointment.id,
            account_id=account_id,
            out_trade_no=out_trade_no(appointment.id),
            amount_fen=appointment.fee_fen,
            status=PaymentStatus.PENDING,
            prepay_id=prepay_id,
            expires_at=pay_deadline,
            created_at=now,
            updated_at=now,
        )
        session.add(payment)
        await session.flush()
        record(session, payment, None, PaymentStatus.PENDING, source="api", now=now, prepay_id=prepay_id)
    else:
        payment.prepay_id = prepay_id
    return await pay.request_payment_params(prepay_id), appointment


def _check_awaiting_payment(appointment: Appointment) -> datetime:
    """Paying is for a hold still waiting for its money (returns its deadline); every other state is
    refused with its own reason."""
    if appointment.status == AppointmentStatus.PENDING_PAYMENT and appointment.pay_deadline is not None:
        return appointment.pay_deadline
    if appointment.status == AppointmentStatus.EXPIRED:
        raise HoldExpired()
    if appointment.status == AppointmentStatus.CANCELLED:
        raise NotAwaitingPayment("该预约已取消，无需支付")
    if appointment.status == AppointmentStatus.SUSPENDED:
        raise NotAwaitingPayment("该预约已停诊，无需支付")
    raise NotAwaitingPayment("该预约已支付" if appointment.paid_at is not None else "该预约无需在线支付")


async def apply_notification(session: AsyncSession, *, notification: PayNotification, now: datetime) -> None:
    """A verified WeChat Pay notification: a payment succeeded, or a refund ended. Replays change nothing.

    Its resource was read and checked when it was verified (``notification.transaction``, ``.refund``); an
    order or refund number that is not one of ours is an unknown order, looked up nowhere."""
    transaction, refund = notification.transaction, notification.refund
    if notification.event_type == "TRANSACTION.SUCCESS" and transaction is not None:
        if not _OURS.fullmatch(transaction.out_trade_no):
            log.warning("payment notification %s for an order number that is not ours", notification.id)
            raise UnknownOrder()
        await settle_paid(
            session,
            out_trade_no=transaction.out_trade_no,
            transaction_id=transaction.transaction_id or "",
            amount_fen=transaction.amount_total_fen,
            source="notify",
            now=now,
        )
    elif notification.event_type.startswith("REFUND.") and refund is not None:
        if not _OURS_REFUND.fullmatch(refund.out_refund_no):
            log.warning("refund notification %s for a refund number that is not ours", notification.id)
            raise UnknownOrder()
        await settle_refund(
            session,
            out_refund_no=refund.out_refund_no,
            status=refund.refund_status,
            refund_id=refund.refund_id,
            source="notify",
            now=now,
        )
    else:
        log.info("ignoring WeChat Pay notification %s of type %s", notification.id, notification.event_type)


async def settle_paid(
    session: AsyncSession, *, out_trade_no: str, transaction_id: str, amount_fen: int, source: str, now: datetime
) -> None:
    """Marks a payment paid exactly once and confirms its appointment; a payment that arrives after the
    hold ended (expired, cancelled) is paid back in full."""
    await begin_write(session)
    payment = await session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no).with_for_update())
    if payment is None:
        log.warning("payment notification for an unknown order %s", out_trade_no)
        raise UnknownOrder()
    if amount_fen != payment.amount_fen:
        log.error("payment %s: WeChat reports %s fen, the order is %s fen", payment.id, amount_fen, payment.amount_fen)
        raise AmountMismatch()
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.CLOSED):
        return  # already settled: a replayed notification, or reconciliation got there first
    previous = payment.status
    payment.status = PaymentStatus.PAID
    payment.transaction_id = transaction_id
    payment.paid_at = now
    payment.updated_at = now
    record(session, payment, previous, PaymentStatus.PAID, source=source, now=now, transaction_id=transaction_id)
    await lifecycle.note_paid(session, appointment_id=payment.appointment_id, at=now)
    outbox.add(
        session,
        PaymentSucceeded(appointment_id=payment.appointment_id, payment_id=payment.id, amount_fen=payment.amount_fen),
        now=now,
    )
    if not await lifecycle.confirm_paid(session, appointment_id=payment.appointment_id, now=now):
        outbox.add(session, RefundDue(payment_id=payment.id, reason="预约已失效，自动退款"), now=now)
    await session.flush()


async def settle_refund(
    session: AsyncSession, *, out_refund_no: str, status: str, refund_id: str, source: str, now: datetime
) -> None:
    """Records what WeChat Pay says of a refund; a success marks the payment refunded and tells the patient."""
    await begin_write(session)
    refund = await session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update())
    if refund is None:
        log.warning("refund notification for an unknown refund %s", out_refund_no)
        raise UnknownOrder()
    new_status = {
        "SUCCESS": RefundStatus.SUCCEEDED,
        "PROCESSING": RefundStatus.PROCESSING,
        "ABNORMAL": RefundStatus.ABNORMAL,
        "CLOSED": RefundStatus.CLOSED,
    }.get(status)
    if new_status is None:
        raise ValueError(f"unknown refund status {status!r}")
    if refund_id and not refund.refund_id:
        refund.refund_id = refund_id
    if refund.status == new_status or refund.status == RefundStatus.SUCCEEDED:
        return
    payment = await session.get_one(Payment, refund.payment_id, with_for_update=True)
    record(session, payment, refund.status, new_status, source=source, now=now, refund=refund, refund_id=refund_id)
    refund.status = new_status
    refund.updated_at = now
    if new_status == RefundStatus.SUCCEEDED:
        refund.succeeded_at = now
        payment.status = PaymentStatus.REFUNDED
        payment.updated_at = now
        outbox.add(session, RefundSucceeded(appointment_id=payment.appointment_id), now=now)
    elif new_status == RefundStatus.ABNORMAL:
        log.error("refund %s is ABNORMAL at WeChat Pay: staff must pay it back another way", out_refund_no)
    await lifecycle.note_refund(
        session,
        appointment_id=payment.appointment_id,
        status=new_status,
        amount_fen=refund.amount_fen,
        refunded_at=refund.succeeded_at,
    )
    await session.flush()


async def _description(session: AsyncSession, appointment: Appointment) -> str:
    hospital = await session.get_one(Hospital, appointment.hospital_id)
    department = await session.get_one(Department, appointment.department_id)
    return f"{hospital.name}-{department.name}挂号费"[:120]


def record(
    session: AsyncSession,
    payment: Payment,
    from_status: str | None,
    to_status: str,
    *,
    source: str,
    now: datetime,
    refund: Refund | None = None,
    **detail: Any,
) -> None:
    session.add(
        MoneyEvent(
            payment_id=payment.id,
            refund_id=refund.id if refund is not None else None,
            from_status=from_status,
            to_status=to_status,
            source=source,
            detail=detail,
            at=now,
        )
    )
