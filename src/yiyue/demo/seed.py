"""Repeatable demo data (演示数据): hospitals, two-level departments, doctors and two weeks of schedules.

Everything is drawn from one ``random.Random(random_seed)`` in a fixed order, so the same seed and the
same ``today`` give the same rows (ids too, on a fresh database) on any machine. Hospital names are invented.
Schedules go through the scheduling service (``create_schedules``, the batch form of ``create_schedule``),
so their slots, release times and fees follow the same rules as in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.hospitals.models import Department, Doctor, DoctorTitle, Hospital
from yiyue.hospitals.search import initials
from yiyue.scheduling import service as scheduling_service
from yiyue.scheduling.models import Period, Schedule, ScheduleTemplate, Slot
from yiyue.scheduling.service import ScheduleSpec

DEFAULT_RANDOM_SEED = 20261121

MALE = "男"
FEMALE = "女"


# --- Catalogue: 大科室 and the 科室 (clinics) they can hold -------------------------------------------


@dataclass(frozen=True)
class ClinicSpec:
    name: str
    intro: str
    conditions: tuple[str, ...]
    """What its doctors treat; a doctor's specialty names two to four of these."""
    treatment: str = "的诊治"
    female_share: float = 0.5
    core: bool = False
    """Every hospital that has the 大科室 has this clinic (no 内科 without 心血管内科)."""
    tertiary_only: bool = False
    """A specialty only tertiary (三级) hospitals run."""


@dataclass(frozen=True)
class TopDepartmentSpec:
    name: str
    intro: str
    clinics: tuple[ClinicSpec, ...]


_SURGICAL = 0.25

