"""The fake WeChat Pay API v3: JSAPI orders, query and close, refunds, and signed, encrypted notifications.

Like the rest of the fake WeChat it is a real implementation of the protocol, not a test double
(docs/WECHAT.md section 4): requests must carry a valid merchant signature over the raw bytes received,
every 2xx answer is signed with the WeChat Pay private key and names the public key id in
``Wechatpay-Serial``, and notifications are signed the same way with their resource sealed by AES-256-GCM
under the APIv3 key. So ``yiyue.wechat.pay`` (and the ``wechatpayv3`` SDK under it) verifies the fake with
the code it uses in production. The keys both sides share are ``yiyue.wechat.fake.keys.FakePayKeys``.

Paths under ``/__fake__/`` stand in for the patient and for WeChat's back office: ``/__fake__/pay`` is the
patient paying in ``wx.requestPayment`` (WeChat then notifies the order's ``notify_url``),
``/__fake__/refund/settle`` is a refund completing; others list and resend notifications.

Where the fake goes beyond what docs/WECHAT.md confirms, the choice is marked UNVERIFIED: error codes for
a paid order (``ORDERPAID``), for refunds (``INVALID_REQUEST``, ``RESOURCE_NOT_EXISTS``) and for closing an
unknown order (404 ``ORDER_NOT_EXIST``). It does not check the age of request timestamps (the SDK signs
with the real time while the fake may run on a frozen clock), and it accepts ``http://`` notify URLs on
loopback hosts so a local app can be notified.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.types import ASGIApp

from yiyue.core.clock import Clock, local
from yiyue.wechat.fake.errors import HelperBody, HelperInputError, helper_body
from yiyue.wechat.fake.keys import FakePayKeys
from yiyue.wechat.fake.state import FakeWeChatState
from yiyue.wechat.pay import SIGNATURE_TYPE

PATH_JSAPI = "/v3/pay/transactions/jsapi"
PATH_ORDER = "/v3/pay/transactions/out-trade-no/{out_trade_no}"
PATH_CLOSE = "/v3/pay/transactions/out-trade-no/{out_trade_no}/close"
PATH_REFUNDS = "/v3/refund/domestic/refunds"
PATH_REFUND = "/v3/refund/domestic/refunds/{out_refund_no}"

PREPAY_TTL = timedelta(hours=2)
"""How long a prepay_id can be paid; placing the same order again within it returns the same one."""
REFUND_STATUSES = ("SUCCESS", "ABNORMAL", "CLOSED")
TRADE_STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "订单发生过退款",
}
REFUND_SUMMARY = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

Deliver = Callable[[str, Mapping[str, str], bytes], Awaitable[int]]
"""Posts one notification (url, headers, body) and returns the HTTP status the receiver answered."""


# --- delivering notifications ---------------------------------------------------------------------


async def deliver_over_network(url: str, headers: Mapping[str, str], body: bytes) -> int:
    """The default: an HTTP POST like WeChat's, giving up after WeChat's 5 seconds."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.post(url, content=body, headers=dict(headers))
        return response.status_code


def asgi_deliverer(app: ASGIApp) -> Deliver:
    """Delivers to an ASGI app in this process (the app under test, or the app serving the in-process fake),
    whatever host the notify URL names."""
    transport = httpx.ASGITransport(app=app)

    async def deliver(url: str, headers: Mapping[str, str], body: bytes) -> int:
        async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
            response = await client.post(url, content=body, headers=dict(headers))
            return response.status_code

    return deliver


# --- state ----------------------------------------------------------------------------------------


