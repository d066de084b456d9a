"""Demo reviews (演示评价): patients who saw some of the demo doctors in the last four weeks, and what
they wrote, so ratings show on the doctor pages and the console's 患者评价 has rows from the start.

The visits are made as they would have happened: demo patient accounts (``demo-review-NN``, each with
one visit person through ``accounts.service``), past sessions through the scheduling service, a slot
claimed, the appointment booked days before, checked in and completed on the day with its status
history, and the points those facts earned. The reviews go through ``reviews.service.write_review``, so
the doctors' ratings and the review points come from the same code as in production. The appointments'
own events (booked, completed) are not put in the outbox: their messages would have gone out at the
time, and sending them now would fill the demo patients' inboxes with old news.

One visit of ``demo-review-01`` is left completed and unreviewed, within its 30 days: log in as that
openid through the fake WeChat to try 评价 in the mini-program.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts import realname
from yiyue.accounts import service as accounts
from yiyue.accounts.idcard import check_digit
from yiyue.accounts.models import Account, Relationship, VisitPerson
from yiyue.accounts.schemas import VisitPersonIn
from yiyue.booking.appointments import check_in_code
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core.clock import at_local, local, local_today
from yiyue.core.config import FAKE_WECHAT_IN_PROCESS, Settings
from yiyue.core.crypto import FieldCipher
from yiyue.core.db import begin_write
from yiyue.demo.data.doctors import POPULAR_EXPERTS
from yiyue.demo.data.names import GIVEN_FEMALE, GIVEN_LEAD, GIVEN_MALE, SURNAME_WEIGHTS
from yiyue.hospitals.models import Doctor, DoctorTitle, Hospital
from yiyue.members import service as members
from yiyue.reviews import service as reviews
from yiyue.reviews.models import Review
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Schedule
from yiyue.wechat.fake import create_fake_wechat_app

DEMO_REVIEW_SEED = 20261203
PATIENTS = 40
OPENID_PREFIX = "demo-review-"
DOCTORS_PER_HOSPITAL = 5
"""The popular experts first, then others drawn at random."""
DAYS_BACK = 27
"""Visits fall in the last four weeks, so each is still inside its 30-day review window."""

COMPOUND = ("欧阳", "司马", "诸葛", "上官")
REGIONS = ("110105", "110108", "310104", "440106", "330106", "320102", "510107", "420106")

# Stars by how sought-after the doctor is; weights for 5, 4, 3, 2, 1 stars.
EXPERT_STARS = (60, 28, 8, 2, 2)
OTHER_STARS = (44, 31, 14, 6, 5)

PRAISE = ("耐心细致", "解释清楚", "医术高明", "态度很好", "疗效显著")

TEXTS: dict[str, tuple[str, ...]] = {
    "good": (
        "{doc}非常耐心，把检查结果一项一项讲清楚了，还交代了复查的时间。",
        "挂了{doc}的号，问诊很仔细，没有因为病人多就敷衍，开的药吃了一周明显好转。",
        "第一次来这个科室，{doc}态度很好，说话温和，老人也听得明白。",
        "{doc}经验丰富，几句话就问到点子上了，没让做不必要的检查。",
        "带孩子来看的，{doc}很有耐心，孩子一点都不怕，谢谢医生！",
        "复诊，{doc}还记得上次的情况，调整了用药方案，很专业。",
        "讲解很清楚，把注意事项写在了病历上，回家照着做就行。",
        "从挂号到看完不到一个小时，{doc}看得很认真，推荐。",
        "陪父亲来复查，{doc}把片子对比着讲给我们听，心里踏实多了。",
        "之前在别处看了几次没效果，{doc}换了个思路，这次终于好了。",
        "网上预约很方便，按时叫号，{doc}问得很细，还教了平时怎么护理。",
        "{doc}没有催我，把我想问的都回答了，还说有情况随时来复诊。",
        "术后复查，{doc}说恢复得不错，讲了接下来要注意的饮食和运动。",
        "医生很亲切，开药也考虑了我在吃的其他药，很负责。",
    ),
    "mixed": (
        "{doc}挺专业的，就是等的时间有点长，前面排了二十多个人。",
        "看病还可以，但问诊比较快，有些问题没来得及问。",
        "医生水平没问题，就是候诊区太挤了，建议错峰来。",
        "检查开得有点多，不过{doc}解释了原因，也能理解。",
        "{doc}看得挺好，就是叫号有点乱，差点错过。",
        "整体还行，取报告要跑两趟，希望能改进。",
    ),
    "poor": (
        "排队两个多小时，问诊不到三分钟，问的问题也没怎么回答。",
        "医生一直在看电脑，没怎么听我说症状，感觉有点匆忙。",
        "约的是上午九点，实际快十一点才看上，没有任何说明。",
        "说话有点不耐烦，问第二遍就不太想解释了。",
        "开了一堆检查，结果出来后也没怎么讲，就让回去观察。",
    ),
}
EMPTY_TEXT_SHARE = 0.25
"""About a quarter of patients give stars and tags without writing anything."""


@dataclass(frozen=True)
class ReviewSeedSummary:
    reviews: int
    doctors: int
    completed_visits: int
    created: bool


async def seed_reviews(
    session: AsyncSession, *, settings: Settings, now: datetime, random_seed: int = DEMO_REVIEW_SEED
) -> ReviewSeedSummary:
    """Demo patients, their completed visits of the last four weeks and their reviews of some doctors
    of every hospital. Nothing is written when there are reviews already or no hospitals yet
    (``created=False``). It declares its write (``begin_write``), so on SQLite it runs in a unit of work
    of its own, or one that declared its write before its first; it flushes but never commits."""
    if await session.scalar(select(Review.id).limit(1)) is not None:
        return await _existing(session)
    hospitals = list(await session.scalars(select(Hospital).order_by(Hospital.id)))
    if not hospitals:
        return ReviewSeedSummary(0, 0, 0, created=False)
    await begin_write(session)
    rng = random.Random(random_seed)
    cipher = FieldCipher(settings.data_keys, settings.data_key_id, index_secret=settings.blind_index_secret)
    patients = await _patients(session, rng, cipher=cipher, settings=settings, now=now)
    visits = _Visits(session, rng, now=now)
    reviewed = 0
    doctors = 0
    for hospital in hospitals:
        for doctor in await _doctors(session, rng, hospital):
            expert = doctor.name in {e.name for e in POPULAR_EXPERTS if e.hospital == hospital.name}
            count = rng.randint(8, 12) if expert else rng.randint(3, 7)
            doctors += 1
            texts: set[str] = set()
            for person in rng.sample(patients, count):
                visit = await visits.completed(hospital, doctor, person)
                if visit is None:
                    continue
                appointment, completed_at = visit
                await _review(session, rng, appointment, doctor, completed_at, expert=expert, written=texts, now=now)
                reviewed += 1
    # One visit left to review, for trying 评价 as demo-review-01: with a doctor they have not reviewed.
    await visits.completed(hospitals[0], await _unreviewed_by(session, hospitals[0], patients[0]), patients[0])
    # Credited out of order (each at its own past time): the 12-month points and levels as of now.
    for account_id in sorted({p.account_id for p in patients}):
        await members.recompute_level(session, account_id=account_id, now=now)
    await session.flush()
    return ReviewSeedSummary(reviewed, doctors, visits.made, created=True)


# --- the patients ---------------------------------------------------------------------------------


def _weighted_surname(rng: random.Random) -> str:
    if rng.random() < 0.06:
        return rng.choice(COMPOUND)
    groups = list(SURNAME_WEIGHTS)
    group = rng.choices(groups, weights=[SURNAME_WEIGHTS[g] for g in groups])[0]
    return rng.choice(group)


def _name(rng: random.Random, female: bool) -> str:
    given = GIVEN_FEMALE if female else GIVEN_MALE
    first = rng.choice(GIVEN_LEAD) if rng.random() < 0.35 else rng.choice(given)
    return _weighted_surname(rng) + first + (rng.choice(given) if rng.random() < 0.7 else "")


def _id_number(rng: random.Random, *, female: bool, today: date) -> str:
    birth = today.replace(year=today.year - rng.randint(18, 80)) - timedelta(days=rng.randint(0, 364))
    serial = rng.randint(0, 99) * 10 + rng.choice((0, 2, 4, 6, 8) if female else (1, 3, 5, 7, 9))
    first17 = f"{rng.choice(REGIONS)}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def _realname_provider(settings: Settings) -> realname.RealNameProvider:
    """The settings' real-name verification service, the fake one called in-process by default."""
    if settings.realname_api_base != FAKE_WECHAT_IN_PROCESS:
        return realname.provider_from_settings(settings)
    fake = create_fake_wechat_app(
        appid=settings.wechat_appid,
        secret=settings.wechat_secret,
        realname_apps={settings.realname_app_id: settings.realname_app_secret},
    )
    return realname.provider_from_settings(settings, transport=httpx.ASGITransport(app=fake))


