"""A fake WeChat server: mini-program login, access tokens, subscribe messages and WeChat Pay v3, and
the fake real-name verification service (实名认证) the development setup uses.

It is a first-class part of the platform, not a test double: it answers on WeChat's real paths with
WeChat's fields and error codes (HTTP 200 with ``{"errcode", "errmsg"}``; WeChat Pay's HTTP statuses,
``{"code", "message"}`` and signatures), so the app differs from production only in
``YIYUE_WECHAT_API_BASE``, ``YIYUE_WECHAT_PAY_API_BASE`` and the keys. Behaviour follows ``docs/WECHAT.md``.
Paths under ``/__fake__/`` stand in for what happens on the phone and in WeChat's back office, and let
tests and demos look inside.

Each module builds only on the ones listed before it:

- ``errors``: how the fake refuses a request (``WeChatApiError``, ``HelperInputError``) and body parsing;
- ``login``, ``messages``: WeChat's paths, limits and records for login and tokens, and for subscribe
  messages (templates and the limits on their values);
- ``state``: ``FakeWeChatState``, everything the fake remembers and the rules of those APIs;
- ``keys``: ``FakePayKeys``, what a merchant and the fake WeChat Pay share;
- ``pay``: WeChat Pay v3, ``FakePayState`` and its router, and how notifications are delivered;
- ``realname``: the real-name verification service (``yiyue.wechat.realname``'s protocol) and its
  deterministic answers (names ending in 假 fail, sequence digits 999 are a provider error);
- ``app``: the endpoints and ``create_fake_wechat_app``.

Only ``yiyue.app``, ``yiyue.cli`` and ``yiyue.demo`` import it (an import-linter contract), and tests.
"""

from yiyue.wechat.fake.app import create_fake_wechat_app
from yiyue.wechat.fake.errors import HelperInputError, WeChatApiError
from yiyue.wechat.fake.keys import FakePayKeys, generate_dev_pay_keys
from yiyue.wechat.fake.login import PATH_CODE2SESSION, PATH_STABLE_TOKEN, PATH_TOKEN, IssuedToken
from yiyue.wechat.fake.messages import (
    DEFAULT_TEMPLATES,
    PATH_SUBSCRIBE_SEND,
    TEMPLATE_BOOKING_CANCELLED,
    TEMPLATE_BOOKING_CONFIRMED,
    TEMPLATE_VISIT_REMINDER,
    TEMPLATE_WAITLIST_OFFERED,
    VALUE_RULES,
    SentMessage,
    key_kind,
)
from yiyue.wechat.fake.pay import Deliver, Delivery, DeliveryAttempt, FakePayState, PayApiError, asgi_deliverer
from yiyue.wechat.fake.realname import FakeRealNameState
from yiyue.wechat.fake.state import FakeWeChatState

__all__ = [
    "DEFAULT_TEMPLATES",
    "PATH_CODE2SESSION",
    "PATH_STABLE_TOKEN",
    "PATH_SUBSCRIBE_SEND",
    "PATH_TOKEN",
    "TEMPLATE_BOOKING_CANCELLED",
    "TEMPLATE_BOOKING_CONFIRMED",
    "TEMPLATE_VISIT_REMINDER",
    "TEMPLATE_WAITLIST_OFFERED",
    "VALUE_RULES",
    "Deliver",
    "Delivery",
    "DeliveryAttempt",
    "FakePayKeys",
    "FakePayState",
    "FakeRealNameState",
    "FakeWeChatState",
    "HelperInputError",
    "IssuedToken",
    "PayApiError",
    "SentMessage",
    "WeChatApiError",
    "asgi_deliverer",
    "create_fake_wechat_app",
    "generate_dev_pay_keys",
    "key_kind",
]
