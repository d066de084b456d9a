"""Doctors: the popular experts, the title mix and the phrases their intros are made of."""

from __future__ import annotations

from dataclasses import dataclass

from yiyue.hospitals.models import DoctorTitle

# Doctor.gender values.
MALE = "男"
FEMALE = "女"


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

# Roughly the title mix of a Chinese outpatient roster; listed most senior first, which is also how
# the generator ranks titles.
TITLE_WEIGHTS: dict[DoctorTitle, int] = {
    DoctorTitle.CHIEF: 15,
    DoctorTitle.ASSOCIATE_CHIEF: 25,
    DoctorTitle.ATTENDING: 40,
    DoctorTitle.RESIDENT: 20,
}

# An intro reads “<education>，从事<discipline>临床工作<years>年。<second sentence>”, all by title.
INTRO_EDUCATION: dict[DoctorTitle, tuple[str, ...]] = {
    DoctorTitle.CHIEF: ("医学博士", "医学博士", "医学硕士"),
    DoctorTitle.ASSOCIATE_CHIEF: ("医学博士", "医学硕士", "医学硕士"),
    DoctorTitle.ATTENDING: ("医学硕士", "医学硕士", "医学博士", "医学学士"),
    DoctorTitle.RESIDENT: ("医学硕士", "医学学士", "医学博士"),
}
INTRO_YEARS: dict[DoctorTitle, tuple[int, int]] = {
    DoctorTitle.CHIEF: (22, 35),
    DoctorTitle.ASSOCIATE_CHIEF: (13, 22),
    DoctorTitle.ATTENDING: (6, 13),
    DoctorTitle.RESIDENT: (3, 6),
}
# How an intro names the field when the clinic's name does not read well there.
DISCIPLINES: dict[str, str] = {
    "全科门诊": "全科医学",
    "慢病管理门诊": "慢病管理",
    "放疗科": "肿瘤放射治疗",
    "心理咨询科": "心理咨询",
}
INTRO_SECOND: dict[DoctorTitle, tuple[str, ...]] = {
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