TOP_DEPARTMENTS: dict[str, TopDepartmentSpec] = {
    spec.name: spec
    for spec in (
        TopDepartmentSpec(
            "内科",
            "内科涵盖心血管、呼吸、消化、神经、内分泌等专业，承担常见病、多发病及疑难危重症的诊治。",
            (
                ClinicSpec(
                    "心血管内科",
                    "开展冠心病、高血压、心律失常等心血管疾病的规范化诊治及介入治疗。",
                    ("冠心病", "高血压", "心律失常", "心力衰竭", "心肌病", "血脂异常"),
                    core=True,
                ),
                ClinicSpec(
                    "呼吸内科",
                    "专注慢性阻塞性肺疾病、哮喘、肺部感染及肺结节的诊断与随访。",
                    ("慢性阻塞性肺疾病", "支气管哮喘", "肺部感染", "肺结节", "间质性肺病", "慢性咳嗽"),
                    core=True,
                ),
                ClinicSpec(
                    "消化内科",
                    "诊治胃肠及肝胆胰疾病，开展胃肠镜检查及内镜下微创治疗。",
                    ("慢性胃炎", "消化性溃疡", "胃食管反流病", "炎症性肠病", "脂肪肝", "幽门螺杆菌感染"),
                    core=True,
                ),
                ClinicSpec(
                    "神经内科",
                    "诊治脑血管病、头痛、癫痫、帕金森病及认知障碍等神经系统疾病。",
                    ("脑梗死", "头痛", "眩晕", "癫痫", "帕金森病", "阿尔茨海默病"),
                    core=True,
                ),
                ClinicSpec(
                    "内分泌科",
                    "开展糖尿病、甲状腺疾病、骨质疏松等内分泌代谢病的诊治与健康管理。",
                    ("糖尿病", "甲状腺功能亢进症", "甲状腺结节", "骨质疏松症", "肥胖症", "痛风"),
                ),
                ClinicSpec(
                    "肾内科",
                    "诊治各类肾小球疾病及慢性肾脏病，并开展血液透析与腹膜透析。",
                    ("慢性肾脏病", "肾小球肾炎", "肾病综合征", "糖尿病肾病", "高尿酸血症"),
                ),
                ClinicSpec(
                    "血液内科",
                    "诊治贫血、白血病、淋巴瘤等血液系统疾病。",
                    ("缺铁性贫血", "白血病", "淋巴瘤", "多发性骨髓瘤", "血小板减少症"),
                    tertiary_only=True,
                ),
                ClinicSpec(
                    "风湿免疫科",
                    "诊治类风湿关节炎、系统性红斑狼疮、强直性脊柱炎等风湿免疫病。",
                    ("类风湿关节炎", "系统性红斑狼疮", "强直性脊柱炎", "干燥综合征", "痛风性关节炎"),
                    female_share=0.6,
                    tertiary_only=True,
                ),
            ),
        ),
        TopDepartmentSpec(
            "外科",
            "外科设有普通外科、骨科、泌尿外科、神经外科等专业，开展常规手术及腔镜微创手术。",
            (
                ClinicSpec(
                    "普通外科",
                    "开展甲状腺、胃肠、疝及腹部外科疾病的手术与腔镜微创治疗。",
                    ("甲状腺肿瘤", "胃肠肿瘤", "腹股沟疝", "胆囊结石", "阑尾炎", "下肢静脉曲张"),
                    "的外科治疗",
                    _SURGICAL,
                    core=True,
                ),
                ClinicSpec(
                    "骨科",
                    "诊治脊柱、关节及创伤骨科疾病，开展关节置换及关节镜手术。",
                    ("颈椎病", "腰椎间盘突出症", "膝关节骨关节炎", "骨折创伤", "运动损伤", "股骨头坏死"),
                    "的诊治及手术治疗",
                    0.15,
                    core=True,
                ),
                ClinicSpec(
                    "泌尿外科",
                    "诊治泌尿系结石、前列腺疾病及泌尿系肿瘤，开展经尿道微创手术。",
                    ("泌尿系结石", "前列腺增生", "前列腺炎", "膀胱肿瘤", "肾肿瘤", "男性不育"),
                    female_share=0.15,
                ),
                ClinicSpec(
                    "神经外科",
                    "开展颅脑肿瘤、脑血管病、颅脑外伤及功能神经外科手术。",
                    ("脑胶质瘤", "垂体瘤", "脑膜瘤", "颅内动脉瘤", "颅脑外伤", "三叉神经痛"),
                    "的手术治疗",
                    0.15,
                    tertiary_only=True,
                ),
                ClinicSpec(
                    "胸外科",
                    "开展肺癌、食管癌及纵隔肿瘤的胸腔镜微创手术。",
                    ("肺癌", "肺结节", "食管癌", "纵隔肿瘤", "自发性气胸", "手汗症"),
                    "的微创手术治疗",
                    _SURGICAL,
                    tertiary_only=True,
                ),
                ClinicSpec(
                    "乳腺外科",
                    "诊治乳腺良恶性疾病，开展乳腺癌规范化综合治疗。",
                    ("乳腺结节", "乳腺增生", "乳腺癌", "急性乳腺炎", "副乳腺"),
                    female_share=0.6,
                ),
                ClinicSpec(
                    "肝胆外科",
                    "诊治肝胆胰疾病，开展腹腔镜胆囊切除及肝脏肿瘤手术。",
                    ("胆囊结石", "胆管结石", "肝癌", "肝血管瘤", "胰腺肿瘤"),
                    "的外科治疗",
                    _SURGICAL,
                ),
            ),
        ),
        TopDepartmentSpec(
            "妇产科",
            "妇产科承担孕产期保健、分娩及妇科疾病的诊治，设有产科、妇科等专业。",
            (
                ClinicSpec(
                    "产科",
                    "提供孕期保健、产前检查、高危妊娠管理及分娩服务。",
                    ("高危妊娠", "妊娠期糖尿病", "妊娠期高血压疾病", "前置胎盘", "双胎妊娠"),
                    "的诊治与孕期管理",
                    0.9,
                    core=True,
                ),
                ClinicSpec(
                    "妇科",
                    "诊治子宫肌瘤、卵巢囊肿等妇科疾病，开展宫腔镜、腹腔镜微创手术。",
                    ("子宫肌瘤", "卵巢囊肿", "子宫内膜异位症", "宫颈病变", "月经失调", "盆腔炎"),
                    female_share=0.85,
                    core=True,
                ),
                ClinicSpec(
                    "生殖医学科",
                    "开展不孕不育的诊治及辅助生殖技术。",
                    ("女性不孕症", "多囊卵巢综合征", "复发性流产", "卵巢功能减退"),
                    female_share=0.8,
                    tertiary_only=True,
                ),
            ),
        ),
        TopDepartmentSpec(
            "儿科",
            "儿科为0至18岁儿童提供常见病、多发病的诊治及生长发育评估。",
            (
                ClinicSpec(
                    "小儿内科",
                    "诊治儿童呼吸道感染、消化系统疾病及常见发热性疾病。",
                    ("小儿发热", "儿童肺炎", "儿童哮喘", "小儿腹泻", "儿童过敏性疾病"),
                    female_share=0.65,
                    core=True,
                ),
                ClinicSpec(
                    "小儿外科",
                    "开展儿童疝气、隐睾、包茎等先天性疾病的手术治疗。",
                    ("小儿腹股沟疝", "隐睾", "包茎", "鞘膜积液", "先天性巨结肠"),
                    "的手术治疗",
                    0.3,
                ),
                ClinicSpec(
                    "新生儿科",
                    "负责新生儿常见病及早产儿的诊治与随访。",
                    ("新生儿黄疸", "早产儿", "新生儿肺炎", "新生儿喂养困难"),
                    "的诊治与随访",
                    0.7,
                ),
                ClinicSpec(
                    "儿童保健科",
                    "提供儿童生长发育监测、营养指导及预防保健服务。",
                    ("生长发育迟缓", "矮小症", "儿童营养不良", "语言发育迟缓", "注意缺陷多动障碍"),
                    "的评估与干预",
                    0.75,
                ),
            ),
        ),
        TopDepartmentSpec(
            "五官科",
            "五官科包括眼科、耳鼻咽喉科等专业，诊治眼及耳鼻咽喉疾病。",
            (
                ClinicSpec(
                    "眼科",
                    "开展白内障、青光眼、眼底病的诊治及屈光矫正。",
                    ("白内障", "青光眼", "糖尿病视网膜病变", "干眼症", "屈光不正", "斜视与弱视"),
                    core=True,
                ),
                ClinicSpec(
                    "耳鼻咽喉科",
                    "诊治鼻炎、鼻窦炎、中耳炎、听力下降及咽喉疾病。",
                    ("慢性鼻窦炎", "过敏性鼻炎", "中耳炎", "突发性耳聋", "声带息肉", "阻塞性睡眠呼吸暂停"),
                    core=True,
                ),
                ClinicSpec(
                    "头颈外科",
                    "开展甲状腺、涎腺及头颈部肿瘤的手术治疗。",
                    ("甲状腺癌", "腮腺肿瘤", "喉癌", "颈部肿块"),
                    "的手术治疗",
                    _SURGICAL,
                    tertiary_only=True,
                ),
            ),
        ),
        TopDepartmentSpec(
            "皮肤性病科",
            "皮肤性病科诊治各类常见皮肤病及性传播疾病，并提供医学美容服务。",
            (
                ClinicSpec(
                    "皮肤科",
                    "诊治湿疹、荨麻疹、银屑病、痤疮等常见皮肤病。",
                    ("湿疹", "荨麻疹", "银屑病", "痤疮", "白癜风", "带状疱疹"),
                    female_share=0.6,
                    core=True,
                ),
                ClinicSpec(
                    "性病科",
                    "提供性传播疾病的检测、诊治及咨询。",
                    ("尖锐湿疣", "梅毒", "淋病", "非淋菌性尿道炎"),
                    female_share=0.4,
                ),
                ClinicSpec(
                    "医学美容科",
                    "开展激光美容及色素性皮肤病、瘢痕的治疗。",
                    ("黄褐斑", "增生性瘢痕", "血管瘤", "皮肤光老化"),
                    "的激光及综合治疗",
                    0.7,
                ),
            ),
        ),
        TopDepartmentSpec(
            "中医科",
            "中医科运用中药、针灸、推拿等传统疗法，诊治内、妇、骨伤等各科疾病。",
            (
                ClinicSpec(
                    "中医内科",
                    "以辨证论治为特色，调治脾胃病、失眠及慢性咳嗽等病症。",
                    ("脾胃病", "失眠", "慢性咳嗽", "头痛眩晕", "更年期综合征"),
                    "的中医药调治",
                    core=True,
                ),
                ClinicSpec(
                    "针灸科",
                    "运用针刺、艾灸、拔罐等方法治疗颈肩腰腿痛、面瘫等疾病。",
                    ("颈肩腰腿痛", "面瘫", "中风后遗症", "失眠", "偏头痛"),
                    "的针灸治疗",
                    core=True,
                ),
                ClinicSpec(
                    "推拿科",
                    "以手法治疗颈椎病、腰椎间盘突出症及软组织损伤。",
                    ("颈椎病", "腰椎间盘突出症", "肩周炎", "急性腰扭伤", "小儿消化不良"),
                    "的推拿治疗",
                    0.35,
                ),
                ClinicSpec(
                    "中医妇科",
                    "运用中医药调治月经不调、不孕症及更年期综合征。",
                    ("月经不调", "痛经", "不孕症", "更年期综合征", "产后体虚"),
                    "的中医药调治",
                    0.8,
                ),
            ),
        ),
        TopDepartmentSpec(
            "口腔科",
            "口腔科开展口腔内科、颌面外科、正畸及修复等口腔诊疗服务。",
            (
                ClinicSpec(
                    "口腔内科",
                    "诊治龋病、牙髓病、根尖周病及牙周疾病。",
                    ("龋齿", "牙髓炎", "根尖周炎", "牙周炎", "口腔黏膜病"),
                    core=True,
                ),
                ClinicSpec(
                    "口腔颌面外科",
                    "开展阻生智齿拔除、颌面部外伤及口腔颌面部肿瘤手术。",
                    ("阻生智齿", "颌面部外伤", "口腔颌面部肿瘤", "颞下颌关节紊乱病"),
                    "的诊治及手术治疗",
                    0.3,
                ),
                ClinicSpec(
                    "口腔正畸科",
                    "为儿童及成人提供牙颌畸形的矫治。",
                    ("牙列拥挤", "反颌", "深覆合", "牙颌面畸形"),
                    "的正畸治疗",
                    0.6,
                ),
                ClinicSpec(
                    "口腔修复科",
                    "开展全瓷冠、种植义齿及活动义齿修复。",
                    ("牙体缺损", "牙列缺损", "牙列缺失", "前牙美学缺陷"),
                    "的修复治疗",
                ),
            ),
        ),
        TopDepartmentSpec(
            "肿瘤科",
            "肿瘤科开展各类实体肿瘤的化疗、靶向、免疫治疗及放射治疗。",
            (
                ClinicSpec(
                    "肿瘤内科",
                    "开展肺癌、胃肠道肿瘤、乳腺癌等实体瘤的规范化药物治疗。",
                    ("肺癌", "胃癌", "结直肠癌", "乳腺癌", "肝癌"),
                    "的化疗、靶向及免疫治疗",
                    core=True,
                ),
                ClinicSpec(
                    "放疗科",
                    "开展调强放疗、立体定向放疗等精准放射治疗。",
                    ("鼻咽癌", "食管癌", "肺癌", "宫颈癌", "脑转移瘤"),
                    "的放射治疗",
                    tertiary_only=True,
                ),
            ),
        ),
        TopDepartmentSpec(
            "精神心理科",
            "精神心理科诊治焦虑、抑郁、失眠等精神心理问题，并提供心理咨询与治疗。",
            (
                ClinicSpec(
                    "精神科",
                    "诊治抑郁症、焦虑症、双相障碍等精神心理疾病。",
                    ("抑郁症", "焦虑症", "双相情感障碍", "强迫症", "精神分裂症"),
                    core=True,
                ),
                ClinicSpec(
                    "心理咨询科",
                    "提供个体心理咨询、心理评估及心理治疗。",
                    ("情绪困扰", "人际关系问题", "青少年心理问题", "职场压力"),
                    "的心理咨询与治疗",
                    0.65,
                ),
                ClinicSpec(
                    "睡眠医学科",
                    "诊治失眠、睡眠呼吸暂停等各类睡眠障碍。",
                    ("失眠症", "睡眠呼吸暂停", "发作性睡病", "不宁腿综合征"),
                    tertiary_only=True,
                ),
            ),
        ),
        TopDepartmentSpec(
            "全科医学科",
            "全科医学科为社区居民提供常见病诊治、慢病管理及健康咨询的连续性服务。",
            (
                ClinicSpec(
                    "全科门诊",
                    "诊治感冒、发热、腹痛等常见病、多发病，并提供双向转诊服务。",
                    ("上呼吸道感染", "发热", "高血压", "糖尿病", "慢性胃炎"),
                    core=True,
                ),
                ClinicSpec(
                    "慢病管理门诊",
                    "为高血压、糖尿病等慢性病患者提供长期随访与用药指导。",
                    ("高血压", "糖尿病", "高脂血症", "慢性阻塞性肺疾病", "脑卒中后康复"),
                    "的长期管理与用药指导",
                    core=True,
                ),
                ClinicSpec(
                    "老年医学科",
                    "为老年人提供多病共存、跌倒、认知下降等问题的综合评估与管理。",
                    ("多病共存", "骨质疏松症", "认知障碍", "跌倒", "老年营养不良"),
                    "的综合评估与管理",
                ),
            ),
        ),
    )
}