class PayApiError(Exception):
    """An error the fake answers the way WeChat Pay does: an HTTP status and ``{"code", "message"}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        return JSONResponse({"code": self.code, "message": self.message}, self.status, {"Request-ID": _request_id()})


def _param_error(message: str) -> PayApiError:
    return PayApiError(400, "PARAM_ERROR", message)


@dataclass
class _Order:
    request: dict[str, Any]
    """The create request as received: the same parameters again return the same prepay_id."""
    out_trade_no: str
    appid: str
    mchid: str
    description: str
    total: int
    openid: str
    notify_url: str
    attach: str
    time_expire: datetime | None
    prepay_id: str
    prepay_expires_at: datetime
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: datetime | None = None

    def payable_until(self) -> datetime:
        return min(self.prepay_expires_at, self.time_expire) if self.time_expire else self.prepay_expires_at


@dataclass
class _Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    total: int
    refund: int
    reason: str
    notify_url: str
    created_at: datetime
    status: str = "PROCESSING"
    success_time: datetime | None = None


@dataclass(frozen=True)
class DeliveryAttempt:
    at: str
    http_status: int | None
    error: str | None = None


@dataclass
class Delivery:
    """One notification and every attempt to post it."""

    id: str
    event_type: str
    url: str
    body: bytes
    out_trade_no: str
    out_refund_no: str | None = None
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        last = self.attempts[-1] if self.attempts else None
        return {
            "id": self.id,
            "event_type": self.event_type,
            "url": self.url,
            "out_trade_no": self.out_trade_no,
            "out_refund_no": self.out_refund_no,
            "http_status": last.http_status if last else None,
            "delivered": last is not None and last.http_status is not None and 200 <= last.http_status < 300,
            "attempts": [{"at": a.at, "http_status": a.http_status, "error": a.error} for a in self.attempts],
            "body": self.body.decode(),
        }


class FakePayState(FakeWeChatState):
    """The fake WeChat plus one merchant's WeChat Pay account. ``deliver`` posts notifications (replace it
    to reach an app in-process); ``auto_settle_refunds`` completes each new refund ``refund_settle_delay``
    seconds after answering, as WeChat does within seconds for a balance refund."""

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        keys: FakePayKeys,
        clock: Clock | None = None,
        templates: Mapping[str, Sequence[str]] | None = None,
        deliver: Deliver | None = None,
        auto_settle_refunds: bool = True,
        refund_settle_delay: float = 1.0,
    ) -> None:
        self.keys = keys
        self.deliver: Deliver = deliver or deliver_over_network
        self.auto_settle_refunds = auto_settle_refunds
        self.refund_settle_delay = refund_settle_delay
        self._merchant_key = keys.merchant_key
        self._platform_key = keys.platform_key
        self._aes = AESGCM(keys.apiv3_key.encode())
        self._background: set[asyncio.Task[None]] = set()
        super().__init__(appid=appid, secret=secret, clock=clock, templates=templates)

    def _clear(self) -> None:
        super()._clear()
        self._orders: dict[str, _Order] = {}
        self._by_prepay_id: dict[str, str] = {}
        self._refunds: dict[str, _Refund] = {}
        self._deliveries: dict[str, Delivery] = {}

    # -- signatures --

    def verify_request(self, *, method: str, path: str, body: bytes, authorization: str | None) -> None:
        """4b: the merchant's signature over ``METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (raw bytes)."""
        scheme, _, params = (authorization or "").partition(" ")
        fields = dict(_AUTH_PARAM.findall(params))
        needed = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
        if scheme != SIGNATURE_TYPE or any(not fields.get(name) for name in needed):
            raise PayApiError(401, "SIGN_ERROR", "Authorization 格式不正确或缺少签名信息")
        if fields["mchid"] != self.keys.mchid or fields["serial_no"] != self.keys.merchant_serial_no:
            raise PayApiError(401, "SIGN_ERROR", "商户号或商户证书序列号不正确")
        message = f"{method}\n{path}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + body + b"\n"
        try:
            signature = base64.b64decode(fields["signature"], validate=True)
            self._merchant_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            raise PayApiError(401, "SIGN_ERROR", "签名错误，请检查后再试") from None

    def sign(self, body: bytes) -> dict[str, str]:
        """The ``Wechatpay-*`` headers of a 2xx answer or a notification, timestamped by the fake's clock."""
        timestamp = str(int(self.clock.now().timestamp()))
        nonce = secrets.token_hex(16).upper()
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = self._platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": self.keys.public_key_id,
            "Wechatpay-Signature-Type": SIGNATURE_TYPE,
        }

    def signed_response(self, status: int, payload: Mapping[str, Any] | None) -> Response:
        body = b"" if payload is None else _dumps(payload)
        headers = {**self.sign(body), "Request-ID": _request_id()}
        if payload is None:
            return Response(status_code=status, headers=headers)
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    # -- 4a, 4e: orders --

    def create_jsapi_order(self, body: Any) -> str:
        """``POST /v3/pay/transactions/jsapi`` after the signature check: the prepay_id."""
        order = self._order_request(body)
        now = self.clock.now()
        if order.time_expire is not None and order.time_expire <= now:
            raise _param_error("time_expire 已过期")
        with self.lock:
            existing = self._orders.get(order.out_trade_no)
            if existing is None:
                return self._place(order, now)
            if existing.trade_state == "CLOSED":
                raise PayApiError(400, "ORDER_CLOSED", "订单已关闭")
            if existing.trade_state in ("SUCCESS", "REFUND"):
                raise PayApiError(400, "ORDERPAID", "该订单已支付")  # UNVERIFIED code
            if existing.request != order.request:
                raise PayApiError(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            if now >= existing.prepay_expires_at:  # the same order after its prepay_id lapsed: a new one
                self._by_prepay_id.pop(existing.prepay_id, None)
                return self._place(order, now)
            return existing.prepay_id

    def _place(self, order: _Order, now: datetime) -> str:
        order.prepay_id = "wx" + local(now).strftime("%Y%m%d%H%M%S") + secrets.token_hex(11)
        order.prepay_expires_at = now + PREPAY_TTL
        self._orders[order.out_trade_no] = order
        self._by_prepay_id[order.prepay_id] = order.out_trade_no
        return order.prepay_id

    def _order_request(self, body: Any) -> _Order:
        if not isinstance(body, dict):
            raise _param_error("请求体不是合法的 JSON 对象")
        appid, mchid, description = _req_str(body, "appid"), _req_str(body, "mchid"), _req_str(body, "description")
        out_trade_no = _req_str(body, "out_trade_no")
        if len(description) > 127:
            raise _param_error("description 长度超过 127")
        if not _OUT_TRADE_NO.fullmatch(out_trade_no):
            raise _param_error("out_trade_no 格式不正确")
        notify_url = _notify_url(body.get("notify_url"), required=True)
        total = _fen_param(body, "total")
        payer = body.get("payer")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        if not isinstance(openid, str) or not openid:
            raise _param_error("缺少 payer.openid")
        attach = body.get("attach", "")
        if not isinstance(attach, str) or len(attach) > 128:
            raise _param_error("attach 长度超过 128")
        time_expire = _rfc3339_param(body.get("time_expire"), "time_expire")
        if appid != self.appid or mchid != self.keys.mchid:
            raise PayApiError(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
        return _Order(
            request=body,
            out_trade_no=out_trade_no,
            appid=appid,
            mchid=mchid,
            description=description,
            total=total,
            openid=openid,
            notify_url=notify_url,
            attach=attach,
            time_expire=time_expire,
            prepay_id="",
            prepay_expires_at=self.clock.now(),
        )

    def query_order(self, out_trade_no: str, mchid: str | None) -> dict[str, Any]:
        """``GET /v3/pay/transactions/out-trade-no/{no}?mchid=``: the transaction object."""
        if not mchid:
            raise _param_error("缺少 mchid")
        if mchid != self.keys.mchid:
            raise PayApiError(400, "APPID_MCHID_NOT_MATCH", "mchid 与商户不一致")
        with self.lock:
            order = self._orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")
            return self._transaction_json(order)

    def close_order(self, out_trade_no: str, body: Any) -> None:
        """``POST .../close``: an unpaid order can no longer be paid; closing twice is fine."""
        if not isinstance(body, dict) or not isinstance(body.get("mchid"), str):
            raise _param_error("缺少 mchid")
        if body["mchid"] != self.keys.mchid:
            raise PayApiError(400, "APPID_MCHID_NOT_MATCH", "mchid 与商户不一致")
        with self.lock:
            order = self._orders.get(out_trade_no)
            if order is None:
                raise PayApiError(404, "ORDER_NOT_EXIST", "订单不存在")  # UNVERIFIED
            if order.trade_state in ("SUCCESS", "REFUND"):
                raise PayApiError(400, "ORDERPAID", "该订单已支付")  # UNVERIFIED code
            order.trade_state = "CLOSED"

    def _transaction_json(self, order: _Order) -> dict[str, Any]:
        transaction: dict[str, Any] = {
            "appid": order.appid,
            "mchid": order.mchid,
            "out_trade_no": order.out_trade_no,
            "trade_state": order.trade_state,
            "trade_state_desc": TRADE_STATE_DESC[order.trade_state],
            "attach": order.attach,
            "payer": {},
            "amount": {"total": order.total, "currency": "CNY"},
        }
        if order.transaction_id is not None and order.success_time is not None:
            transaction.update(
                transaction_id=order.transaction_id,
                trade_type="JSAPI",
                bank_type="OTHERS",
                success_time=_rfc3339(order.success_time),
                payer={"openid": order.openid},
                amount={"total": order.total, "payer_total": order.total, "currency": "CNY", "payer_currency": "CNY"},
            )
        return transaction

    # -- 4f: refunds --

    def create_refund(self, body: Any) -> tuple[dict[str, Any], bool]:
        """``POST /v3/refund/domestic/refunds``: the refund object, and whether it is new (to be settled).

        The same ``out_refund_no`` again answers the existing refund and refunds nothing more.
        """
        if not isinstance(body, dict):
            raise _param_error("请求体不是合法的 JSON 对象")
        out_refund_no = _req_str(body, "out_refund_no")
        if not _OUT_REFUND_NO.fullmatch(out_refund_no):
            raise _param_error("out_refund_no 格式不正确")
        refund, total = _fen_param(body, "refund"), _fen_param(body, "total")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason.encode()) > 80:
            raise _param_error("reason 超过 80 字节")
        notify_url = _notify_url(body.get("notify_url"), required=False)
        transaction_id, out_trade_no = body.get("transaction_id"), body.get("out_trade_no")
        if not (isinstance(transaction_id, str) and transaction_id) and not (
            isinstance(out_trade_no, str) and out_trade_no
        ):
            raise _param_error("transaction_id 和 out_trade_no 必须二选一")
        now = self.clock.now()
        with self.lock:
            order = self._find_order(transaction_id, out_trade_no)
            existing = self._refunds.get(out_refund_no)
            if existing is not None:
                if existing.out_trade_no != order.out_trade_no or existing.refund != refund:
                    raise PayApiError(400, "INVALID_REQUEST", "退款单号已用于其他退款")  # UNVERIFIED
                return self._refund_json(existing), False
            if order.transaction_id is None or order.trade_state not in ("SUCCESS", "REFUND"):
                raise PayApiError(400, "INVALID_REQUEST", "订单未支付，不能退款")  # UNVERIFIED code
            if total != order.total:
                raise _param_error("amount.total 与订单金额不一致")
            refundable = order.total - self._refunded(order.out_trade_no)
            if refund > refundable:
                raise PayApiError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")  # UNVERIFIED code
            record = _Refund(
                out_refund_no=out_refund_no,
                refund_id="50" + "".join(secrets.choice("0123456789") for _ in range(30)),
                out_trade_no=order.out_trade_no,
                transaction_id=order.transaction_id,
                total=order.total,
                refund=refund,
                reason=reason,
                notify_url=notify_url or order.notify_url,
                created_at=now,
            )
            self._refunds[out_refund_no] = record
            order.trade_state = "REFUND"
            return self._refund_json(record), True

    def _find_order(self, transaction_id: Any, out_trade_no: Any) -> _Order:
        if isinstance(transaction_id, str) and transaction_id:
            order = next((o for o in self._orders.values() if o.transaction_id == transaction_id), None)
        else:
            order = self._orders.get(out_trade_no)
        if order is None:
            raise PayApiError(404, "RESOURCE_NOT_EXISTS", "订单不存在")  # UNVERIFIED code
        return order

    def _refunded(self, out_trade_no: str) -> int:
        # A closed refund gave nothing back; a processing or abnormal one still holds its amount.
        return sum(r.refund for r in self._refunds.values() if r.out_trade_no == out_trade_no and r.status != "CLOSED")

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        """``GET /v3/refund/domestic/refunds/{out_refund_no}``."""
        with self.lock:
            record = self._refunds.get(out_refund_no)
            if record is None:
                raise PayApiError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")  # UNVERIFIED code
            return self._refund_json(record)

    def _refund_json(self, record: _Refund) -> dict[str, Any]:
        refund: dict[str, Any] = {
            "refund_id": record.refund_id,
            "out_refund_no": record.out_refund_no,
            "transaction_id": record.transaction_id,
            "out_trade_no": record.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": _rfc3339(record.created_at),
            "status": record.status,
            "funds_account": "AVAILABLE",
            "amount": {
                "total": record.total,
                "refund": record.refund,
                "payer_total": record.total,
                "payer_refund": record.refund,
                "settlement_total": record.total,
                "settlement_refund": record.refund,
                "discount_refund": 0,
                "currency": "CNY",
            },
        }
        if record.success_time is not None:
            refund["success_time"] = _rfc3339(record.success_time)
        return refund

    # -- what happens inside WeChat --

    def pay(self, prepay_id: str) -> Delivery:
        """The patient pays in ``wx.requestPayment``: SUCCESS, and a TRANSACTION.SUCCESS notification to send."""
        now = self.clock.now()
        with self.lock:
            order = self._orders.get(self._by_prepay_id.get(prepay_id, ""))
            if order is None or order.prepay_id != prepay_id:
                raise HelperInputError("未知的 prepay_id", {"prepay_id": prepay_id})
            if order.trade_state != "NOTPAY":
                raise HelperInputError("订单不可支付", {"trade_state": order.trade_state})
            if now >= order.payable_until():
                raise HelperInputError("订单已过支付时限", {"payable_until": _rfc3339(order.payable_until())})
            order.trade_state = "SUCCESS"
            order.success_time = now
            order.transaction_id = "42000" + local(now).strftime("%Y%m%d") + _digits(15)
            resource = self._transaction_json(order)
            return self._notification(
                "TRANSACTION.SUCCESS", "支付成功", "transaction", resource, order.notify_url, order.out_trade_no
            )

    def settle_refund(self, out_refund_no: str, status: str) -> Delivery:
        """A refund completes (SUCCESS, ABNORMAL or CLOSED): a REFUND.<status> notification to send."""
        if status not in REFUND_STATUSES:
            raise HelperInputError("未知的退款状态", {"status": status, "allowed": list(REFUND_STATUSES)})
        now = self.clock.now()
        with self.lock:
            record = self._refunds.get(out_refund_no)
            if record is None:
                raise HelperInputError("未知的退款单号", {"out_refund_no": out_refund_no})
            if record.status != "PROCESSING":
                raise HelperInputError("退款已完成", {"status": record.status})
            record.status = status
            record.success_time = now if status == "SUCCESS" else None
            resource: dict[str, Any] = {
                "mchid": self.keys.mchid,
                "out_trade_no": record.out_trade_no,
                "transaction_id": record.transaction_id,
                "out_refund_no": record.out_refund_no,
                "refund_id": record.refund_id,
                "refund_status": status,
                "user_received_account": "支付用户零钱",
                "amount": {
                    "total": record.total,
                    "refund": record.refund,
                    "payer_total": record.total,
                    "payer_refund": record.refund,
                },
            }
            if record.success_time is not None:
                resource["success_time"] = _rfc3339(record.success_time)
            return self._notification(
                f"REFUND.{status}",
                REFUND_SUMMARY[status],
                "refund",
                resource,
                record.notify_url,
                record.out_trade_no,
                out_refund_no,
            )

    def _notification(
        self,
        event_type: str,
        summary: str,
        original_type: str,
        resource: Mapping[str, Any],
        url: str,
        out_trade_no: str,
        out_refund_no: str | None = None,
    ) -> Delivery:
        nonce = "".join(secrets.choice(_ALNUM) for _ in range(12))
        sealed = self._aes.encrypt(nonce.encode(), _dumps(resource), original_type.encode())
        notification_id = str(uuid.uuid4())
        envelope = {
            "id": notification_id,
            "create_time": _rfc3339(self.clock.now()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": {
                "original_type": original_type,
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(sealed).decode(),
                "associated_data": original_type,
                "nonce": nonce,
            },
        }
        delivery = Delivery(
            id=notification_id,
            event_type=event_type,
            url=url,
            body=_dumps(envelope),
            out_trade_no=out_trade_no,
            out_refund_no=out_refund_no,
        )
        self._deliveries[delivery.id] = delivery
        return delivery

    async def send(self, delivery: Delivery) -> DeliveryAttempt:
        """Posts a notification, signed afresh (WeChat's retries carry the same id and body), and records it."""
        headers = {**self.sign(delivery.body), "Content-Type": "application/json", "Request-ID": _request_id()}
        try:
            attempt = DeliveryAttempt(
                at=_rfc3339(self.clock.now()), http_status=await self.deliver(delivery.url, headers, delivery.body)
            )
        except Exception as exc:  # an unreachable or broken receiver is a failed delivery, as for WeChat
            attempt = DeliveryAttempt(at=_rfc3339(self.clock.now()), http_status=None, error=type(exc).__name__)
        with self.lock:
            delivery.attempts.append(attempt)
        return attempt

    def delivery(self, notification_id: str) -> Delivery:
        with self.lock:
            found = self._deliveries.get(notification_id)
        if found is None:
            raise HelperInputError("未知的通知", {"id": notification_id})
        return found

    def deliveries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d.summary() for d in self._deliveries.values()]

    def settle_later(self, out_refund_no: str) -> None:
        """Completes a new refund with SUCCESS after ``refund_settle_delay`` seconds, in the background."""

        async def settle() -> None:
            await asyncio.sleep(self.refund_settle_delay)
            try:
                delivery = self.settle_refund(out_refund_no, "SUCCESS")
            except HelperInputError:
                return  # settled by hand meanwhile, or the fake was reset
            await self.send(delivery)

        task = asyncio.get_running_loop().create_task(settle())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Waits for background settlements and their notifications (tests)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)


