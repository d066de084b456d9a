from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from yiyue.accounts.models import Relationship

RELATIONSHIP_LABELS = {
    Relationship.SELF: "本人",
    Relationship.PARENT: "父母",
    Relationship.CHILD: "子女",
    Relationship.SPOUSE: "配偶",
    Relationship.OTHER: "其他",
}


PERSON_NAME_ERROR = "姓名须为2-30个汉字或字母，可含·"
MIDDLE_DOT = "·"
_DOT_LOOKALIKES = re.compile(r"\s*[.．•・･‧∙⋅·]\s*")
_CJK_CHAR = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_LATIN_CHAR = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_PART = rf"[{_CJK_CHAR}{_LATIN_CHAR}]+"  # Chinese characters and letters
_JOIN = rf"(?:·|(?<=[{_LATIN_CHAR}]) (?=[{_LATIN_CHAR}]))"  # a middle dot, or a space between two letters
_PERSON_NAME = re.compile(rf"{_PART}(?:{_JOIN}{_PART})*")


def person_name(raw: str) -> str:
    """A visit person's name as stored, or ``PydanticCustomError("person_name", PERSON_NAME_ERROR)``.

    2-30 characters of Chinese (rare characters of the extension planes too) and Latin letters; a ``·``
    (middle dot, as in 阿依古丽·买买提) between parts, its look-alikes (``.`` ``•`` ``・`` ``．``…) read as
    ``·`` and spaces around it dropped; a single space only between two Latin letters ("John Smith"), runs
    of spaces made one. No digits, no other symbols, no emoji, no space between Chinese characters ("张 三"
    is refused: a Chinese name on an ID card has none, and the user should see the typo rather than have it
    silently changed). Full-width letters and spaces are read as half-width (NFKC). The length counts
    every character of the result, the dots and spaces included. ``miniprogram/utils/validate.js`` mirrors it.
    """
    name = unicodedata.normalize("NFKC", raw)
    name = " ".join(name.split())
    name = _DOT_LOOKALIKES.sub(MIDDLE_DOT, name)
    if not 2 <= len(name) <= 30 or _PERSON_NAME.fullmatch(name) is None:
        raise PydanticCustomError("person_name", PERSON_NAME_ERROR)
    return name


PersonName = Annotated[
    str,
    AfterValidator(person_name),
    Field(
        title="姓名",
        description="与身份证一致：2-30个汉字或字母，可含·（少数民族姓名）、英文单词间的空格",
        json_schema_extra={"minLength": 2, "maxLength": 30},
    ),
]
"""A visit person's (就诊人's) name, normalised (``person_name``)."""


class WeChatLoginIn(BaseModel):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class RefreshIn(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class AccountBrief(BaseModel):
    id: int
    is_new: bool


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_expires_in: int
    account: AccountBrief


class VisitPersonIn(BaseModel):
    name: PersonName
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    relationship: Relationship


class VisitPersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: PersonName | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None = None
    relationship: Relationship | None = None


class VisitPersonOut(BaseModel):
    id: int
    name: str
    relationship: Relationship
    relationship_label: str
    id_number_masked: str
    phone_masked: str
    birth_date: date
    sex: str
    age: int = Field(description="周岁")
    realname_status: Literal["unverified", "verified", "failed"] = Field(
        description="实名认证：unverified 未认证 / verified 已认证 / failed 认证失败；仅已认证的就诊人可预约"
    )
    realname_label: str = Field(description="未认证 / 已认证 / 认证失败")
    realname_message: str = Field(description="实名认证状态的说明")


class VisitPersonList(BaseModel):
    items: list[VisitPersonOut]
    total: int