# Departments that sit in their own building; the rest share the outpatient building (门诊楼).
_OWN_BUILDINGS = {"儿科": "儿童诊疗中心", "中医科": "中医馆", "口腔科": "口腔诊疗中心"}


# --- Hospitals --------------------------------------------------------------------------------------


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

MIN_CLINICS_PER_HOSPITAL = 12
MIN_DOCTORS_PER_HOSPITAL = 45


# --- Doctors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopularExpert:
    """A sought-after specialist (知名专家): few numbers per session, so they go fast on release."""

    hospital: str
    clinic: str
    name: str
    gender: str
    specialty: str
    intro: str
    capacity: int = 10


POPULAR_EXPERTS: tuple[PopularExpert, ...] = (
    PopularExpert(
        hospital="北京市景和医院",
        clinic="心血管内科",
        name="周振华",
        gender=MALE,
        specialty="复杂冠心病的介入治疗，难治性高血压、心力衰竭的诊治",
        intro="医学博士，博士研究生导师，心血管内科学科带头人。从事心血管临床工作三十余年，完成冠脉介入手术逾万例。",
    ),
    PopularExpert(
        hospital="上海浦澜医院",
        clinic="内分泌科",
        name="沈雅琴",
        gender=FEMALE,
        specialty="糖尿病及其并发症、甲状腺疾病、疑难内分泌代谢病的诊治",
        intro="医学博士，博士研究生导师，内分泌科主任。长期致力于糖尿病及其并发症的临床与研究，主持多项国家级科研课题。",
    ),
    PopularExpert(
        hospital="杭州市之江医院",
        clinic="骨科",
        name="蒋国平",
        gender=MALE,
        specialty="脊柱退行性疾病、膝髋关节置换、运动损伤的诊治及手术治疗",
        intro="骨科主任，省医学会骨科学分会委员。从事骨科临床工作二十余年，尤其擅长脊柱微创手术。",
    ),
    PopularExpert(
        hospital="广州市荔湾区康和医院",
        clinic="中医内科",
        name="梁慧珍",
        gender=FEMALE,
        specialty="脾胃病、失眠、小儿厌食的中医药调治及体质调理",
        intro="区名中医，从事中医内科临床工作三十余年。擅长运用岭南中医药特色疗法调治脾胃病及体质调理。",
    ),
)