# --- HTTP -----------------------------------------------------------------------------------------


class _PayRoute(APIRoute):
    """Answers ``PayApiError`` as WeChat Pay does, so the router needs no handler on the app."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PayApiError as exc:
                return exc.response()

        return handle


async def _verified_body(state: FakePayState, request: Request) -> bytes:
    body = await request.body()
    state.verify_request(
        method=request.method,
        path=_signed_path(request),
        body=body,
        authorization=request.headers.get("authorization"),
    )
    return body


def _signed_path(request: Request) -> str:
    """The path and query as the merchant sent and signed them, below the fake's mount point if any."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    root = request.scope.get("root_path", "").encode()
    if root and raw.startswith(root):
        raw = raw[len(root) :]
    query: bytes = request.scope.get("query_string", b"")
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise _param_error("请求体不是合法的 JSON") from None


class PaidRequest(HelperBody):
    prepay_id: Annotated[str, Field(min_length=1, max_length=64)]


class SettleRefundRequest(HelperBody):
    out_refund_no: Annotated[str, Field(min_length=1, max_length=64)]
    status: Literal["SUCCESS", "ABNORMAL", "CLOSED"] = "SUCCESS"


class RedeliverRequest(HelperBody):
    id: Annotated[str, Field(min_length=1, max_length=64)]


