"""Mini-program login (``jscode2session``) and access tokens: WeChat's paths and limits, and what the fake
keeps of each code and token.

The rules that use them are methods of ``FakeWeChatState`` (``yiyue.wechat.fake.state``), under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

PATH_CODE2SESSION = "/sns/jscode2session"
PATH_TOKEN = "/cgi-bin/token"
PATH_STABLE_TOKEN = "/cgi-bin/stable_token"

CODE_TTL = timedelta(minutes=5)
LOGIN_RATE_LIMIT = 100
LOGIN_RATE_WINDOW = timedelta(minutes=1)
TOKEN_TTL = timedelta(seconds=7200)
TOKEN_OVERLAP = timedelta(minutes=5)
"""How long a replaced token keeps working, and how early the stable token is renewed."""
FORCE_REFRESH_DAILY_LIMIT = 20
FORCE_REFRESH_MIN_INTERVAL = timedelta(seconds=30)


@dataclass
class LoginCode:
    openid: str
    unionid: str | None
    high_risk: bool
    minted_at: datetime
    used: bool = False


@dataclass
class AccessToken:
    value: str
    expires_at: datetime
    invalid_from: datetime | None = None
    """Set when a newer token replaces this one (after an overlap, or at once for a forced refresh)."""

    def errcode_at(self, now: datetime) -> int | None:
        if now >= self.expires_at:
            return 42001
        if self.invalid_from is not None and now >= self.invalid_from:
            return 40001
        return None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