# Roughly the title mix of a Chinese outpatient roster.
TITLE_WEIGHTS: dict[DoctorTitle, int] = {
    DoctorTitle.CHIEF: 15,
    DoctorTitle.ASSOCIATE_CHIEF: 25,
    DoctorTitle.ATTENDING: 40,
    DoctorTitle.RESIDENT: 20,
}
_TITLE_RANK = {title: rank for rank, title in enumerate(TITLE_WEIGHTS)}

# Patients per half-day session, by title; senior doctors see fewer, longer visits.
CAPACITY_RANGES: dict[DoctorTitle, tuple[int, int]] = {
    DoctorTitle.CHIEF: (8, 15),
    DoctorTitle.ASSOCIATE_CHIEF: (15, 25),
    DoctorTitle.ATTENDING: (20, 35),
    DoctorTitle.RESIDENT: (25, 40),
}

# Half-day sessions per week, by title.
SESSIONS_PER_WEEK: dict[DoctorTitle, tuple[int, int]] = {
    DoctorTitle.CHIEF: (3, 4),
    DoctorTitle.ASSOCIATE_CHIEF: (3, 5),
    DoctorTitle.ATTENDING: (4, 6),
    DoctorTitle.RESIDENT: (4, 6),
}

# Surnames by rough frequency; the weights only need to look right in a list of names.
SURNAME_WEIGHTS: dict[str, int] = {
    "王李张": 70,
    "刘陈": 50,
    "杨黄赵吴周": 25,
    "徐孙马朱胡郭": 15,
    "何林罗高郑梁谢": 10,
    "宋唐许韩冯邓曹彭曾肖田董": 6,
    "潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔陆": 4,
    "范汪廖石金贾夏方邹熊白孟秦江顾": 2,
}
_SURNAME_LIST = tuple(s for group in SURNAME_WEIGHTS for s in group)
_SURNAME_CHOICE_WEIGHTS = tuple(w for group, w in SURNAME_WEIGHTS.items() for _ in group)

_GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊旭宁峰建国志文东海振立永新庆德成亮毅晨昊博彬"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧琳颖倩洁佳丹萍红梅琴蕾晶莉璐瑶欣怡云月薇岚秀英"
_GIVEN_LEAD = "晓文建志春秋海雅思子嘉一国立永小俊丽淑"

_INTRO_EDUCATION = {
    DoctorTitle.CHIEF: ("医学博士", "医学博士", "医学硕士"),
    DoctorTitle.ASSOCIATE_CHIEF: ("医学博士", "医学硕士", "医学硕士"),
    DoctorTitle.ATTENDING: ("医学硕士", "医学硕士", "医学博士", "医学学士"),
    DoctorTitle.RESIDENT: ("医学硕士", "医学学士", "医学博士"),
}
_INTRO_YEARS = {
    DoctorTitle.CHIEF: (22, 35),
    DoctorTitle.ASSOCIATE_CHIEF: (13, 22),
    DoctorTitle.ATTENDING: (6, 13),
    DoctorTitle.RESIDENT: (3, 6),
}
# How an intro names the field when the clinic's name does not read well there.
_DISCIPLINES = {"全科门诊": "全科医学", "慢病管理门诊": "慢病管理", "放疗科": "肿瘤放射治疗", "心理咨询科": "心理咨询"}
_INTRO_SECOND = {
    DoctorTitle.CHIEF: (
        "硕士研究生导师，主持省部级科研课题多项。",
        "临床经验丰富，对疑难病例的诊治有独到见解。",
        "兼任市医学会专科分会委员，发表学术论文三十余篇。",
        "",
    ),
    DoctorTitle.ASSOCIATE_CHIEF: (
        "曾赴国内知名医院进修学习。",
        "曾在海外访问学习一年，参与多项临床研究。",
        "",
        "",
    ),
    DoctorTitle.ATTENDING: ("熟练掌握本专业常见病、多发病的诊治。", "工作认真细致，深受患者信任。", ""),
    DoctorTitle.RESIDENT: ("已完成住院医师规范化培训，对患者耐心细致。", "工作认真负责，耐心解答患者疑问。"),
}


# --- Public API -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedSummary:
    """Row counts of the demo data; ``departments`` counts both levels (大科室 and 科室)."""

    hospitals: int
    departments: int
    doctors: int
    schedules: int
    slots: int
    created: bool


