"""The demo hospitals (names invented), their booking rules and registration fees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from yiyue.hospitals.models import DoctorTitle


@dataclass(frozen=True)
class HospitalSpec:
    name: str
    level: str
    city: str
    district: str
    address: str
    phone: str
    intro: str
    top_departments: tuple[str, ...]
    release_days: int = 7
    release_time: time = time(8, 0)
    stop_minutes_before: int = 0
    cancel_minutes_before: int = 120
    max_active_appointments: int = 5
    payment_required: bool = False
    evening_clinics: bool = False
    max_clinics_per_department: int = 5
    doctors_per_clinic: tuple[int, int] = (2, 5)


HOSPITALS: tuple[HospitalSpec, ...] = (
    HospitalSpec(
        name="北京市景和医院",
        level="三级甲等",
        city="北京",
        district="东城区",
        address="北京市东城区朝阳门内大街218号",
        phone="010-65281736",
        intro=(
            "北京市景和医院始建于1952年，是一所集医疗、教学、科研、预防为一体的三级甲等综合医院。"
            "医院现有编制床位1800张，设有临床及医技科室50余个，心血管内科、神经外科为北京市重点专科。"
            "医院年门急诊量超过300万人次，全面推行预约挂号与分时段就诊。"
        ),
        top_departments=("内科", "外科", "妇产科", "儿科", "五官科", "口腔科", "中医科", "肿瘤科"),
        release_time=time(7, 30),
        stop_minutes_before=30,
        cancel_minutes_before=1440,
        max_active_appointments=3,
        payment_required=True,
        evening_clinics=True,
    ),
    HospitalSpec(
        name="上海浦澜医院",
        level="三级甲等",
        city="上海",
        district="浦东新区",
        address="上海市浦东新区张杨路1630号",
        phone="021-58736602",
        intro=(
            "上海浦澜医院创建于1958年，是一所大型三级甲等综合性医院，也是医学院附属教学医院。"
            "医院设有临床科室40余个，内分泌科、乳腺外科为上海市重点学科。"
            "医院积极推进智慧医疗，全面实行分时段预约诊疗和诊间结算。"
        ),
        top_departments=("内科", "外科", "妇产科", "儿科", "五官科", "皮肤性病科", "口腔科", "精神心理科"),
        release_days=14,
        cancel_minutes_before=1440,
        max_active_appointments=3,
        payment_required=True,
        evening_clinics=True,
    ),
    HospitalSpec(
        name="杭州市之江医院",
        level="三级乙等",
        city="杭州",
        district="西湖区",
        address="杭州市西湖区文三路415号",
        phone="0571-88213465",
        intro=(
            "杭州市之江医院创建于1965年，是一所三级乙等综合医院，承担西湖区及周边地区居民的医疗保健任务。"
            "医院核定床位800张，骨科、消化内科为杭州市医学重点专科。"
        ),
        top_departments=("内科", "外科", "妇产科", "儿科", "五官科", "皮肤性病科", "中医科"),
        stop_minutes_before=30,
    ),
    HospitalSpec(
        name="广州市荔湾区康和医院",
        level="二级甲等",
        city="广州",
        district="荔湾区",
        address="广州市荔湾区中山八路126号",
        phone="020-81712358",
        intro=(
            "广州市荔湾区康和医院是一所二级甲等综合医院，同时承担社区卫生服务中心职能。"
            "医院以全科医学和慢病管理为特色，与区内多家社区卫生服务站组成医联体。"
            "医院为辖区居民提供便捷的基本医疗、家庭医生签约和公共卫生服务。"
        ),
        top_departments=("全科医学科", "内科", "外科", "妇产科", "儿科", "中医科"),
        max_clinics_per_department=3,
        doctors_per_clinic=(2, 4),
    ),
)

# Registration fee (挂号费) in fen, by hospital level and title.
FEES_FEN: dict[str, dict[DoctorTitle, int]] = {
    "三级甲等": {
        DoctorTitle.CHIEF: 5000,
        DoctorTitle.ASSOCIATE_CHIEF: 3000,
        DoctorTitle.ATTENDING: 2000,
        DoctorTitle.RESIDENT: 1000,
    },
    "三级乙等": {
        DoctorTitle.CHIEF: 4000,
        DoctorTitle.ASSOCIATE_CHIEF: 2500,
        DoctorTitle.ATTENDING: 1500,
        DoctorTitle.RESIDENT: 800,
    },
    "二级甲等": {
        DoctorTitle.CHIEF: 2500,
        DoctorTitle.ASSOCIATE_CHIEF: 1800,
        DoctorTitle.ATTENDING: 1200,
        DoctorTitle.RESIDENT: 600,
    },
}

# Every hospital gets at least this many clinics and doctors; the generator tops up short draws.
MIN_CLINICS_PER_HOSPITAL = 12
MIN_DOCTORS_PER_HOSPITAL = 45
