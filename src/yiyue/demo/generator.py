"""Drawing the demo rows from the data in ``yiyue.demo.data``, all from one ``random.Random``.

Nothing here touches a session: ``build_hospital`` makes the hospital, department and doctor rows of
one hospital (ids unset), ``weekly_rosters`` each doctor's repeating week and ``schedule_specs`` the
schedules those weeks give. The caller must call them in a fixed order with one ``rng`` (``seed_demo``
does: every hospital in ``HOSPITALS`` order, then per hospital its rosters and its schedules), as each
draw moves the generator on for the next.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from yiyue.demo.data.departments import OWN_BUILDINGS, TOP_DEPARTMENTS, ClinicSpec, TopDepartmentSpec
from yiyue.demo.data.doctors import (
    DISCIPLINES,
    FEMALE,
    INTRO_EDUCATION,
    INTRO_SECOND,
    INTRO_YEARS,
    MALE,
    POPULAR_EXPERTS,
    TITLE_WEIGHTS,
    PopularExpert,
)
from yiyue.demo.data.hospitals import FEES_FEN, MIN_CLINICS_PER_HOSPITAL, MIN_DOCTORS_PER_HOSPITAL, HospitalSpec
from yiyue.demo.data.names import GIVEN_FEMALE, GIVEN_LEAD, GIVEN_MALE, SURNAME_WEIGHTS
from yiyue.demo.data.rosters import CAPACITY_RANGES, SESSIONS_PER_WEEK
from yiyue.hospitals.models import Department, Doctor, DoctorTitle, Hospital
from yiyue.hospitals.search import name_columns
from yiyue.scheduling.models import Period
from yiyue.scheduling.service import ScheduleSpec

_TITLE_RANK = {title: rank for rank, title in enumerate(TITLE_WEIGHTS)}
_SURNAME_LIST = tuple(s for group in SURNAME_WEIGHTS for s in group)
_SURNAME_CHOICE_WEIGHTS = tuple(w for group, w in SURNAME_WEIGHTS.items() for _ in group)

Fees = dict[DoctorTitle, int]


# --- Hospitals, departments and doctors -------------------------------------------------------------


@dataclass
class BuiltHospital:
    """One hospital's rows before they are written; the index lists say who belongs to whom."""

    spec: HospitalSpec
    hospital: Hospital
    tops: list[Department] = field(default_factory=list)
    clinics: list[Department] = field(default_factory=list)
    clinic_specs: list[ClinicSpec] = field(default_factory=list)
    """The catalogue entry of each clinic, in ``clinics`` order."""
    clinic_parent: list[int] = field(default_factory=list)
    """Index into ``tops`` of each clinic's 大科室."""
    doctors: list[Doctor] = field(default_factory=list)
    doctor_clinic: list[int] = field(default_factory=list)
    """Index into ``clinics`` of each doctor's clinic."""
    experts: dict[int, PopularExpert] = field(default_factory=dict)
    """The popular experts, by index into ``doctors``."""


def build_hospital(rng: random.Random, spec: HospitalSpec, created_at: datetime) -> BuiltHospital:
    built = BuiltHospital(spec=spec, hospital=_hospital_row(spec, created_at))
    experts = [e for e in POPULAR_EXPERTS if e.hospital == spec.name]
    chosen = _choose_clinics(rng, spec, required={e.clinic for e in experts})
    _add_departments(rng, built, chosen)
    counts = _doctor_counts(rng, spec, clinics=len(built.clinics))
    _add_doctors(rng, built, counts, experts)
    return built


def _hospital_row(spec: HospitalSpec, created_at: datetime) -> Hospital:
    return Hospital(
        name=spec.name,
        **name_columns(spec.name),
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
    )


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


def _add_departments(
    rng: random.Random, built: BuiltHospital, chosen: list[tuple[TopDepartmentSpec, list[ClinicSpec]]]
) -> None:
    """The 大科室 rows and their clinics, each clinic located on a floor of its building."""
    floor = 2  # the ground floor of the outpatient building is registration and payment (挂号收费)
    for top_index, (top_spec, clinic_list) in enumerate(chosen):
        built.tops.append(
            Department(
                name=top_spec.name,
                **name_columns(top_spec.name),
                parent_id=None,
                location="",
                intro=top_spec.intro,
                sort_order=top_index + 1,
            )
        )
        building = OWN_BUILDINGS.get(top_spec.name)
        if building is None:
            building, level = "门诊楼", floor
            floor += 1
        else:
            level = rng.randint(1, 3)
        for clinic_index, clinic_spec in enumerate(clinic_list):
            built.clinics.append(
                Department(
                    name=clinic_spec.name,
                    **name_columns(clinic_spec.name),
                    location=f"{building}{level}层{chr(ord('A') + clinic_index)}区",
                    intro=clinic_spec.intro,
                    sort_order=clinic_index + 1,
                )
            )
            built.clinic_specs.append(clinic_spec)
            built.clinic_parent.append(top_index)


