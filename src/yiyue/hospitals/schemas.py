from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from yiyue.hospitals.models import Doctor


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class CityOut(BaseModel):
    city: str
    hospitals: int


class CityList(BaseModel):
    """The cities that have hospitals, most hospitals first: the home page's city chips."""

    items: list[CityOut]


class HospitalBrief(_Out):
    id: int
    name: str
    level: str
    city: str
    district: str
    address: str
    phone: str


class BookingRules(BaseModel):
    release_days: int
    release_time: str  # "08:00", hospital local time
    stop_minutes_before: int
    cancel_minutes_before: int
    max_active_appointments: int
    max_unpaid_holds: int = Field(description="每个账号在本院同时可持有的待支付预约数（防黄牛占号）")
    release_mode: str = Field(description="放号方式：fcfs 先到先得；window 放号窗口内排队，截止后公平抽签")
    release_window_seconds: int = Field(description="抽签放号时窗口的秒数")
    payment_required: bool
    booking_open: bool = Field(description="false：医院暂停网上预约（可浏览，不可预约）")


class HospitalOut(HospitalBrief):
    intro: str
    booking_rules: BookingRules


class DepartmentBrief(_Out):
    id: int
    name: str
    location: str
    intro: str


class DepartmentOut(DepartmentBrief):
    hospital_id: int
    parent_id: int | None


class DepartmentNode(DepartmentBrief):
    children: list[DepartmentBrief]


class DepartmentTree(BaseModel):
    items: list[DepartmentNode]
    total: int


class RatingTag(BaseModel):
    tag: str
    count: int


class RatingOut(BaseModel):
    """A doctor's patient reviews (评价) in brief, from the totals kept on the doctor row."""

    average: float | None = Field(description="平均星级（1-5，保留1位小数，四舍五入）；尚无评价为 null")
    count: int = Field(description="评价条数（不含已隐藏的）")
    tags: list[RatingTag] = Field(description="各标签被选的次数，多的在前")

    @classmethod
    def of(cls, *, count: int, star_sum: int, tags: dict[str, int]) -> RatingOut:
        return cls(
            average=average_stars(star_sum, count),
            count=count,
            tags=[RatingTag(tag=t, count=n) for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0],
        )

    @classmethod
    def of_doctor(cls, doctor: Doctor) -> RatingOut:
        return cls.of(count=doctor.rating_count, star_sum=doctor.rating_star_sum, tags=doctor.rating_tags or {})


def average_stars(star_sum: int, count: int) -> float | None:
    """The average to one decimal, halves rounded up (4.25 -> 4.3), in integers so no float decides it."""
    if count <= 0:
        return None
    tenths = (star_sum * 20 + count) // (2 * count)
    return tenths / 10


class DoctorBrief(_Out):
    id: int
    name: str
    title: str
    gender: str
    specialty: str
    fee_fen: int
    rating: RatingOut

    @model_validator(mode="before")
    @classmethod
    def _rating_from_the_doctor_row(cls, data: Any) -> Any:
        """Read from a ``Doctor`` row, the rating comes from its columns (no query per doctor)."""
        if isinstance(data, Doctor):
            fields = {name: getattr(data, name) for name in cls.model_fields if hasattr(data, name)}
            return {**fields, "rating": RatingOut.of_doctor(data)}
        return data


class NamedRef(_Out):
    id: int
    name: str


class DepartmentRef(NamedRef):
    location: str


class DoctorOut(DoctorBrief):
    intro: str
    hospital: NamedRef
    department: DepartmentRef


Match = Annotated[
    Literal["name", "pinyin", "initials", "specialty", "department"],
    Field(description="命中方式：name 名称，pinyin 全拼，initials 拼音首字母，specialty 擅长，department 所在科室"),
]


class HospitalHit(_Out):
    id: int
    name: str
    level: str
    city: str
    district: str
    address: str
    match: Match


class DepartmentHit(BaseModel):
    id: int
    name: str
    parent_name: str | None = Field(description="所属大科室；大科室本身为 null")
    hospital: NamedRef
    match: Match


class DoctorHit(BaseModel):
    id: int
    name: str
    title: str
    specialty: str
    department: NamedRef
    hospital: NamedRef
    match: Match


class SearchOut(BaseModel):
    query: str = Field(description="去掉首尾空白后的搜索词")
    hospitals: list[HospitalHit]
    departments: list[DepartmentHit]
    doctors: list[DoctorHit]
