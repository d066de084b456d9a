from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.accounts.models import Relationship

RELATIONSHIP_LABELS = {
    Relationship.SELF: "本人",
    Relationship.PARENT: "父母",
    Relationship.CHILD: "子女",
    Relationship.SPOUSE: "配偶",
    Relationship.OTHER: "其他",
}

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=30)]


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
    name: Name
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    relationship: Relationship


class VisitPersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
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


class VisitPersonList(BaseModel):
    items: list[VisitPersonOut]
    total: int