async def seed_demo(
    session: AsyncSession, *, today: date, random_seed: int = DEFAULT_RANDOM_SEED, days: int = 14
) -> SeedSummary:
    """Fills an empty database with demo hospitals, departments, doctors and ``days`` days of schedules.

    ``today`` (a hospital-local date) is the first schedule day. If any hospital exists nothing is
    written and the existing counts come back with ``created=False``. It flushes but never commits: the
    caller's unit of work does, and on SQLite with other writers about it should ``begin_write`` first.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if await session.scalar(select(Hospital.id).limit(1)) is not None:
        return await _existing_summary(session)

    rng = random.Random(random_seed)
    created_at = datetime.now(UTC)
    built = [_build_hospital(rng, spec, created_at) for spec in HOSPITALS]

    session.add_all(b.hospital for b in built)
    await session.flush()
    for b in built:
        for top in b.tops:
            top.hospital_id = b.hospital.id
    session.add_all(top for b in built for top in b.tops)
    await session.flush()
    for b in built:
        for clinic, top_index in zip(b.clinics, b.clinic_parent, strict=True):
            clinic.hospital_id = b.hospital.id
            clinic.parent_id = b.tops[top_index].id
    session.add_all(clinic for b in built for clinic in b.clinics)
    await session.flush()
    for b in built:
        for doctor, clinic_index in zip(b.doctors, b.doctor_clinic, strict=True):
            doctor.hospital_id = b.hospital.id
            doctor.department_id = b.clinics[clinic_index].id
    session.add_all(doctor for b in built for doctor in b.doctors)
    await session.flush()

    schedules = 0
    slots = 0
    for b in built:
        specs: list[ScheduleSpec] = []
        weekly = _weekly_rosters(rng, b)
        for offset in range(days):
            visit_date = today + timedelta(days=offset)
            for doctor, roster in zip(b.doctors, weekly, strict=True):
                for period, capacity in roster.get(visit_date.weekday(), ()):
                    # Now and then a doctor is away (会议、出差) on a weekday and the session is not held.
                    if visit_date.weekday() < 5 and rng.random() < 0.04:
                        continue
                    specs.append(ScheduleSpec(doctor=doctor, visit_date=visit_date, period=period, capacity=capacity))
        # One batch per hospital: the same rules as create_schedule, without a flush per schedule.
        await scheduling_service.create_schedules(session, hospital=b.hospital, specs=specs)
        b.hospital.released_through = today + timedelta(days=days - 1)
        # The rosters are also the doctors' weekly templates (排班模板): the release job keeps the booking
        # window filled as days pass, so a demo left running keeps having slots to book.
        session.add_all(
            ScheduleTemplate(
                hospital_id=b.hospital.id,
                doctor_id=doctor.id,
                weekday=weekday,
                period=period,
                capacity=capacity,
                active=True,
            )
            for doctor, roster in zip(b.doctors, weekly, strict=True)
            for weekday, sessions in roster.items()
            for period, capacity in sessions
        )
        schedules += len(specs)
        slots += sum(spec.capacity for spec in specs)

    return SeedSummary(
        hospitals=len(built),
        departments=sum(len(b.tops) + len(b.clinics) for b in built),
        doctors=sum(len(b.doctors) for b in built),
        schedules=schedules,
        slots=slots,
        created=True,
    )


# --- Building rows ----------------------------------------------------------------------------------


@dataclass
class _BuiltHospital:
    spec: HospitalSpec
    hospital: Hospital
    tops: list[Department] = field(default_factory=list)
    clinics: list[Department] = field(default_factory=list)
    clinic_parent: list[int] = field(default_factory=list)
    """Index into ``tops`` of each clinic's 大科室."""
    doctors: list[Doctor] = field(default_factory=list)
    doctor_clinic: list[int] = field(default_factory=list)
    """Index into ``clinics`` of each doctor's clinic."""
    experts: dict[int, PopularExpert] = field(default_factory=dict)
    """The popular experts, by index into ``doctors``."""


