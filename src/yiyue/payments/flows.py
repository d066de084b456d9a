"""Payment flows that talk to WeChat Pay between units of work of their own: refunds, closing unpaid
orders, reconciliation. Each opens its own transactions (``db.session()``) so that no lock is held while
WeChat Pay answers; each can run twice without paying or refunding twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from yiyue.booking import lifecycle
from yiyue.core.db import Database, begin_write
from yiyue.payments.models import Payment, PaymentStatus, Refund, RefundStatus
from yiyue.payments.service import out_refund_no, record, settle_paid, settle_refund
from yiyue.wechat.errors import WeChatPayOrderConflict
from yiyue.wechat.pay import WeChatPayClient

RECONCILE_AFTER = timedelta(minutes=2)
"""A payment still pending this long after its order was placed is asked about (the notify may be lost)."""


async def request_refund(db: Database, *, pay: WeChatPayClient, payment_id: int, reason: str, now: datetime) -> None:
    """Pays a paid payment back in full. The refund is recorded (committed) before WeChat Pay is asked,
    so its notification always finds it; asking again after a crash reuses the same refund number."""
    async with db.session() as session:
        payment = await session.get(Payment, payment_id)
        if payment is None or payment.status != PaymentStatus.PAID:
            return  # nothing was paid (or it is already refunded): nothing to pay back
        refund = await session.scalar(select(Refund).where(Refund.payment_id == payment.id))
        if refund is not None and refund.refund_id:
            return  # asked already; its notification or reconciliation settles it
        if refund is None:
            await begin_write(session)
            refund = Refund(
                payment_id=payment.id,
                out_refund_no=out_refund_no(payment.id),
                amount_fen=payment.amount_fen,
                reason=reason[:80],
                status=RefundStatus.PROCESSING,
                created_at=now,
                updated_at=now,
            )
            session.add(refund)
            try:
                await session.flush()
            except IntegrityError:
                return  # another worker is on it
            await lifecycle.note_refund(
                session,
                appointment_id=payment.appointment_id,
                status=RefundStatus.PROCESSING,
                amount_fen=refund.amount_fen,
                refunded_at=None,
            )
        out_trade, refund_no, total = payment.out_trade_no, refund.out_refund_no, payment.amount_fen
    answer = await pay.refund(
        out_refund_no=refund_no, out_trade_no=out_trade, total_fen=total, refund_fen=total, reason=reason[:80]
    )
    async with db.session() as session:
        await settle_refund(
            session, out_refund_no=refund_no, status=answer.status, refund_id=answer.refund_id, source="job", now=now
        )


async def refund_for_appointment(
    db: Database, *, pay: WeChatPayClient, appointment_id: int, reason: str, now: datetime
) -> None:
    async with db.session() as session:
        payment_id = await session.scalar(select(Payment.id).where(Payment.appointment_id == appointment_id))
    if payment_id is not None:
        await request_refund(db, pay=pay, payment_id=payment_id, reason=reason, now=now)


async def close_unpaid(db: Database, *, pay: WeChatPayClient, appointment_id: int, now: datetime) -> None:
    """The hold ended unpaid: close the WeChat order so it cannot be paid any more. If it was paid in the
    last second, WeChat refuses to close it and the payment is settled (and refunded) instead."""
    async with db.session() as session:
        payment = await session.scalar(select(Payment).where(Payment.appointment_id == appointment_id))
        if payment is None or payment.status != PaymentStatus.PENDING:
            return
        order_no = payment.out_trade_no
    try:
        await pay.close_order(order_no)
    except WeChatPayOrderConflict:
        await reconcile_payment(db, pay=pay, out_trade_no=order_no, now=now)
        return
    async with db.session() as session:
        await begin_write(session)
        payment = await session.scalar(select(Payment).where(Payment.out_trade_no == order_no).with_for_update())
        if payment is not None and payment.status == PaymentStatus.PENDING:
            record(session, payment, payment.status, PaymentStatus.CLOSED, source="job", now=now)
            payment.status = PaymentStatus.CLOSED
            payment.updated_at = now


async def reconcile_payment(db: Database, *, pay: WeChatPayClient, out_trade_no: str, now: datetime) -> None:
    transaction = await pay.query_order(out_trade_no)
    if transaction is None or transaction.trade_state not in ("SUCCESS", "REFUND"):
        return
    async with db.session() as session:
        await settle_paid(
            session,
            out_trade_no=out_trade_no,
            transaction_id=transaction.transaction_id or "",
            amount_fen=transaction.amount_total_fen,
            source="reconcile",
            now=now,
        )


async def reconcile(db: Database, *, pay: WeChatPayClient, now: datetime) -> int:
    """Asks WeChat Pay about payments and refunds whose notification has not come: settles what it says."""
    async with db.session() as session:
        orders = list(
            await session.scalars(
                select(Payment.out_trade_no)
                .where(Payment.status == PaymentStatus.PENDING, Payment.created_at <= now - RECONCILE_AFTER)
                .limit(200)
            )
        )
        refunds = list(
            await session.scalars(
                select(Refund.out_refund_no)
                .where(Refund.status == RefundStatus.PROCESSING, Refund.created_at <= now - RECONCILE_AFTER)
                .limit(200)
            )
        )
    for order_no in orders:
        await reconcile_payment(db, pay=pay, out_trade_no=order_no, now=now)
    for refund_no in refunds:
        answer = await pay.query_refund(refund_no)
        if answer is not None:
            async with db.session() as session:
                await settle_refund(
                    session,
                    out_refund_no=refund_no,
                    status=answer.status,
                    refund_id=answer.refund_id,
                    source="reconcile",
                    now=now,
                )
    return len(orders) + len(refunds)
