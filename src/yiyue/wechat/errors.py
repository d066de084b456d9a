"""What can go wrong talking to WeChat, in our own words (see docs/WECHAT.md for WeChat's codes).

Login and token errors are domain errors that the app's one handler renders. A rejected subscribe
message is not: it is an ordinary outcome (the patient has no subscription left, 43101) that the
notifications code decides about, so it is a plain exception carrying WeChat's errcode.
"""

from __future__ import annotations

from yiyue.core.errors import (
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
