"""What the staff API and the console read and answer about the catalog: hospitals with their booking
rules, two-level departments, doctors. Each input field has a Chinese ``title`` so a console form's
refusal names it."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from yiyue.core.params import MAX_ID
from yiyue.hospitals.models import DoctorTitle
from yiyue.hospitals.schemas import BookingRules

HospitalLevel = Literal[
    "三级甲等", "三级乙等", "三级丙等", "二级甲等", "二级乙等", "二级丙等", "一级甲等", "一级乙等", "一级丙等", "未定级"
]
HOSPITAL_LEVELS: tuple[str, ...] = get_args(HospitalLevel)
ReleaseMode = Literal["fcfs", "window"]
RELEASE_MODE_OPTIONS = (("fcfs", "先到先得"), ("window", "放号窗口内排队，窗口结束后公平抽签"))
Gender = Literal["男", "女"]
GENDERS: tuple[str, ...] = get_args(Gender)
MAX_FEE_FEN = 1_000_000
"""A registration fee (挂号费) is at most ¥10000.00."""

OptionalId = Annotated[int | None, Field(ge=1, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- hospitals --------------------------------------------------------------------------------------


class HospitalIn(_In):
    """A hospital and its booking rules (预约规则), as the platform administrator enters them."""

    name: str = Field(title="医院名称", min_length=2, max_length=100)
    level: HospitalLevel = Field(title="医院等级")
    city: str = Field(title="城市", min_length=1, max_length=30)
    district: str = Field(title="区县", min_length=1, max_length=30)
    address: str = Field(title="地址", min_length=2, max_length=200)
    phone: str = Field(title="联系电话", min_length=5, max_length=40, pattern=r"^[0-9+\-() ]+$")
    intro: str = Field(default="", title="医院简介", max_length=2000)
    release_days: int = Field(default=7, title="放号周期", ge=1, le=30, description="可预约未来多少天（1-30）")
    release_time: time = Field(default=time(8, 0), title="每日放号时间", description="医院当地时间，如 08:00")
    stop_minutes_before: int = Field(
        default=0, title="停止挂号时间", ge=0, le=1440, description="每个出诊时段开始前多少分钟停止网上挂号"
    )
    cancel_minutes_before: int = Field(
        default=120, title="退号截止时间", ge=0, le=10080, description="出诊时段开始前多少分钟之前可退号"
    )
    max_active_appointments: int = Field(
        default=5, title="每人待就诊预约上限", ge=1, le=20, description="一个微信账号在本院同时持有的待就诊预约数"
    )
    payment_required: bool = Field(default=False, title="挂号费支付方式", description="true：网上预约时在线支付")
    waitlist_hold_minutes: int = Field(
        default=15, title="候补确认时限", ge=5, le=120, description="号源释放后为候补患者保留多少分钟待其确认（5-120）"
    )
    waitlist_max_entries: int = Field(
        default=3, title="每人候补上限", ge=1, le=10, description="一个账号在本院同时可有的候补数（1-10）"
    )
    member_share_percent: int = Field(
        default=0,
        title="会员预留比例（%）",
        ge=0,
        le=50,
        description="每个出诊时段网上号源中为会员预留的比例，按号数向下取整（0-50；对之后生成的排班生效）",
    )
    member_share_opens_hours: int = Field(
        default=24,
        title="会员预留开放时间（开诊前小时）",
        ge=0,
        le=168,
        description="开诊前多少小时起，会员预留号源向所有患者开放（0-168）",
    )
    release_mode: ReleaseMode = Field(
        default="fcfs",
        title="放号方式",
        description="fcfs：先到先得；window：放号窗口内的预约请求排队，窗口结束时公平抽签（排班可单独设置）",
    )
    release_window_seconds: int = Field(
        default=30,
        title="放号窗口时长（秒）",
        ge=10,
        le=600,
        description="抽签放号时，放号后多少秒内的请求参与抽签（10-600）",
    )
    max_unpaid_holds: int = Field(
        default=1,
        title="每账号未支付预约上限",
        ge=1,
        le=5,
        description="一个账号在本院同时可持有的待支付预约（占号）数，超出须先支付或取消（1-5）",
    )
    hold_abuse_threshold: int = Field(
        default=3,
        title="占号限制次数",
        ge=2,
        le=20,
        description="统计期内取消或超时未支付的预约达到此次数，暂停该账号网上预约（2-20）",
    )
    hold_abuse_window_days: int = Field(
        default=30, title="占号统计期（天）", ge=1, le=90, description="统计取消或超时未支付次数的天数（1-90）"
    )
    hold_abuse_ban_days: int = Field(
        default=7, title="占号限制时长（天）", ge=1, le=90, description="达到占号限制次数后暂停网上预约的天数（1-90）"
    )


class StaffHospitalOut(_Out):
    id: int
    name: str
    level: str
    city: str
    district: str
    address: str
    phone: str
    intro: str
    booking_rules: BookingRules
    booking_open: bool = Field(description="false：平台已暂停该医院的网上预约（医院资料仍对患者可见）")
    waitlist_hold_minutes: int = Field(default=15, description="候补确认时限（分钟）")
    waitlist_max_entries: int = Field(default=3, description="每个账号在本院同时可有的候补数")
    member_share_percent: int = Field(default=0, description="会员预留号源比例（%）")
    member_share_opens_hours: int = Field(default=24, description="开诊前多少小时会员预留向所有患者开放")
    release_mode: str = Field(default="fcfs", description="放号方式：fcfs 先到先得；window 放号窗口抽签")
    release_window_seconds: int = Field(default=30, description="放号窗口时长（秒）")
    max_unpaid_holds: int = Field(default=1, description="每个账号在本院同时可持有的待支付预约数")
    hold_abuse_threshold: int = Field(default=3, description="统计期内取消或超时未支付多少次后暂停预约")
    hold_abuse_window_days: int = Field(default=30, description="占号统计期（天）")
    hold_abuse_ban_days: int = Field(default=7, description="占号限制时长（天）")
    created_at: datetime


# --- departments ------------------------------------------------------------------------------------


class DepartmentIn(_In):
    """A department: top level (大科室) without ``parent_id``, a clinic (科室) under its 大科室 with it."""

    name: str = Field(title="科室名称", min_length=1, max_length=60)
    parent_id: OptionalId = Field(default=None, title="上级科室", description="为空：大科室；否则为其下的科室")
    location: str = Field(default="", title="位置", max_length=100)
    intro: str = Field(default="", title="科室简介", max_length=2000)


class DepartmentCreate(DepartmentIn):
    hospital_id: OptionalId = Field(default=None, title="医院", description="医院 id：平台管理员必填")


class MoveIn(_In):
    direction: Literal["up", "down"] = Field(title="方向", description="up：上移；down：下移（同级科室之间）")


class StaffDepartmentOut(_Out):
    id: int
    hospital_id: int
    parent_id: int | None
    name: str
    location: str
    intro: str
    sort_order: int
    active: bool = Field(description="false：已关闭，对患者隐藏")


class StaffDepartmentNode(StaffDepartmentOut):
    children: list[StaffDepartmentOut]


class StaffDepartmentTree(BaseModel):
    items: list[StaffDepartmentNode]
    total: int


# --- doctors ----------------------------------------------------------------------------------------


class DoctorFields(_In):
    """What a doctor is, whatever the currency of the fee (the API takes fen, the console yuan)."""

    name: str = Field(title="姓名", min_length=2, max_length=30)
    gender: Gender = Field(title="性别")
    title: DoctorTitle = Field(title="职称")
    department_id: int = Field(title="所属科室", ge=1, le=MAX_ID, description="本院开放中的科室（二级科室）")
    specialty: str = Field(default="", title="擅长", max_length=200)
    intro: str = Field(default="", title="医生简介", max_length=2000)


class DoctorIn(DoctorFields):
    fee_fen: int = Field(title="挂号费", ge=0, le=MAX_FEE_FEN, description="挂号费（分），0-1000000")


class DoctorCreate(DoctorIn):
    hospital_id: OptionalId = Field(default=None, title="医院", description="医院 id：平台管理员必填")


class StaffDepartmentRef(_Out):
    id: int
    name: str


class StaffDoctorOut(_Out):
    id: int
    hospital_id: int
    department: StaffDepartmentRef
    name: str
    gender: str
    title: str
    specialty: str
    intro: str
    fee_fen: int
    active: bool = Field(description="false：已离开本院，对患者隐藏")