def pay_router(state: FakePayState) -> APIRouter:
    """WeChat Pay v3 (docs/WECHAT.md 4a-4g) and its ``/__fake__`` helpers."""
    router = APIRouter(route_class=_PayRoute, tags=["wechat pay v3"])

    @router.post(PATH_JSAPI)
    async def create_jsapi_order(request: Request) -> Response:
        body = await _verified_body(state, request)
        return state.signed_response(200, {"prepay_id": state.create_jsapi_order(_json_body(body))})

    @router.get(PATH_ORDER)
    async def query_order(out_trade_no: str, request: Request, mchid: str | None = None) -> Response:
        await _verified_body(state, request)
        return state.signed_response(200, state.query_order(out_trade_no, mchid))

    @router.post(PATH_CLOSE)
    async def close_order(out_trade_no: str, request: Request) -> Response:
        body = await _verified_body(state, request)
        state.close_order(out_trade_no, _json_body(body))
        return state.signed_response(204, None)

    @router.post(PATH_REFUNDS)
    async def create_refund(request: Request) -> Response:
        body = await _verified_body(state, request)
        refund, new = state.create_refund(_json_body(body))
        if new and state.auto_settle_refunds:
            state.settle_later(refund["out_refund_no"])
        return state.signed_response(200, refund)

    @router.get(PATH_REFUND)
    async def query_refund(out_refund_no: str, request: Request) -> Response:
        await _verified_body(state, request)
        return state.signed_response(200, state.query_refund(out_refund_no))

    helpers = APIRouter(prefix="/__fake__", tags=["fake helpers"])

    @helpers.post("/pay")
    async def pay(request: Request) -> dict[str, Any]:
        """The patient pays: SUCCESS, then WeChat Pay notifies the order's notify_url (answered here)."""
        body = await helper_body(request, PaidRequest)
        delivery = state.pay(body.prepay_id)
        await state.send(delivery)
        return {"out_trade_no": delivery.out_trade_no, "trade_state": "SUCCESS", "notification": delivery.summary()}

    @helpers.post("/refund/settle")
    async def settle_refund(request: Request) -> dict[str, Any]:
        body = await helper_body(request, SettleRefundRequest)
        delivery = state.settle_refund(body.out_refund_no, body.status)
        await state.send(delivery)
        return {"out_refund_no": body.out_refund_no, "status": body.status, "notification": delivery.summary()}

    @helpers.get("/pay/notifications")
    def notifications() -> list[dict[str, Any]]:
        return state.deliveries()

    @helpers.post("/pay/redeliver")
    async def redeliver(request: Request) -> dict[str, Any]:
        body = await helper_body(request, RedeliverRequest)
        delivery = state.delivery(body.id)
        await state.send(delivery)
        return delivery.summary()

    router.include_router(helpers)
    return router


# --- small helpers --------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _rfc3339(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")


def _request_id() -> str:
    return secrets.token_hex(16)


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _req_str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _param_error(f"缺少参数 {name}")
    return value


def _fen_param(body: Mapping[str, Any], name: str) -> int:
    """``amount.<name>``: a positive whole number of fen, in CNY."""
    amount = body.get("amount")
    value = amount.get(name) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _param_error(f"amount.{name} 必须为正整数（单位：分）")
    if isinstance(amount, dict) and amount.get("currency", "CNY") != "CNY":
        raise _param_error("amount.currency 仅支持 CNY")
    return value


def _notify_url(value: Any, *, required: bool) -> str:
    """HTTPS without a query, as WeChat requires; plain HTTP is let through for loopback hosts only."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise _param_error("notify_url 格式不正确")
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise _param_error("notify_url 必须为 https 地址且不能携带参数")
    return value


def _rfc3339_param(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _param_error(f"{name} 不是 RFC 3339 时间")
    return moment