def _build_hospital(rng: random.Random, spec: HospitalSpec, created_at: datetime) -> _BuiltHospital:
    built = _BuiltHospital(
        spec=spec,
        hospital=Hospital(
            name=spec.name,
            name_initials=initials(spec.name),
            level=spec.level,
            city=spec.city,
            district=spec.district,
            address=spec.address,
            phone=spec.phone,
            intro=spec.intro,
            release_days=spec.release_days,
            release_time=spec.release_time,
            stop_minutes_before=spec.stop_minutes_before,
            cancel_minutes_before=spec.cancel_minutes_before,
            max_active_appointments=spec.max_active_appointments,
            payment_required=spec.payment_required,
            created_at=created_at,
        ),
    )
    experts = [e for e in POPULAR_EXPERTS if e.hospital == spec.name]
    chosen = _choose_clinics(rng, spec, required={e.clinic for e in experts})

    floor = 2  # the ground floor of the outpatient building is registration and payment (挂号收费)
    clinic_specs: list[ClinicSpec] = []
    for top_index, (top_spec, clinic_list) in enumerate(chosen):
        built.tops.append(
            Department(
                name=top_spec.name,
                name_initials=initials(top_spec.name),
                parent_id=None,
                location="",
                intro=top_spec.intro,
                sort_order=top_index + 1,
            )
        )
        building = _OWN_BUILDINGS.get(top_spec.name)
        if building is None:
            building, level = "门诊楼", floor
            floor += 1
        else:
            level = rng.randint(1, 3)
        for clinic_index, clinic_spec in enumerate(clinic_list):
            built.clinics.append(
                Department(
                    name=clinic_spec.name,
                    name_initials=initials(clinic_spec.name),
                    location=f"{building}{level}层{chr(ord('A') + clinic_index)}区",
                    intro=clinic_spec.intro,
                    sort_order=clinic_index + 1,
                )
            )
            built.clinic_parent.append(top_index)
            clinic_specs.append(clinic_spec)

    fewest, most = spec.doctors_per_clinic
    counts = [rng.randint(fewest, most) for _ in clinic_specs]
    while sum(counts) < MIN_DOCTORS_PER_HOSPITAL:
        counts[rng.choice([i for i, n in enumerate(counts) if n < most])] += 1

    fees = FEES_FEN[spec.level]
    used_names = {e.name for e in experts}
    for clinic_index, (clinic_spec, count) in enumerate(zip(clinic_specs, counts, strict=True)):
        clinic_doctors: list[Doctor] = []
        for expert in experts:
            if expert.clinic == clinic_spec.name:
                built.experts[len(built.doctors)] = expert
                built.doctors.append(
                    Doctor(
                        name=expert.name,
                        name_initials=initials(expert.name),
                        gender=expert.gender,
                        title=DoctorTitle.CHIEF,
                        specialty=expert.specialty,
                        intro=expert.intro,
                        fee_fen=fees[DoctorTitle.CHIEF],
                    )
                )
                built.doctor_clinic.append(clinic_index)
                count -= 1
        for _ in range(max(count, 1)):
            clinic_doctors.append(_make_doctor(rng, clinic_spec, used_names, fees))
        # Seniors first, as the hospital lists them.
        clinic_doctors.sort(key=lambda d: _TITLE_RANK[DoctorTitle(d.title)])
        built.doctors.extend(clinic_doctors)
        built.doctor_clinic.extend([clinic_index] * len(clinic_doctors))
    return built


def _choose_clinics(
    rng: random.Random, spec: HospitalSpec, *, required: set[str]
) -> list[tuple[TopDepartmentSpec, list[ClinicSpec]]]:
    """Two or more clinics under each 大科室 (its core ones always), at least ``MIN_CLINICS_PER_HOSPITAL``."""
    cap = spec.max_clinics_per_department
    tertiary = spec.level.startswith("三级")
    tops = [TOP_DEPARTMENTS[name] for name in spec.top_departments]
    picked: list[list[int]] = []
    for top in tops:
        options = [i for i, c in enumerate(top.clinics) if tertiary or not c.tertiary_only]
        must = [i for i in options if top.clinics[i].core or top.clinics[i].name in required]
        rest = [i for i in options if i not in must]
        n = rng.randint(max(2, len(must)), max(len(must), min(cap, len(options))))
        picked.append(must + rng.sample(rest, n - len(must)))
    while sum(len(p) for p in picked) < MIN_CLINICS_PER_HOSPITAL:
        spare = [
            [c for c, clinic in enumerate(top.clinics) if c not in p and (tertiary or not clinic.tertiary_only)]
            for top, p in zip(tops, picked, strict=True)
        ]
        growable = [i for i, p in enumerate(picked) if len(p) < cap and spare[i]]
        if not growable:
            raise ValueError(f"{spec.name}: not enough clinics in the catalogue")
        i = rng.choice(growable)
        picked[i].append(rng.choice(spare[i]))
    # Catalogue order, which is the order patients expect (心血管内科 before 呼吸内科 ...).
    return [(top, [top.clinics[c] for c in sorted(p)]) for top, p in zip(tops, picked, strict=True)]


def _make_doctor(rng: random.Random, clinic: ClinicSpec, used_names: set[str], fees: dict[DoctorTitle, int]) -> Doctor:
    gender = FEMALE if rng.random() < clinic.female_share else MALE
    name = _unique_name(rng, gender, used_names)
    title = rng.choices(list(TITLE_WEIGHTS), weights=list(TITLE_WEIGHTS.values()))[0]
    conditions = rng.sample(clinic.conditions, rng.randint(2, min(4, len(clinic.conditions))))
    conditions.sort(key=clinic.conditions.index)
    return Doctor(
        name=name,
        name_initials=initials(name),
        gender=gender,
        title=title,
        specialty="、".join(conditions) + clinic.treatment,
        intro=_doctor_intro(rng, title, clinic),
        fee_fen=fees[title],
    )


