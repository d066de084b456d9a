"""What can go wrong talking to WeChat, in our own words (see docs/WECHAT.md for WeChat's codes).

Login and token errors are domain errors that the app's one handler renders. A rejected subscribe
message is not: it is an ordinary outcome (the patient has no subscription left, 43101) that the
notifications code decides about, so it is a plain exception carrying WeChat's errcode.
"""

from __future__ import annotations

from yiyue.core.errors import (
    DomainError,
    Forbidden,
    RateLimited,
    Unauthenticated,
    UpstreamUnavailable,
)


class WeChatCodeInvalid(Unauthenticated):
    """The ``wx.login`` code is unknown, expired (5 minutes) or already used (40029, 40163)."""

    code = "WECHAT_CODE_INVALID"
    message = "微信登录凭证无效或已使用，请重新登录"


class WeChatRateLimited(RateLimited):
    """More than 100 logins for one WeChat user in a minute (45011)."""

    code = "WECHAT_RATE_LIMITED"
    message = "微信登录过于频繁，请稍后再试"


class WeChatUserBlocked(Forbidden):
    """WeChat marks the user as high-risk and refuses the login (40226)."""

    code = "WECHAT_USER_BLOCKED"
    message = "该微信账号存在安全风险，暂时无法登录"


class WeChatUnavailable(UpstreamUnavailable):
    """WeChat is busy (-1), unreachable, too slow, or answered something that is not its JSON."""

    code = "WECHAT_UNAVAILABLE"
    message = "微信服务暂不可用，请稍后再试"


class WeChatMisconfigured(UpstreamUnavailable):
    """WeChat rejects our appid or secret (40013, 40125, ...): an operator must fix the settings."""

    code = "WECHAT_MISCONFIGURED"
    message = "微信服务配置异常，请稍后再试或联系医院客服"


NO_SUBSCRIPTION_LEFT = 43101


class SubscribeMessageRejected(Exception):
    """WeChat refused a subscribe message; ``errcode`` says why (43101: no subscription left)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"subscribe message rejected: {errcode} {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def no_subscription_left(self) -> bool:
        """The patient has not accepted (or has used up) the one-time subscription for this template."""
        return self.errcode == NO_SUBSCRIPTION_LEFT


# --- WeChat Pay (docs/WECHAT.md section 4) ---------------------------------------------------------


class WeChatPayUnavailable(UpstreamUnavailable):
    """WeChat Pay is unreachable, busy (429, 5xx, SYSTEM_ERROR), or answered something we cannot trust:
    a response whose signature does not verify with the WeChat Pay public key, or that is not its JSON."""

    code = "WECHAT_PAY_UNAVAILABLE"
    message = "微信支付暂不可用，请稍后再试"


class WeChatPayRejected(DomainError):
    """WeChat Pay refused the request; ``wechat_code`` is its code (``PARAM_ERROR``, ``SIGN_ERROR``, ...).

    Most of these mean our request or settings are wrong, so the patient can only try again later.
    """

    status = 502
    code = "WECHAT_PAY_REJECTED"
    message = "微信支付未受理该请求，请稍后再试或联系医院客服"

    def __init__(self, wechat_code: str, wechat_message: str = "", *, http_status: int | None = None) -> None:
        super().__init__(detail={"wechat_code": wechat_code, "http_status": http_status})
        self.wechat_code = wechat_code
        self.wechat_message = wechat_message
        self.http_status = http_status


class WeChatPayOrderConflict(WeChatPayRejected):
    """The payment order is no longer in a state that allows the request: closed (``ORDER_CLOSED``),
    already paid (``ORDERPAID``), or its ``out_trade_no`` was used with other parameters (``OUT_TRADE_NO_USED``)."""

    status = 409
    code = "WECHAT_PAY_ORDER_CONFLICT"
    message = "支付订单状态已变化，请刷新后重试"


class InvalidPayNotification(DomainError):
    """A payment or refund notification that is not provably from WeChat Pay, is stale, or does not decrypt.

    The notify endpoint answers it with a 4xx so WeChat Pay retries a genuine one; ``reason`` says which
    check failed (for the log, never data from the notification: a field's name, not its value).
    """

    status = 400
    code = "INVALID_PAY_NOTIFICATION"
    message = "微信支付通知无效"

    def __init__(
        self,
        reason: str,
        *,
        signed: bool = False,
        notification_id: str | None = None,
        event_type: str | None = None,
    ) -> None:
        super().__init__(f"{self.message}（{reason}）", detail={"reason": reason})
        self.reason = reason
        self.signed = signed
        """The signature verified: WeChat Pay (or whoever holds its key) sent something we cannot read."""
        self.notification_id = notification_id
        self.event_type = event_type