def _doctor_counts(rng: random.Random, spec: HospitalSpec, *, clinics: int) -> list[int]:
    """How many doctors each clinic gets (experts included), at least ``MIN_DOCTORS_PER_HOSPITAL`` in all."""
    fewest, most = spec.doctors_per_clinic
    counts = [rng.randint(fewest, most) for _ in range(clinics)]
    while sum(counts) < MIN_DOCTORS_PER_HOSPITAL:
        counts[rng.choice([i for i, n in enumerate(counts) if n < most])] += 1
    return counts


def _add_doctors(rng: random.Random, built: BuiltHospital, counts: list[int], experts: list[PopularExpert]) -> None:
    """Each clinic's popular experts, then its drawn doctors (at least one), seniors first."""
    fees = FEES_FEN[built.spec.level]
    used_names = {e.name for e in experts}
    for clinic_index, (clinic_spec, count) in enumerate(zip(built.clinic_specs, counts, strict=True)):
        for expert in experts:
            if expert.clinic == clinic_spec.name:
                built.experts[len(built.doctors)] = expert
                built.doctors.append(_expert_doctor(expert, fees))
                built.doctor_clinic.append(clinic_index)
                count -= 1
        drawn = [_make_doctor(rng, clinic_spec, used_names, fees) for _ in range(max(count, 1))]
        # Seniors first, as the hospital lists them.
        drawn.sort(key=lambda d: _TITLE_RANK[DoctorTitle(d.title)])
        built.doctors.extend(drawn)
        built.doctor_clinic.extend([clinic_index] * len(drawn))


def _expert_doctor(expert: PopularExpert, fees: Fees) -> Doctor:
    return Doctor(
        name=expert.name,
        **name_columns(expert.name),
        gender=expert.gender,
        title=DoctorTitle.CHIEF,
        specialty=expert.specialty,
        intro=expert.intro,
        fee_fen=fees[DoctorTitle.CHIEF],
    )


def _make_doctor(rng: random.Random, clinic: ClinicSpec, used_names: set[str], fees: Fees) -> Doctor:
    gender = FEMALE if rng.random() < clinic.female_share else MALE
    name = _unique_name(rng, gender, used_names)
    title = rng.choices(list(TITLE_WEIGHTS), weights=list(TITLE_WEIGHTS.values()))[0]
    specialty = _specialty(rng, clinic)
    intro = _doctor_intro(rng, title, clinic)
    return Doctor(
        name=name,
        **name_columns(name),
        gender=gender,
        title=title,
        specialty=specialty,
        intro=intro,
        fee_fen=fees[title],
    )


def _unique_name(rng: random.Random, gender: str, used: set[str]) -> str:
    pool = GIVEN_FEMALE if gender == FEMALE else GIVEN_MALE
    while True:
        surname = rng.choices(_SURNAME_LIST, weights=_SURNAME_CHOICE_WEIGHTS)[0]
        if rng.random() < 0.3:
            given = rng.choice(pool)
        else:
            first = rng.choice(GIVEN_LEAD + pool)
            second = rng.choice(pool)
            if first == second:
                continue
            given = first + second
        name = surname + given
        if name not in used:
            used.add(name)
            return name


def _specialty(rng: random.Random, clinic: ClinicSpec) -> str:
    """Two to four of the clinic's conditions, in catalogue order, and how it treats them."""
    conditions = rng.sample(clinic.conditions, rng.randint(2, min(4, len(clinic.conditions))))
    conditions.sort(key=clinic.conditions.index)
    return "、".join(conditions) + clinic.treatment


def _doctor_intro(rng: random.Random, title: DoctorTitle, clinic: ClinicSpec) -> str:
    education = rng.choice(INTRO_EDUCATION[title])
    years = rng.randint(*INTRO_YEARS[title])
    discipline = DISCIPLINES.get(clinic.name, clinic.name)
    return f"{education}，从事{discipline}临床工作{years}年。" + rng.choice(INTRO_SECOND[title])


# --- Weekly rosters (出诊安排) ------------------------------------------------------------------------