async def _patients(
    session: AsyncSession, rng: random.Random, *, cipher: FieldCipher, settings: Settings, now: datetime
) -> list[VisitPerson]:
    """``PATIENTS`` demo accounts, each with themselves as their visit person (本人)."""
    joined = now - timedelta(days=DAYS_BACK + 30)
    provider = _realname_provider(settings)  # the fake one by default: these made-up people pass it
    persons = []
    for n in range(1, PATIENTS + 1):
        account = Account(openid=f"{OPENID_PREFIX}{n:02d}", created_at=joined, last_login_at=joined)
        session.add(account)
        await session.flush()
        female = rng.random() < 0.55
        data = VisitPersonIn(
            name=_name(rng, female),
            id_number=_id_number(rng, female=female, today=local_today(now)),
            phone=f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}",
            relationship=Relationship.SELF,
        )
        persons.append(
            (
                await accounts.add_visit_person(
                    session,
                    account_id=account.id,
                    data=data,
                    cipher=cipher,
                    settings=settings,
                    realname_provider=provider,
                    now=joined,
                )
            ).person
        )
    await session.flush()
    return persons


# --- the visits -----------------------------------------------------------------------------------


async def _doctors(session: AsyncSession, rng: random.Random, hospital: Hospital) -> list[Doctor]:
    """The doctors of the hospital who get reviews: its popular experts, then others at random."""
    working = list(
        await session.scalars(
            select(Doctor).where(Doctor.hospital_id == hospital.id, Doctor.active.is_(True)).order_by(Doctor.id)
        )
    )
    experts = {e.name for e in POPULAR_EXPERTS if e.hospital == hospital.name}
    first = [d for d in working if d.name in experts]
    rest = [d for d in working if d.name not in experts]
    return (first + rng.sample(rest, min(len(rest), DOCTORS_PER_HOSPITAL - len(first))))[:DOCTORS_PER_HOSPITAL]


