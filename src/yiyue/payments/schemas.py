from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class RequestPaymentParams(BaseModel):
    """What ``wx.requestPayment`` takes, signed by the server (the appId is signed, not sent)."""

    timeStamp: str
    nonceStr: str
    package: str
    signType: str
    paySign: str
    appointment_id: int
    amount_fen: int
    pay_deadline: datetime = Field(description="过了这个时间未支付，号源将被释放")