def _unique_name(rng: random.Random, gender: str, used: set[str]) -> str:
    pool = _GIVEN_FEMALE if gender == FEMALE else _GIVEN_MALE
    while True:
        surname = rng.choices(_SURNAME_LIST, weights=_SURNAME_CHOICE_WEIGHTS)[0]
        if rng.random() < 0.3:
            given = rng.choice(pool)
        else:
            first = rng.choice(_GIVEN_LEAD + pool)
            second = rng.choice(pool)
            if first == second:
                continue
            given = first + second
        name = surname + given
        if name not in used:
            used.add(name)
            return name


def _doctor_intro(rng: random.Random, title: DoctorTitle, clinic: ClinicSpec) -> str:
    education = rng.choice(_INTRO_EDUCATION[title])
    years = rng.randint(*_INTRO_YEARS[title])
    discipline = _DISCIPLINES.get(clinic.name, clinic.name)
    return f"{education}，从事{discipline}临床工作{years}年。" + rng.choice(_INTRO_SECOND[title])


# --- Weekly rosters (出诊安排) ------------------------------------------------------------------------

_Roster = dict[int, list[tuple[Period, int]]]
"""Weekday (0 = Monday) -> the sessions held that day, with their capacity."""

_WEEKDAY_SESSIONS = [(wd, p) for wd in range(5) for p in (Period.MORNING, Period.AFTERNOON)]


def _weekly_rosters(rng: random.Random, built: _BuiltHospital) -> list[_Roster]:
    """One repeating weekly roster per doctor, in ``built.doctors`` order."""
    sessions: list[list[tuple[int, Period]]] = []
    for index, doctor in enumerate(built.doctors):
        title = DoctorTitle(doctor.title)
        if index in built.experts:
            # Experts keep a steady weekday roster, often with a Saturday morning clinic.
            picked = rng.sample(_WEEKDAY_SESSIONS, rng.randint(4, 5))
            if rng.random() < 0.6:
                picked.append((5, Period.MORNING))
        else:
            n = rng.randint(*SESSIONS_PER_WEEK[title])
            picked = _pick_sessions(rng, title, evening=built.spec.evening_clinics, n=n)
        sessions.append(picked)

    # Weekend clinics (周末门诊) are staffed by a few non-chief doctors on duty.
    on_duty = max(3, len(built.doctors) // 15)
    for weekday in (5, 6):
        staffed = sum(1 for s in sessions if any(wd == weekday for wd, _ in s))
        candidates = [
            i
            for i, d in enumerate(built.doctors)
            if d.title != DoctorTitle.CHIEF and len(sessions[i]) < 6 and all(wd != weekday for wd, _ in sessions[i])
        ]
        for i in rng.sample(candidates, min(len(candidates), max(0, on_duty - staffed))):
            sessions[i].append((weekday, Period.MORNING))

    rosters: list[_Roster] = []
    for index, (doctor, picked) in enumerate(zip(built.doctors, sessions, strict=True)):
        title = DoctorTitle(doctor.title)
        low, high = CAPACITY_RANGES[title]
        base = rng.randint(low, high)
        roster: _Roster = {}
        for weekday, period in sorted(picked, key=lambda s: (s[0], list(Period).index(s[1]))):
            expert = built.experts.get(index)
            if expert is not None:
                capacity = expert.capacity if weekday < 5 else max(5, expert.capacity - 2)
            elif period == Period.EVENING:
                capacity = low  # a three-hour evening clinic (夜门诊) takes fewer patients
            else:
                capacity = min(high, max(low, base + rng.choice((-2, -1, 0, 0, 0, 1, 2))))
            roster.setdefault(weekday, []).append((period, capacity))
        rosters.append(roster)
    return rosters


def _pick_sessions(rng: random.Random, title: DoctorTitle, *, evening: bool, n: int) -> list[tuple[int, Period]]:
    """``n`` distinct half-day sessions a week, mostly on weekdays, weighted towards mornings."""
    candidates: list[tuple[int, Period]] = []
    weights: list[float] = []
    for weekday in range(7):
        for period, weight in ((Period.MORNING, 1.0), (Period.AFTERNOON, 0.8), (Period.EVENING, 0.12)):
            if period == Period.EVENING and (not evening or weekday >= 5 or title == DoctorTitle.CHIEF):
                continue
            if weekday == 5:
                weight *= 0.25
            elif weekday == 6:
                weight *= 0.1
            candidates.append((weekday, period))
            weights.append(weight)
    picked: list[tuple[int, Period]] = []
    for _ in range(n):
        i = rng.choices(range(len(candidates)), weights=weights)[0]
        picked.append(candidates.pop(i))
        weights.pop(i)
    return picked


async def _existing_summary(session: AsyncSession) -> SeedSummary:
    async def count(model: type[Hospital | Department | Doctor | Schedule | Slot]) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return SeedSummary(
        hospitals=await count(Hospital),
        departments=await count(Department),
        doctors=await count(Doctor),
        schedules=await count(Schedule),
        slots=await count(Slot),
        created=False,
    )
