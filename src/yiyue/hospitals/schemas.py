from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class DoctorBrief(_Out):
    id: int
    name: str
    title: str
    gender: str
    specialty: str
    fee_fen: int


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
