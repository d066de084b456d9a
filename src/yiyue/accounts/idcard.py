"""Chinese resident ID numbers (居民身份证号码, GB 11643-1999): validation and what they tell."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# Province-level codes (the first two digits), GB/T 2260.
PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


class InvalidIdNumberReason:
    LENGTH = "号码应为18位"
    CHARACTERS = "号码只能包含数字，最后一位可为X"
    REGION = "地区码无效"
    BIRTH_DATE = "出生日期无效"
    CHECKSUM = "校验码不正确"


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # 男 / 女


def check_digit(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def parse_id_number(raw: str, *, today: date) -> IdNumber:
    """Validates an ID number and derives birth date and sex; raises ValueError with a Chinese reason."""
    value = normalize(raw).upper()
    if len(value) != 18:
        raise ValueError(InvalidIdNumberReason.LENGTH)
    if not _SHAPE.fullmatch(value):
        raise ValueError(InvalidIdNumberReason.CHARACTERS)
    if value[:2] not in PROVINCES:
        raise ValueError(InvalidIdNumberReason.REGION)
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValueError(InvalidIdNumberReason.BIRTH_DATE) from None
    if birth > today or birth.year < 1900:
        raise ValueError(InvalidIdNumberReason.BIRTH_DATE)
    if check_digit(value[:17]) != value[17]:
        raise ValueError(InvalidIdNumberReason.CHECKSUM)
    return IdNumber(value=value, birth_date=birth, sex="男" if int(value[16]) % 2 else "女")


def normalize(raw: str) -> str:
    """Full-width digits and letters (０-９, Ｘ) become ASCII, so one number has one spelling."""
    return unicodedata.normalize("NFKC", raw).strip()


def is_mobile(phone: str) -> bool:
    return MOBILE.fullmatch(phone) is not None


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
