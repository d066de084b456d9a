"""Our adapter to WeChat Pay API v3 (JSAPI in the mini-program), built on the ``wechatpayv3`` SDK.

The same code talks to WeChat Pay and to ``yiyue.wechat.fake.pay``: the fake speaks the real protocol
with real keys, so only ``PayConfig`` differs (the gateway, the keys, and for the in-process fake an
``httpx.ASGITransport``). Behaviour follows ``docs/WECHAT.md`` sections 4 and 5.

We use the SDK's asyncio flavour, ``wechatpayv3.async_.AsyncWeChatPay`` (same package and version as
``WeChatPay``; extra ``async``). The synchronous ``WeChatPay`` calls the module-level ``requests.get/post``
and exposes no session, so it could reach an in-process fake only through a real port and would need a
worker thread per call; the async flavour sends through an ``httpx.AsyncClient`` that we hand it, so
requests never block the event loop and the in-process fake is one ``ASGITransport`` away, exactly as for
``yiyue.wechat.client``. Either way the SDK signs each request and verifies each 2xx response itself.

Notifications are verified here rather than by the SDK's ``callback``: that one answers ``None`` for
every failure, never checks the timestamp's age, and would verify against a platform certificate it
fetches when the serial is unknown. ``parse_notification`` checks everything and says which check failed.

Secrets: the merchant private key and the APIv3 key stay inside this object and the SDK (whose own
logger we never enable, since it logs request headers); they are never logged or put in a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3.async_ import AsyncWeChatPay, WeChatPayType  # type: ignore[import-untyped]

from yiyue.core.clock import Clock, local
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS
from yiyue.core.errors import DomainError
from yiyue.wechat.errors import (
    InvalidPayNotification,
    WeChatPayOrderConflict,
    WeChatPayRejected,
    WeChatPayUnavailable,
)

if TYPE_CHECKING:
    from yiyue.core.config import Settings

log = logging.getLogger("yiyue.wechat.pay")

WECHAT_PAY_GATEWAY = "https://api.mch.weixin.qq.com"
IN_PROCESS_GATEWAY = "http://fake-wechat.invalid"
"""The gateway for the fake mounted in-process: any host will do, the ASGI transport never resolves it."""
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"
NOTIFICATION_MAX_SKEW = timedelta(minutes=5)
"""A notification signed longer ago than this (or this far in the future) is refused as a possible replay."""

CONFLICT_CODES = frozenset({"ORDER_CLOSED", "ORDERPAID", "OUT_TRADE_NO_USED"})
CONFIG_CODES = frozenset({"SIGN_ERROR", "NO_AUTH", "APPID_MCHID_NOT_MATCH", "MCH_NOT_EXISTS"})
"""Codes that mean our settings are wrong (keys, serial, mchid/appid binding), not the request."""
BUSY_CODES = frozenset({"SYSTEM_ERROR", "RATELIMIT_EXCEEDED", "FREQUENCY_LIMITED", "BANKERROR"})

# WeChat's alphabets. The SDK puts these numbers into URL paths as they are and signs that text; httpx sends
# all of these characters unencoded, so what is signed is what arrives.
_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
_OUT_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
_WECHAT_ID = re.compile(r"[0-9A-Za-z_\-]{1,64}")
"""WeChat's own numbers (transaction_id, refund_id): digits in practice; 64 is our columns' width."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
REFUND_STATUSES = frozenset({"SUCCESS", "CLOSED", "ABNORMAL", "PROCESSING"})