Roster = dict[int, list[tuple[Period, int]]]
"""Weekday (0 = Monday) -> the sessions held that day, with their capacity."""

Session = tuple[int, Period]
"""A half-day session of the week: (weekday, period)."""

_WEEKDAY_SESSIONS = [(wd, p) for wd in range(5) for p in (Period.MORNING, Period.AFTERNOON)]


def weekly_rosters(rng: random.Random, built: BuiltHospital) -> list[Roster]:
    """One repeating weekly roster per doctor, in ``built.doctors`` order."""
    sessions = [_doctor_sessions(rng, built, index) for index in range(len(built.doctors))]
    _staff_weekends(rng, built.doctors, sessions)
    return [
        _roster(rng, DoctorTitle(doctor.title), picked, built.experts.get(index))
        for index, (doctor, picked) in enumerate(zip(built.doctors, sessions, strict=True))
    ]


def _doctor_sessions(rng: random.Random, built: BuiltHospital, index: int) -> list[Session]:
    """The half-day sessions one doctor holds each week, before weekend duty is shared out."""
    if index in built.experts:
        # Experts keep a steady weekday roster, often with a Saturday morning clinic.
        picked = rng.sample(_WEEKDAY_SESSIONS, rng.randint(4, 5))
        if rng.random() < 0.6:
            picked.append((5, Period.MORNING))
        return picked
    title = DoctorTitle(built.doctors[index].title)
    n = rng.randint(*SESSIONS_PER_WEEK[title])
    return _pick_sessions(rng, title, evening=built.spec.evening_clinics, n=n)


def _pick_sessions(rng: random.Random, title: DoctorTitle, *, evening: bool, n: int) -> list[Session]:
    """``n`` distinct half-day sessions a week, mostly on weekdays, weighted towards mornings."""
    candidates: list[Session] = []
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
    picked: list[Session] = []
    for _ in range(n):
        i = rng.choices(range(len(candidates)), weights=weights)[0]
        picked.append(candidates.pop(i))
        weights.pop(i)
    return picked


def _staff_weekends(rng: random.Random, doctors: list[Doctor], sessions: list[list[Session]]) -> None:
    """Weekend clinics (周末门诊) are staffed by a few non-chief doctors on duty."""
    on_duty = max(3, len(doctors) // 15)
    for weekday in (5, 6):
        staffed = sum(1 for s in sessions if any(wd == weekday for wd, _ in s))
        candidates = [
            i
            for i, d in enumerate(doctors)
            if d.title != DoctorTitle.CHIEF and len(sessions[i]) < 6 and all(wd != weekday for wd, _ in sessions[i])
        ]
        for i in rng.sample(candidates, min(len(candidates), max(0, on_duty - staffed))):
            sessions[i].append((weekday, Period.MORNING))


def _roster(rng: random.Random, title: DoctorTitle, picked: list[Session], expert: PopularExpert | None) -> Roster:
    """The capacity of each session: an expert's own, else around a per-doctor base for the title."""
    low, high = CAPACITY_RANGES[title]
    base = rng.randint(low, high)  # drawn for experts too, which keeps every later draw where it is
    roster: Roster = {}
    for weekday, period in sorted(picked, key=lambda s: (s[0], list(Period).index(s[1]))):
        if expert is not None:
            capacity = expert.capacity if weekday < 5 else max(5, expert.capacity - 2)
        elif period == Period.EVENING:
            capacity = low  # a three-hour evening clinic (夜门诊) takes fewer patients
        else:
            capacity = min(high, max(low, base + rng.choice((-2, -1, 0, 0, 0, 1, 2))))
        roster.setdefault(weekday, []).append((period, capacity))
    return roster


# --- Schedules --------------------------------------------------------------------------------------


def schedule_specs(
    rng: random.Random, built: BuiltHospital, rosters: list[Roster], *, today: date, days: int
) -> list[ScheduleSpec]:
    """The schedules of ``days`` days from ``today`` that the doctors' weekly rosters give."""
    specs: list[ScheduleSpec] = []
    for offset in range(days):
        visit_date = today + timedelta(days=offset)
        for doctor, roster in zip(built.doctors, rosters, strict=True):
            for period, capacity in roster.get(visit_date.weekday(), ()):
                # Now and then a doctor is away (会议、出差) on a weekday and the session is not held.
                if visit_date.weekday() < 5 and rng.random() < 0.04:
                    continue
                specs.append(ScheduleSpec(doctor=doctor, visit_date=visit_date, period=period, capacity=capacity))
    return specs
