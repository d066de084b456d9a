from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from yiyue.booking.errors import AppointmentNotFound
from yiyue.core import metrics
from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, INPUT_ERRORS, DomainError, responses
from yiyue.core.params import IdPath
from yiyue.payments import service
from yiyue.payments.schemas import RequestPaymentParams
from yiyue.wechat.errors import (
    InvalidPayNotification,
    WeChatPayOrderConflict,
    WeChatPayRejected,
    WeChatPayUnavailable,
)
from yiyue.wechat.pay import WeChatPayClient

log = logging.getLogger("yiyue.payments")

router = APIRouter(prefix="/api/v1", tags=["支付"])


async def _pay(request: Request) -> WeChatPayClient:
    pay: WeChatPayClient = request.app.state.pay
    return pay


PayDep = Annotated[WeChatPayClient, Depends(_pay)]


@router.post(
    "/appointments/{appointment_id}/pay",
    summary="发起微信支付（返回 wx.requestPayment 参数）",
    responses=responses(
        *AUTH_ERRORS,
        *INPUT_ERRORS,
        AppointmentNotFound,
        service.NotAwaitingPayment,
        service.PaymentWindowClosed,
        service.HoldExpired,
        WeChatPayOrderConflict,
        WeChatPayRejected,
        WeChatPayUnavailable,
    ),
)
async def pay(
    appointment_id: IdPath, session: SessionDep, account: CurrentAccount, pay: PayDep, clock: ClockDep
) -> RequestPaymentParams:
    now = clock.now()
    params, appointment = await service.start_payment(
        session, account_id=account.subject_id, appointment_id=appointment_id, pay=pay, now=now
    )
    assert appointment.pay_deadline is not None  # start_payment refuses appointments without one
    return RequestPaymentParams(
        **params, appointment_id=appointment.id, amount_fen=appointment.fee_fen, pay_deadline=appointment.pay_deadline
    )


class WeChatPayReply(BaseModel):
    """What WeChat Pay expects back from a notify URL when a notification is not accepted."""

    code: str = Field(description="FAIL")
    message: str = Field(description="失败原因")


@router.post(
    "/payments/wechat/notify",
    summary="微信支付结果与退款结果通知（由微信支付调用）",
    status_code=204,
    responses={
        400: {"description": "验签、解密或内容校验失败：微信支付会重试", "model": WeChatPayReply},
        404: {"description": "订单或退款单不存在", "model": WeChatPayReply},
        409: {"description": "支付金额与订单不符", "model": WeChatPayReply},
    },
)
async def wechat_notify(request: Request, session: SessionDep, pay: PayDep, clock: ClockDep) -> Response:
    body = await request.body()
    now = clock.now()
    try:
        notification = await pay.parse_notification(request.headers, body, now=now)
    except InvalidPayNotification as exc:
        # Forged, stale or garbled: log it, change nothing, answer in WeChat Pay's format (a 4xx, which
        # it retries; a genuine one then comes again). The reason names a check or a field, never a value.
        if exc.signed:
            log.warning(
                "pay_notification_malformed: a correctly signed WeChat Pay notification %s (%s) was refused: %s",
                exc.notification_id or "-",
                exc.event_type or "-",
                exc.reason,
                extra={"event": "pay_notification_malformed", "notification_id": exc.notification_id},
            )
            metrics.payment_notified(exc.event_type, "rejected")
            return _fail(400, "通知内容无效")
        log.warning("rejected an unsigned or badly signed WeChat Pay notification: %s", exc.reason)  # no client IP
        metrics.payment_notified(None, "rejected")  # unsigned: its event type is anybody's word
        return _fail(400, "验签失败")
    try:
        await service.apply_notification(session, notification=notification, now=now)
    except DomainError as exc:
        log.warning("WeChat Pay notification %s not applied: %s", notification.id, exc.code)
        metrics.payment_notified(notification.event_type, "error")
        return _fail(exc.status if exc.status < 500 else 500, exc.text)
    metrics.payment_notified(notification.event_type, "ok", session=session)  # once it commits
    return Response(status_code=204)


def _fail(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"code": "FAIL", "message": message})