@dataclass(frozen=True)
class PayConfig:
    """Everything needed to talk to one merchant account (直连商户) for one mini-program."""

    mchid: str
    appid: str
    merchant_private_key: str = field(repr=False)
    """PEM (PKCS#8) of the merchant API private key: signs requests and ``wx.requestPayment`` parameters."""
    merchant_serial_no: str
    apiv3_key: str = field(repr=False)
    """32 characters; decrypts notification resources (AEAD_AES_256_GCM)."""
    public_key: str
    """PEM of the WeChat Pay public key: verifies responses and notifications."""
    public_key_id: str
    """``PUB_KEY_ID_...``, which WeChat Pay echoes in ``Wechatpay-Serial``."""
    gateway: str = WECHAT_PAY_GATEWAY
    notify_url: str = ""
    refund_notify_url: str = ""
    """Empty: refunds are notified at ``notify_url``."""

    def __post_init__(self) -> None:
        if len(self.apiv3_key.encode()) != 32:
            raise ValueError("the WeChat Pay APIv3 key must be 32 bytes")
        if not self.public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
            raise ValueError(f"the WeChat Pay public key id must start with {PUBLIC_KEY_ID_PREFIX}")
        if not self.gateway.startswith(("https://", "http://")):
            raise ValueError("the WeChat Pay gateway must be an http(s) URL")
        if not self.notify_url:
            raise ValueError("WeChat Pay needs a notify_url")

    @classmethod
    def from_settings(cls, settings: Settings, *, gateway: str | None = None) -> PayConfig:
        """The configuration from ``YIYUE_WECHAT_PAY_*``; the in-process fake gets ``IN_PROCESS_GATEWAY``."""
        if gateway is None:
            in_process = settings.wechat_pay_api_base == FAKE_WECHAT_IN_PROCESS
            gateway = IN_PROCESS_GATEWAY if in_process else settings.wechat_pay_api_base
        return cls(
            mchid=settings.wechat_pay_mchid,
            appid=settings.wechat_appid,
            merchant_private_key=settings.wechat_pay_merchant_private_key,
            merchant_serial_no=settings.wechat_pay_merchant_serial_no,
            apiv3_key=settings.wechat_pay_apiv3_key,
            public_key=settings.wechat_pay_public_key,
            public_key_id=settings.wechat_pay_public_key_id,
            gateway=gateway,
            notify_url=settings.wechat_pay_notify_url,
            refund_notify_url=settings.wechat_pay_refund_notify_url,
        )


@dataclass(frozen=True)
class Transaction:
    """A payment order as WeChat Pay reports it (``trade_state``: SUCCESS, REFUND, NOTPAY, CLOSED, ...)."""

    out_trade_no: str
    transaction_id: str | None
    """WeChat's order number, once paid."""
    trade_state: str
    amount_total_fen: int
    payer_openid: str | None
    """Known once paid; WeChat Pay answers an empty ``payer`` for an unpaid order."""
    success_time: datetime | None
    attach: str


@dataclass(frozen=True)
class Refund:
    """A refund (``status``: PROCESSING, SUCCESS, CLOSED, ABNORMAL)."""

    out_refund_no: str
    refund_id: str
    status: str
    amount_refund_fen: int
    success_time: datetime | None


@dataclass(frozen=True)
class RefundNotice:
    """The resource of a ``REFUND.*`` notification: how a refund ended (``refund_status``)."""

    out_refund_no: str
    refund_id: str
    refund_status: str
    amount_refund_fen: int


@dataclass(frozen=True)
class PayNotification:
    """A verified notification: ``event_type`` is ``TRANSACTION.SUCCESS`` or ``REFUND.SUCCESS|ABNORMAL|CLOSED``;
    ``resource`` is the decrypted transaction or refund. ``id`` is WeChat's, the same on every retry.

    ``transaction`` (``TRANSACTION.*``) and ``refund`` (``REFUND.*``) are the resource read and checked:
    a notification whose resource lacks a field we use, or has one of the wrong type or format, is
    refused as malformed before anything reads it."""

    id: str
    event_type: str
    resource: dict[str, Any]
    transaction: Transaction | None = None
    refund: RefundNotice | None = None


class _Malformed(Exception):
    """A 2xx answer that lacks a field we need: treated as WeChat Pay being unavailable."""


