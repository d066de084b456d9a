"""What the members API answers and accepts (会员中心, 积分流水, the platform's level settings)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LevelRef(BaseModel):
    code: str
    name: str


class NextLevelOut(LevelRef):
    min_points: int
    points_needed: int = Field(description="距该等级还差的近12个月积分")


class PrivilegesOut(BaseModel):
    booking_priority: int = Field(description="候补优先级：越高越先获得释放的号源")
    early_booking_minutes: int = Field(description="比公开放号提前多少分钟可预约（0：不提前）")
    member_share: bool = Field(description="可预约会员预留号源")
    can_cancel_late: bool = Field(description="过退号截止时间后、就诊开始前仍可取消并全额退款")
    discount_percent: int = Field(description="挂号费按此百分比支付：95 为九五折，100 为不打折")
    descriptions: list[str] = Field(description="权益说明（给患者看的文字）")


class LevelOut(LevelRef):
    min_points: int = Field(description="近12个月获得多少积分达到该等级")
    descriptions: list[str]


class MemberOut(BaseModel):
    """会员中心: the account's level and points, its privileges, every level and the rules."""

    level: LevelRef
    points_balance: int = Field(description="可用积分")
    points_12m: int = Field(description="近12个月获得的积分（决定等级）")
    next_level: NextLevelOut | None = Field(description="下一等级；已是最高等级时为 null")
    privileges: PrivilegesOut
    levels: list[LevelOut]
    earning_rules: list[str]
    expiry_rule: str


class PointsEntryOut(BaseModel):
    id: int
    delta: int = Field(description="积分变动：正为获得，负为使用、过期或扣减")
    balance_after: int
    kind: str = Field(description="visit / first_booking / review / adjust / spend / expire")
    kind_label: str
    note: str
    created_at: datetime
    expires_at: datetime | None = Field(description="这笔积分的到期时间（获得的积分才有）")


class LedgerOut(BaseModel):
    items: list[PointsEntryOut]
    total: int


# --- staff --------------------------------------------------------------------------------------------


class StaffLevelOut(LevelRef):
    id: int
    min_points: int
    booking_priority: int
    early_booking_minutes: int
    member_share: bool
    can_cancel_late: bool
    discount_percent: int
    descriptions: list[str]
    updated_at: datetime


class StaffLevelList(BaseModel):
    items: list[StaffLevelOut]


class LevelIn(BaseModel):
    """A level as the platform administrator saves it (its code stays)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(title="等级名称", min_length=1, max_length=20)
    min_points: int = Field(title="所需积分", ge=0, le=10_000_000, description="近12个月获得多少积分达到该等级")
    booking_priority: int = Field(title="候补优先级", ge=0, le=100)
    early_booking_minutes: int = Field(title="提前预约分钟数", ge=0, le=1440)
    member_share: bool = Field(title="可约会员预留号源")
    can_cancel_late: bool = Field(title="延时退号")
    discount_percent: int = Field(title="挂号费折扣（%）", ge=1, le=100, description="95 为九五折，100 为不打折")


class StaffMemberOut(BaseModel):
    """An account's standing and its latest ledger entries, as the platform administrator sees them."""

    account_id: int
    level: LevelRef
    points_balance: int
    points_12m: int
    level_since: datetime | None
    visit_persons: list[str] = Field(description="该账号的就诊人（姓名与脱敏手机号）")
    ledger: LedgerOut


class MemberSearchOut(BaseModel):
    account_ids: list[int] = Field(description="持有该身份证号就诊人的账号（可能有多个：家人共用）")


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delta: int = Field(title="调整积分", ge=-100_000, le=100_000, description="正数增加，负数扣减，不能为0")
    reason: str = Field(title="调整原因", min_length=1, max_length=200)