async def _unreviewed_by(session: AsyncSession, hospital: Hospital, person: VisitPerson) -> Doctor:
    seen = select(Appointment.doctor_id).where(Appointment.visit_person_id == person.id)
    doctor = await session.scalar(
        select(Doctor)
        .where(Doctor.hospital_id == hospital.id, Doctor.active.is_(True), Doctor.id.not_in(seen))
        .order_by(Doctor.rating_count.desc(), Doctor.id)
        .limit(1)
    )
    assert doctor is not None  # a demo hospital has more doctors than one patient has seen
    return doctor


class _Visits:
    """Completed visits in the past, on sessions made for them (or found, on a demo left running)."""

    def __init__(self, session: AsyncSession, rng: random.Random, *, now: datetime) -> None:
        self.session = session
        self.rng = rng
        self.now = now
        self.made = 0
        self.seen: set[tuple[int, int, date]] = set()

    async def completed(
        self, hospital: Hospital, doctor: Doctor, person: VisitPerson
    ) -> tuple[Appointment, datetime] | None:
        """A visit of ``person`` to ``doctor`` on a past day, completed; None if no slot was free."""
        today = local_today(self.now)
        for _ in range(5):
            day = today - timedelta(days=self.rng.randint(1, DAYS_BACK))
            if (person.id, doctor.id, day) not in self.seen:
                break
        else:
            return None
        self.seen.add((person.id, doctor.id, day))
        period = self.rng.choice((Period.MORNING, Period.MORNING, Period.AFTERNOON))
        schedule = await self._schedule(hospital, doctor, day, period)
        slot = await scheduling.claim_slot(self.session, schedule_id=schedule.id, slot_id=None, hold=False)
        if slot is None:
            return None
        booked_at = at_local(day - timedelta(days=self.rng.randint(1, 6)), time(8, self.rng.randint(0, 59)))
        checked_in_at = slot.starts_at - timedelta(minutes=self.rng.randint(5, 40))
        completed_at = slot.ends_at + timedelta(minutes=self.rng.randint(0, 25))
        appointment = Appointment(
            account_id=person.account_id,
            visit_person_id=person.id,
            person_index=person.id_number_index,
            hospital_id=hospital.id,
            department_id=schedule.department_id,
            doctor_id=doctor.id,
            schedule_id=schedule.id,
            slot_id=slot.id,
            visit_date=day,
            queue_number=slot.number,
            fee_fen=schedule.fee_fen,
            status=AppointmentStatus.COMPLETED,
            check_in_code=check_in_code(),
            created_at=booked_at,
            updated_at=completed_at,
            paid_at=booked_at if hospital.payment_required and schedule.fee_fen > 0 else None,
        )
        self.session.add(appointment)
        await self.session.flush()
        self.session.add_all(
            AppointmentEvent(appointment_id=appointment.id, from_status=before, to_status=after, reason=reason, at=at)
            for before, after, reason, at in (
                (None, AppointmentStatus.BOOKED, "", booked_at),
                (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, "导诊台签到", checked_in_at),
                (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED, "完成就诊", completed_at),
            )
        )
        # The points these facts earned, as booking's handlers credit them (once per cause).
        account = f"account:{person.account_id}"
        await members.credit(
            self.session, account_id=person.account_id, kind="first_booking", cause=account, now=booked_at
        )
        await members.credit(
            self.session,
            account_id=person.account_id,
            kind="visit",
            cause=f"appointment:{appointment.id}",
            now=completed_at,
        )
        self.made += 1
        return appointment, completed_at

    async def _schedule(self, hospital: Hospital, doctor: Doctor, day: date, period: Period) -> Schedule:
        found = await self.session.scalar(
            select(Schedule).where(
                Schedule.doctor_id == doctor.id, Schedule.visit_date == day, Schedule.period == period
            )
        )
        if found is not None:
            return found
        return await scheduling.create_schedule(
            self.session, hospital=hospital, doctor=doctor, visit_date=day, period=period, capacity=20
        )


