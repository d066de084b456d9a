"""Subscribe messages: the path, the templates the fake knows, and the limits WeChat puts on their values.

The rules of sending are a method of ``FakeWeChatState`` (``yiyue.wechat.fake.state``), under its lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from yiyue.wechat.fake.errors import WeChatApiError

PATH_SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"

TEMPLATE_BOOKING_CONFIRMED = "yiyue-booking-confirmed"
TEMPLATE_VISIT_REMINDER = "yiyue-visit-reminder"
TEMPLATE_BOOKING_CANCELLED = "yiyue-booking-cancelled"
TEMPLATE_WAITLIST_OFFERED = "yiyue-waitlist-offered"
TEMPLATE_RELEASE_RESULT = "yiyue-release-result"

DEFAULT_TEMPLATES: dict[str, list[str]] = {
    # 预约成功通知: 就诊人, 就诊科室, 医生, 就诊时间, 预约单号
    TEMPLATE_BOOKING_CONFIRMED: ["name1", "thing2", "thing3", "time4", "character_string5"],
    # 就诊提醒: 就诊人, 就诊科室, 就诊时间, 就诊地点, 温馨提示
    TEMPLATE_VISIT_REMINDER: ["name1", "thing2", "time3", "thing4", "thing5"],
    # 预约取消通知: 就诊人, 就诊科室, 就诊时间, 预约状态, 取消原因
    TEMPLATE_BOOKING_CANCELLED: ["name1", "thing2", "time3", "phrase4", "thing5"],
    # 候补成功通知: 就诊人, 就诊科室, 医生, 就诊时间, 温馨提示
    TEMPLATE_WAITLIST_OFFERED: ["name1", "thing2", "thing3", "time4", "thing5"],
    # 抽签结果通知: 就诊人, 就诊科室, 医生, 就诊时间, 抽签结果
    TEMPLATE_RELEASE_RESULT: ["name1", "thing2", "thing3", "time4", "thing5"],
}

MINIPROGRAM_STATES = frozenset({"developer", "trial", "formal"})
LANGS = frozenset({"zh_CN", "en_US", "zh_HK", "zh_TW"})
PAGE = re.compile(r"[A-Za-z0-9_\-./]+(?:\?\S*)?")
"""What ``page`` may be: a mini-program page path, with a query or not."""


@dataclass(frozen=True)
class SentMessage:
    msgid: int
    touser: str
    template_id: str
    page: str | None
    data: dict[str, Any]
    miniprogram_state: str
    lang: str
    sent_at: str


# --- template data values -------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_DATE = rf"\d{{4}}(?:年{_MONTH}月{_DAY}日|-{_MONTH}-{_DAY}|/{_MONTH}/{_DAY})"
_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_POINT = rf"(?:{_DATE}(?:\s*{_TIME})?|{_TIME})"
_TIME_VALUE = re.compile(rf"{_POINT}(?:\s*~\s*{_POINT})?")
_AMOUNT_VALUE = re.compile(r"[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?")
_NUMBER_VALUE = re.compile(r"\d+(?:\.\d+)?")
_PHRASE_VALUE = re.compile(rf"[{_CJK}]{{1,5}}")
_CHARACTER_STRING_VALUE = re.compile(r"[\x21-\x7e]{1,32}")
_PHONE_VALUE = re.compile(r"[\d+\-() ]{1,17}")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_TEMPLATE_KEY = re.compile(r"([a-z_]+?)(\d+)")


def _valid_name(value: str) -> bool:
    # WeChat: up to 10 Chinese characters, or up to 20 letters/symbols; mixed counts as Chinese.
    if not value or any(ch.isdigit() for ch in value):
        return False
    return len(value) <= (10 if _HAS_CJK.search(value) else 20)


VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: 1 <= len(v) <= 20,
    "character_string": lambda v: _CHARACTER_STRING_VALUE.fullmatch(v) is not None,
    "phrase": lambda v: _PHRASE_VALUE.fullmatch(v) is not None,
    "time": lambda v: _TIME_VALUE.fullmatch(v) is not None,
    "date": lambda v: _TIME_VALUE.fullmatch(v) is not None,
    "number": lambda v: len(v) <= 32 and _NUMBER_VALUE.fullmatch(v) is not None,
    "name": _valid_name,
    "phone_number": lambda v: _PHONE_VALUE.fullmatch(v) is not None,
    "amount": lambda v: _AMOUNT_VALUE.fullmatch(v) is not None,
}
"""Value limits per template key kind (the key without its number: ``thing1`` -> ``thing``)."""


def key_kind(key: str) -> str | None:
    match = _TEMPLATE_KEY.fullmatch(key)
    return match.group(1) if match and match.group(1) in VALUE_RULES else None


def checked_templates(templates: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Fails at start-up on a key the fake cannot validate, rather than on the first send."""
    checked: dict[str, tuple[str, ...]] = {}
    for template_id, keys in templates.items():
        unknown = [key for key in keys if key_kind(key) is None]
        if unknown or not keys:
            raise ValueError(f"template {template_id!r} has keys of unknown kind: {unknown or 'none given'}")
        checked[template_id] = tuple(keys)
    return checked


def check_template_data(keys: tuple[str, ...], data: Any) -> None:
    if not isinstance(data, dict):
        raise WeChatApiError(47003, "argument invalid! data")
    for key in keys:
        entry = data.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value:
            raise WeChatApiError(47003, f"argument invalid! data.{key}.value is empty")
        kind = key_kind(key)
        if kind is None or not VALUE_RULES[kind](value):
            raise WeChatApiError(47003, f"argument invalid! data.{key}.value invalid")
    extra = sorted(set(data) - set(keys))
    if extra:
        raise WeChatApiError(47003, f"argument invalid! data.{extra[0]} not in template")
