"""What reviews read and answer: the tags offered, a patient's review and its appointment's state, a
doctor's public list, and reviews as hospital staff see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from yiyue.hospitals.schemas import RatingOut
from yiyue.reviews import rules


class TagOut(BaseModel):
    tag: str
    positive: bool = Field(description="true：好评标签；false：待改进")


class TagList(BaseModel):
    tags: list[TagOut]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stars: int = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS, title="星级", description="1-5 颗星")
    tags: list[Annotated[str, StringConstraints(max_length=20)]] = Field(
        default_factory=list, max_length=len(rules.TAGS), title="评价标签", description="从 /review-tags 中选择"
    )
    text: str = Field(
        default="",
        max_length=rules.MAX_TEXT,
        title="评价内容",
        description="选填，最多300字；不能包含手机号、身份证号、邮箱或网址",
    )


class OwnReviewOut(BaseModel):
    """The patient's own review: hidden ones too, with the hospital's reason."""

    id: int
    stars: int
    tags: list[str]
    text: str
    created_at: datetime
    hidden: bool
    hidden_reason: str | None = Field(description="医院隐藏该评价的原因；未隐藏为 null")


class ReviewStateOut(BaseModel):
    reviewable: bool = Field(description="现在能否评价")
    review_until: datetime | None = Field(description="评价截止时间（就诊完成后30天）；未完成就诊为 null")
    reason: str | None = Field(description="不能评价的原因；能评价时为 null")
    review: OwnReviewOut | None


class PublicReviewOut(BaseModel):
    id: int
    stars: int
    tags: list[str]
    text: str
    reviewer: str = Field(description="评价人（脱敏：张*、欧阳**）")
    created_at: datetime


class DoctorReviewList(BaseModel):
    items: list[PublicReviewOut]
    total: int
    offset: int
    limit: int
    rating: RatingOut


class StaffReviewDoctor(BaseModel):
    id: int
    name: str
    title: str


class StaffReviewOut(BaseModel):
    id: int
    appointment_id: int
    hospital_id: int
    doctor: StaffReviewDoctor
    stars: int
    tags: list[str]
    text: str
    reviewer: str
    created_at: datetime
    hidden: bool
    hidden_at: datetime | None
    hidden_reason: str
    hidden_by: str


class StaffReviewList(BaseModel):
    items: list[StaffReviewOut]
    total: int
    offset: int
    limit: int


class HideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100)] = Field(
        title="隐藏原因", description="隐藏原因（患者可见，记入操作日志）"
    )