# --- what they wrote ------------------------------------------------------------------------------


def _doc(doctor: Doctor) -> str:
    surname = doctor.name[:1]
    if doctor.title in (DoctorTitle.CHIEF, DoctorTitle.ASSOCIATE_CHIEF):
        return f"{surname}主任"
    return f"{surname}医生"


def _stars_tags_text(
    rng: random.Random, doctor: Doctor, *, expert: bool, written: set[str]
) -> tuple[int, list[str], str]:
    """Stars drawn by how sought-after the doctor is, tags that go with them, and a text no other review
    of this doctor has (``written``), or none."""
    stars = rng.choices((5, 4, 3, 2, 1), weights=EXPERT_STARS if expert else OTHER_STARS)[0]
    if stars >= 4:
        tags = rng.sample(PRAISE, rng.randint(1, 3))
        if stars == 4 and rng.random() < 0.3:
            tags.append("等待时间长")
        mood = "good"
    elif stars == 3:
        tags = [rng.choice(PRAISE), rng.choice(("等待时间长", "沟通不足"))]
        mood = "mixed"
    else:
        tags = rng.sample(("等待时间长", "沟通不足", "问诊匆忙"), rng.randint(1, 2))
        mood = "poor"
    fresh = [t for t in TEXTS[mood] if t not in written]
    text = "" if rng.random() < EMPTY_TEXT_SHARE or not fresh else rng.choice(fresh)
    written.add(text)
    return stars, tags, text.format(doc=_doc(doctor))


async def _review(
    session: AsyncSession,
    rng: random.Random,
    appointment: Appointment,
    doctor: Doctor,
    completed_at: datetime,
    *,
    expert: bool,
    written: set[str],
    now: datetime,
) -> None:
    stars, tags, text = _stars_tags_text(rng, doctor, expert=expert, written=written)
    written_at = _written_at(rng, completed_at, now=now)
    await reviews.write_review(
        session,
        account_id=appointment.account_id,
        appointment_id=appointment.id,
        stars=stars,
        tags=tags,
        text=text,
        now=written_at,
    )


def _written_at(rng: random.Random, completed_at: datetime, *, now: datetime) -> datetime:
    """When the patient wrote it: that evening or within a few days, at waking hours (08:00-22:59)."""
    for _ in range(10):
        day = local(completed_at).date() + timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        at = at_local(day, time(rng.randint(8, 22), rng.randint(0, 59)))
        if completed_at + timedelta(minutes=20) <= at <= now - timedelta(minutes=5):
            return at
    return min(completed_at + timedelta(minutes=45), now - timedelta(minutes=5))


async def _existing(session: AsyncSession) -> ReviewSeedSummary:
    count = int(await session.scalar(select(func.count()).select_from(Review)) or 0)
    rated = int(await session.scalar(select(func.count()).select_from(Doctor).where(Doctor.rating_count > 0)) or 0)
    return ReviewSeedSummary(count, rated, 0, created=False)
