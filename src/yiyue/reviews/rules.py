"""Pure review rules (评价): the tags a patient picks from, the stars, the text and what it may not carry,
how the reviewer is shown, the 30-day window, and the doctor's running totals. No database."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from yiyue.core.errors import DomainError
from yiyue.reviews.errors import (
    InvalidStars,
    NotReviewable,
    ReviewExists,
    ReviewTextRejected,
    ReviewTextTooLong,
    ReviewWindowClosed,
    UnknownReviewTag,
)


@dataclass(frozen=True)
class Tag:
    tag: str
    positive: bool


TAGS: tuple[Tag, ...] = (
    Tag("耐心细致", True),
    Tag("解释清楚", True),
    Tag("医术高明", True),
    Tag("态度很好", True),
    Tag("疗效显著", True),
    Tag("等待时间长", False),
    Tag("沟通不足", False),
    Tag("问诊匆忙", False),
)
"""The tags offered, in the order shown: praise first, then what went less well."""
TAG_NAMES = frozenset(t.tag for t in TAGS)
POSITIVE = frozenset(t.tag for t in TAGS if t.positive)

MIN_STARS = 1
MAX_STARS = 5
MAX_TEXT = 300
"""Characters of free text (optional)."""
REVIEW_WINDOW = timedelta(days=30)
"""A completed visit may be reviewed for this long after it was completed."""


# --- stars and tags ---------------------------------------------------------------------------------


def check_stars(stars: int) -> int:
    if not MIN_STARS <= stars <= MAX_STARS:
        raise InvalidStars()
    return stars


def check_tags(tags: list[str]) -> list[str]:
    """The tags picked, each once, in the order given; a tag not offered is refused (``UNKNOWN_REVIEW_TAG``)."""
    picked = list(dict.fromkeys(t.strip() for t in tags))
    unknown = [t for t in picked if t not in TAG_NAMES]
    if unknown:
        raise UnknownReviewTag(f"没有这个评价标签：{'、'.join(unknown)}", detail={"tags": unknown})
    return picked


# --- the text ---------------------------------------------------------------------------------------


class TextProblem(StrEnum):
    PHONE = "phone"
    ID_NUMBER = "id_number"
    CONTACT = "contact"  # an e-mail address or a link
    ABUSE = "abuse"


TEXT_PROBLEMS = {
    TextProblem.PHONE: "评价内容不能包含手机号或电话号码",
    TextProblem.ID_NUMBER: "评价内容不能包含身份证号",
    TextProblem.CONTACT: "评价内容不能包含邮箱或网址",
    TextProblem.ABUSE: "评价内容含有不文明用语，请修改后再提交",
}

ABUSIVE_WORDS: tuple[str, ...] = (
    "傻逼",
    "傻b",
    "煞笔",
    "沙比",
    "脑残",
    "白痴",
    "弱智",
    "庸医",
    "垃圾医生",
    "狗屁",
    "去死",
    "滚蛋",
    "混蛋",
    "王八蛋",
    "畜生",
    "操你",
    "草泥马",
    "他妈的",
    "fuck",
    "shit",
)
"""A small list, matched after spaces and punctuation are taken out (傻 逼, 傻*逼). Moderation by staff
(hiding a review) catches the rest."""

# Between the digits of a number people write a space, a dash or a dot: 138 1234 5678, 010-12345678.
_SEP = r"[\s\-_.·]?"
_MOBILE = re.compile(rf"(?<!\d)1[3-9]\d(?:{_SEP}\d){{8}}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[\s\-]?\d{7,8}(?!\d)")
_ID_NUMBER = re.compile(rf"(?<!\d)(\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dX]|\d{{15}})(?![\dX])", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"\d{7,}")
"""Seven digits in a row or more: a QQ number, a number without its area code. Money, ages, durations
and dates written with dashes are shorter."""
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+", re.IGNORECASE)
_LINK = re.compile(
    r"(https?://|www\.|(?<![a-z0-9-])[a-z0-9-]+\.(com|cn|net|org|top|xyz|cc|info|vip)(?![a-z0-9]))",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+")


def check_text(text: str) -> str:
    """The review's text as kept (ends stripped): at most 300 characters, and none of a phone number, an
    ID number, an e-mail address or a link (a review is public) or a word of the abuse list."""
    kept = text.strip()
    if len(kept) > MAX_TEXT:
        raise ReviewTextTooLong()
    problem = text_problem(kept)
    if problem is not None:
        raise ReviewTextRejected(TEXT_PROBLEMS[problem], detail={"reason": problem.value})
    return kept


def text_problem(text: str) -> TextProblem | None:
    """What the text may not carry, the first found; None when it is fine. Full-width characters
    (１３８, ＠) count as their ASCII forms."""
    plain = unicodedata.normalize("NFKC", text)
    if _ID_NUMBER.search(plain):
        return TextProblem.ID_NUMBER
    if _MOBILE.search(plain) or _LANDLINE.search(plain) or _LONG_NUMBER.search(plain):
        return TextProblem.PHONE
    if _EMAIL.search(plain) or _LINK.search(plain):
        return TextProblem.CONTACT
    squeezed = _NOT_WORD.sub("", plain).lower()
    if any(word in squeezed for word in ABUSIVE_WORDS):
        return TextProblem.ABUSE
    return None


# --- the reviewer, masked ---------------------------------------------------------------------------

COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "端木",
        "独孤",
        "南宫",
        "西门",
        "百里",
        "呼延",
        "澹台",
        "公冶",
        "申屠",
        "钟离",
        "闻人",
        "万俟",
        "赫连",
        "太史",
        "濮阳",
        "第五",
        "左丘",
        "东郭",
        "拓跋",
    }
)


def mask_reviewer(name: str) -> str:
    """How a reviewer is shown: the surname and a star for each character of the given name, at most two
    (张三 -> 张*, 张三丰 -> 张**, 欧阳娜娜 -> 欧阳**), so a long name does not tell its length."""
    name = name.strip()
    if not name:
        return "匿名患者"
    surname = name[:2] if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else name[:1]
    given = len(name) - len(surname)
    return surname + "*" * max(1, min(given, 2))


# --- when a visit may be reviewed -----------------------------------------------------------------


def review_until(completed_at: datetime) -> datetime:
    return completed_at + REVIEW_WINDOW


def why_not_reviewable(
    *, completed: bool, completed_at: datetime | None, reviewed: bool, now: datetime
) -> type[DomainError] | None:
    """Why this visit cannot be reviewed now (the error to raise or whose message to show), or None: it
    was completed, has no review yet, and was completed no more than 30 days ago."""
    if not completed or completed_at is None:
        return NotReviewable
    if reviewed:
        return ReviewExists
    if now > review_until(completed_at):
        return ReviewWindowClosed
    return None


# --- the doctor's totals --------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    """A doctor's visible reviews in three numbers (kept on the doctor row)."""

    count: int = 0
    star_sum: int = 0
    tags: dict[str, int] = field(default_factory=dict)

    def plus(self, stars: int, tags: list[str]) -> Totals:
        counted = dict(self.tags)
        for tag in tags:
            counted[tag] = counted.get(tag, 0) + 1
        return Totals(self.count + 1, self.star_sum + stars, counted)

    def minus(self, stars: int, tags: list[str]) -> Totals:
        """Without one review it counted (hidden); never below zero, whatever drifted."""
        counted = dict(self.tags)
        for tag in tags:
            left = counted.get(tag, 0) - 1
            if left > 0:
                counted[tag] = left
            else:
                counted.pop(tag, None)
        return Totals(max(0, self.count - 1), max(0, self.star_sum - stars), counted)