class WeChatPayClient:
    """WeChat Pay for one merchant and mini-program. Every method raises ``WeChatPayUnavailable`` when
    WeChat Pay cannot be asked or answers something unverifiable, and ``WeChatPayRejected`` (or its
    ``WeChatPayOrderConflict``) when it refuses; amounts are integer fen."""

    def __init__(
        self,
        config: PayConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self._config = config
        self._clock = clock or Clock()
        try:
            self._public_key = _rsa_public_key(config.public_key)
            self._sdk = AsyncWeChatPay(
                wechatpay_type=WeChatPayType.MINIPROG,
                mchid=config.mchid,
                private_key=config.merchant_private_key,
                cert_serial_no=config.merchant_serial_no,
                appid=config.appid,
                apiv3_key=config.apiv3_key,
                notify_url=config.notify_url,
                public_key=config.public_key,
                public_key_id=config.public_key_id,
            )
        except Exception:
            # Not chained: the SDK's exception is as vague, and a traceback must not lead to key material.
            raise ValueError(
                "the WeChat Pay keys do not load: check the merchant private key and public key PEM"
            ) from None
        self._aes = AESGCM(config.apiv3_key.encode())
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)
        _point_at(self._sdk, config.gateway, self._http)

    def __repr__(self) -> str:
        return f"WeChatPayClient(gateway={self._config.gateway!r}, mchid={self._config.mchid!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- orders --

    async def create_jsapi_order(
        self,
        *,
        out_trade_no: str,
        description: str,
        amount_fen: int,
        payer_openid: str,
        time_expire: datetime,
        attach: str = "",
    ) -> str:
        """Places a JSAPI order (统一下单) and returns its ``prepay_id``.

        Placing the same order again returns the same ``prepay_id``; the same ``out_trade_no`` with other
        parameters, or a closed or paid order, raises ``WeChatPayOrderConflict``.
        """
        _check_out_no("out_trade_no", out_trade_no, _OUT_TRADE_NO)
        if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
            raise ValueError("amount_fen must be a positive integer number of fen")
        if time_expire.tzinfo is None:
            raise ValueError("time_expire must be timezone-aware")
        request = self._sdk.pay(
            description=description,
            out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"},
            payer={"openid": payer_openid},
            time_expire=_rfc3339(time_expire),
            attach=attach or None,
            notify_url=self._config.notify_url,
        )
        body = await self._call("jsapi", request)
        prepay_id = body.get("prepay_id") if body else None
        if not isinstance(prepay_id, str) or not prepay_id:
            log.warning("WeChat Pay jsapi answered without a prepay_id")
            raise WeChatPayUnavailable()
        return prepay_id

    async def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        """The parameters of ``wx.requestPayment``, signed with the merchant key (the appId is signed, not sent)."""
        time_stamp = str(int(self._clock.now().timestamp()))
        nonce_str = secrets.token_hex(16)
        package = f"prepay_id={prepay_id}"
        pay_sign: str = self._sdk.sign([self._config.appid, time_stamp, nonce_str, package])
        return {
            "timeStamp": time_stamp,
            "nonceStr": nonce_str,
            "package": package,
            "signType": "RSA",
            "paySign": pay_sign,
        }

    async def query_order(self, out_trade_no: str) -> Transaction | None:
        """The order as WeChat Pay sees it, or ``None`` when it never saw it (404 ``ORDER_NOT_EXIST``)."""
        _check_out_no("out_trade_no", out_trade_no, _OUT_TRADE_NO)
        body = await self._call("query", self._sdk.query(out_trade_no=out_trade_no), not_found=True)
        if body is None:
            return None
        try:
            return _transaction(body)
        except _Malformed as exc:
            raise _malformed("query", exc) from exc

    async def close_order(self, out_trade_no: str) -> None:
        """Closes an unpaid order so it can no longer be paid (关单).

        An order WeChat Pay never saw counts as closed; a paid one raises ``WeChatPayOrderConflict`` (``ORDERPAID``).
        """
        _check_out_no("out_trade_no", out_trade_no, _OUT_TRADE_NO)
        await self._call("close", self._sdk.close(out_trade_no), not_found=True)

    # -- refunds --

    async def refund(
        self, *, out_refund_no: str, out_trade_no: str, total_fen: int, refund_fen: int, reason: str
    ) -> Refund:
        """Asks for a refund of ``refund_fen`` out of the order's ``total_fen``; usually answered PROCESSING,
        the outcome comes by notification. The same ``out_refund_no`` again refunds nothing more."""
        _check_out_no("out_refund_no", out_refund_no, _OUT_REFUND_NO)
        _check_out_no("out_trade_no", out_trade_no, _OUT_TRADE_NO)
        for name, value in (("total_fen", total_fen), ("refund_fen", refund_fen)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer number of fen")
        request = self._sdk.refund(
            out_refund_no=out_refund_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            out_trade_no=out_trade_no,
            reason=reason or None,
            notify_url=self._config.refund_notify_url or self._config.notify_url,
        )
        body = await self._call("refund", request)
        try:
            return _refund(body or {})
        except _Malformed as exc:
            raise _malformed("refund", exc) from exc

    async def query_refund(self, out_refund_no: str) -> Refund | None:
        """The refund as WeChat Pay sees it, or ``None`` when it has no such refund (404)."""
        _check_out_no("out_refund_no", out_refund_no, _OUT_REFUND_NO)
        body = await self._call("query_refund", self._sdk.query_refund(out_refund_no), not_found=True)
        if body is None:
            return None
        try:
            return _refund(body)
        except _Malformed as exc:
            raise _malformed("query_refund", exc) from exc

    # -- notifications --

    async def parse_notification(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> PayNotification:
        """Verifies and decrypts a notification posted to our notify URL; raises ``InvalidPayNotification``.

        Checks, in order: the five ``Wechatpay-*`` headers are there; ``Wechatpay-Serial`` names our WeChat
        Pay public key; the timestamp is within 5 minutes of ``now``; the RSA-SHA256 signature over
        ``TIMESTAMP\\nNONCE\\nBODY\\n`` (the raw bytes received) verifies; the resource decrypts with the
        APIv3 key (AES-256-GCM, which also proves it was not altered) into a JSON object for our mchid.
        Nothing is returned unless every check passes. The same notification may come more than once.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        lowered = {name.lower(): value for name, value in headers.items()}
        wanted = ("timestamp", "nonce", "signature", "serial", "signature-type")
        missing = [f"Wechatpay-{name.title()}" for name in wanted if not lowered.get(f"wechatpay-{name}")]
        if missing:
            raise InvalidPayNotification(f"missing header {', '.join(missing)}")
        timestamp, nonce = lowered["wechatpay-timestamp"], lowered["wechatpay-nonce"]
        if lowered["wechatpay-signature-type"] != SIGNATURE_TYPE:
            raise InvalidPayNotification("unsupported Wechatpay-Signature-Type")
        if lowered["wechatpay-serial"] != self._config.public_key_id:
            raise InvalidPayNotification("Wechatpay-Serial is not our WeChat Pay public key id")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise InvalidPayNotification("Wechatpay-Timestamp is not a number")
        if abs(now.timestamp() - int(timestamp)) > NOTIFICATION_MAX_SKEW.total_seconds():
            raise InvalidPayNotification("Wechatpay-Timestamp is more than 5 minutes away from now")
        if not verify_signature(self._public_key, timestamp, nonce, body, lowered["wechatpay-signature"]):
            raise InvalidPayNotification("signature does not verify")
        envelope = _json_object(body)
        if envelope is None:
            raise InvalidPayNotification("body is not a JSON object", signed=True)
        resource = self._decrypt(envelope)
        mchid = resource.get("mchid")
        if mchid is not None and mchid != self._config.mchid:
            raise InvalidPayNotification("resource is for another merchant", signed=True)
        notification_id, event_type = envelope.get("id"), envelope.get("event_type")
        if not isinstance(notification_id, str) or not isinstance(event_type, str):
            raise InvalidPayNotification("id or event_type missing", signed=True)
        if not _WECHAT_ID.fullmatch(notification_id) or len(event_type) > 64:
            raise InvalidPayNotification("id or event_type malformed", signed=True)
        try:
            transaction = _notified_transaction(resource) if event_type.startswith("TRANSACTION.") else None
            refund = _notified_refund(resource) if event_type.startswith("REFUND.") else None
        except _Malformed as exc:
            raise InvalidPayNotification(
                f"resource field {exc} missing or malformed",
                signed=True,
                notification_id=notification_id,
                event_type=event_type,
            ) from None
        if event_type == "TRANSACTION.SUCCESS" and transaction is not None and transaction.trade_state != "SUCCESS":
            raise InvalidPayNotification(
                "TRANSACTION.SUCCESS for a trade_state that is not SUCCESS",
                signed=True,
                notification_id=notification_id,
                event_type=event_type,
            )
        return PayNotification(
            id=notification_id, event_type=event_type, resource=resource, transaction=transaction, refund=refund
        )

    def _decrypt(self, envelope: Mapping[str, Any]) -> dict[str, Any]:
        resource = envelope.get("resource")
        if envelope.get("resource_type") != "encrypt-resource" or not isinstance(resource, dict):
            raise InvalidPayNotification("no encrypted resource", signed=True)
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise InvalidPayNotification("unsupported resource algorithm", signed=True)
        nonce, ciphertext, associated_data = (resource.get(k) for k in ("nonce", "ciphertext", "associated_data"))
        if not isinstance(nonce, str) or not isinstance(ciphertext, str) or not isinstance(associated_data, str | None):
            raise InvalidPayNotification("resource nonce, ciphertext or associated_data malformed", signed=True)
        try:
            sealed = base64.b64decode(ciphertext, validate=True)
            plain = self._aes.decrypt(nonce.encode(), sealed, (associated_data or "").encode())
        except (binascii.Error, InvalidTag, ValueError, UnicodeEncodeError):
            raise InvalidPayNotification("resource does not decrypt with our APIv3 key", signed=True) from None
        decrypted = _json_object(plain)
        if decrypted is None:
            raise InvalidPayNotification("decrypted resource is not a JSON object", signed=True)
        return decrypted

    # -- one request --

    async def _call(
        self, api: str, request: Awaitable[tuple[int, str | bytes]], *, not_found: bool = False
    ) -> dict[str, Any] | None:
        """Runs one SDK request: the JSON object of a 2xx (``None`` for 204), ``None`` for a 404 when
        ``not_found`` allows it, and a domain error for everything else."""
        try:
            status, text = await request
        except httpx.HTTPError as exc:
            log.warning("WeChat Pay %s unreachable: %s", api, type(exc).__name__)
            raise WeChatPayUnavailable() from exc
        except Exception as exc:
            if type(exc) is not Exception:  # the SDK raises plain Exception; anything else is a bug to surface
                raise
            # The SDK raises this for a 2xx whose signature does not verify, or that is not signed at all.
            log.error("WeChat Pay %s answer refused by the SDK (%s); check YIYUE_WECHAT_PAY_PUBLIC_KEY(_ID)", api, exc)
            raise WeChatPayUnavailable(detail={"reason": "unverified response"}) from exc
        body = _json_object(text) if text else None
        if 200 <= status < 300:
            if text and body is None:
                log.warning("WeChat Pay %s answered HTTP %s with something that is not a JSON object", api, status)
                raise WeChatPayUnavailable()
            return body
        code = str((body or {}).get("code", ""))
        if status == 404 and not_found:
            return None
        raise _rejection(api, status, code, str((body or {}).get("message", "")))


def _point_at(sdk: Any, gateway: str, http: httpx.AsyncClient) -> None:
    """Sends the SDK's requests to ``gateway`` through our ``http`` client.

    ``AsyncCore`` hard-codes WeChat's host in ``_gate_way`` and opens its own client in ``_client`` only
    inside ``async with``; both are private, so this is the one place that touches them (the SDK version is
    pinned, and a test checks where requests land). Signatures cover the path, never the host, so they hold
    for any gateway; a gateway with a path (a mounted fake) is a prefix the server strips as its root path.
    """
    core = sdk._core
    if not hasattr(core, "_gate_way") or not hasattr(core, "_client"):
        raise RuntimeError("wechatpayv3 changed its AsyncCore; review yiyue.wechat.pay._point_at before upgrading")
    core._gate_way = gateway.rstrip("/")
    core._client = http


def verify_signature(public_key: rsa.RSAPublicKey, timestamp: str, nonce: str, body: bytes, signature: str) -> bool:
    """WeChat Pay's signature over ``TIMESTAMP\\nNONCE\\nBODY\\n`` (RSA-SHA256, PKCS#1 v1.5, base64)."""
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, f"{timestamp}\n{nonce}\n".encode() + body + b"\n", padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def _rsa_public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the WeChat Pay public key is not an RSA key")
    return key


def _rfc3339(moment: datetime) -> str:
    return local(moment).isoformat(timespec="seconds")


def _check_out_no(name: str, value: str, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{name} must match {pattern.pattern}")


def _json_object(text: str | bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested deeper than the parser goes
        return None
    return value if isinstance(value, dict) else None


def _rejection(api: str, status: int, code: str, message: str) -> DomainError:
    if status == 429 or status >= 500 or code in BUSY_CODES:
        log.warning("WeChat Pay %s busy: HTTP %s %s %s", api, status, code, message)
        return WeChatPayUnavailable(detail={"http_status": status, "wechat_code": code or None})
    if code in CONFLICT_CODES:
        log.info("WeChat Pay %s refused: HTTP %s %s %s", api, status, code, message)
        return WeChatPayOrderConflict(code, message, http_status=status)
    if code in CONFIG_CODES or status in (401, 403):
        # Every payment fails until an operator fixes the settings, so shout.
        log.error(
            "WeChat Pay %s rejects our configuration: HTTP %s %s %s; check YIYUE_WECHAT_PAY_MCHID, "
            "_MERCHANT_PRIVATE_KEY, _MERCHANT_SERIAL_NO and YIYUE_WECHAT_APPID",
            api,
            status,
            code,
            message,
        )
    else:
        log.warning("WeChat Pay %s refused: HTTP %s %s %s", api, status, code, message)
    return WeChatPayRejected(code or f"HTTP_{status}", message, http_status=status)


def _malformed(api: str, exc: _Malformed) -> WeChatPayUnavailable:
    log.warning("WeChat Pay %s answered without a usable %s", api, exc)
    return WeChatPayUnavailable()


# --- reading WeChat Pay's JSON ---------------------------------------------------------------------


def _str(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _Malformed(name)
    return value


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Malformed(name)
    return value


def _fen(body: Mapping[str, Any], name: str) -> int:
    amount = body.get("amount")
    value = amount.get(name) if isinstance(amount, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"amount.{name}")
    return value


def _time(body: Mapping[str, Any], name: str) -> datetime | None:
    value = _optional_str(body, name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Malformed(name) from None
    if moment.tzinfo is None:
        raise _Malformed(name)
    return moment


def _transaction(body: Mapping[str, Any]) -> Transaction:
    payer = body.get("payer")
    openid = payer.get("openid") if isinstance(payer, dict) else None
    return Transaction(
        out_trade_no=_str(body, "out_trade_no"),
        transaction_id=_optional_str(body, "transaction_id"),
        trade_state=_str(body, "trade_state"),
        amount_total_fen=_fen(body, "total"),
        payer_openid=openid if isinstance(openid, str) and openid else None,
        success_time=_time(body, "success_time"),
        attach=_optional_str(body, "attach") or "",
    )


def _refund(body: Mapping[str, Any]) -> Refund:
    return Refund(
        out_refund_no=_str(body, "out_refund_no"),
        refund_id=_str(body, "refund_id"),
        status=_str(body, "status"),
        amount_refund_fen=_fen(body, "refund"),
        success_time=_time(body, "success_time"),
    )


def _notified_transaction(body: Mapping[str, Any]) -> Transaction:
    """The transaction of a ``TRANSACTION.*`` notification, with the numbers in WeChat's alphabets."""
    transaction = _transaction(body)
    if not _OUT_TRADE_NO.fullmatch(transaction.out_trade_no):
        raise _Malformed("out_trade_no")
    if transaction.transaction_id is not None and not _WECHAT_ID.fullmatch(transaction.transaction_id):
        raise _Malformed("transaction_id")
    if len(transaction.trade_state) > 32:
        raise _Malformed("trade_state")
    return transaction


def _notified_refund(body: Mapping[str, Any]) -> RefundNotice:
    out_refund_no, refund_id, status = _str(body, "out_refund_no"), _str(body, "refund_id"), _str(body, "refund_status")
    if not _OUT_REFUND_NO.fullmatch(out_refund_no):
        raise _Malformed("out_refund_no")
    if not _WECHAT_ID.fullmatch(refund_id):
        raise _Malformed("refund_id")
    if status not in REFUND_STATUSES:
        raise _Malformed("refund_status")
    return RefundNotice(
        out_refund_no=out_refund_no, refund_id=refund_id, refund_status=status, amount_refund_fen=_fen(body, "refund")
    )
