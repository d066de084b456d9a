"""The literal demo data (``yiyue.demo.data``) hangs together: every name it refers to exists."""

from __future__ import annotations

import yiyue.demo.seed
from yiyue.demo.data.departments import OWN_BUILDINGS, TOP_DEPARTMENTS
from yiyue.demo.data.doctors import (
    DISCIPLINES,
    FEMALE,
    INTRO_EDUCATION,
    INTRO_SECOND,
    INTRO_YEARS,
    MALE,
    POPULAR_EXPERTS,
    TITLE_WEIGHTS,
)
from yiyue.demo.data.hospitals import FEES_FEN, HOSPITALS
from yiyue.demo.data.names import GIVEN_FEMALE, GIVEN_LEAD, GIVEN_MALE, SURNAME_WEIGHTS
from yiyue.demo.data.rosters import CAPACITY_RANGES, SESSIONS_PER_WEEK
from yiyue.hospitals.models import DoctorTitle

CLINIC_NAMES = {clinic.name for top in TOP_DEPARTMENTS.values() for clinic in top.clinics}


def test_the_catalogue_is_keyed_by_name_and_every_clinic_can_be_drawn() -> None:
    assert all(name == top.name for name, top in TOP_DEPARTMENTS.items())
    assert set(OWN_BUILDINGS) <= set(TOP_DEPARTMENTS)
    for top in TOP_DEPARTMENTS.values():
        assert len({c.name for c in top.clinics}) == len(top.clinics)
        assert any(c.core for c in top.clinics)
        for clinic in top.clinics:
            assert 0 <= clinic.female_share <= 1
            assert len(clinic.conditions) >= 2, "a specialty names two to four conditions"


def test_hospitals_name_known_departments_and_fee_levels() -> None:
    assert len({h.name for h in HOSPITALS}) == len(HOSPITALS)
    for hospital in HOSPITALS:
        assert set(hospital.top_departments) <= set(TOP_DEPARTMENTS)
        assert set(FEES_FEN[hospital.level]) == set(DoctorTitle)


def test_every_popular_expert_works_in_a_clinic_their_hospital_can_open() -> None:
    hospitals = {h.name: h for h in HOSPITALS}
    for expert in POPULAR_EXPERTS:
        hospital = hospitals[expert.hospital]
        clinics = {
            c.name: c
            for top in hospital.top_departments
            for c in TOP_DEPARTMENTS[top].clinics
            if hospital.level.startswith("三级") or not c.tertiary_only
        }
        assert expert.clinic in clinics
        assert expert.gender in (MALE, FEMALE)


def test_tables_by_title_cover_every_title() -> None:
    for table in (TITLE_WEIGHTS, CAPACITY_RANGES, SESSIONS_PER_WEEK, INTRO_EDUCATION, INTRO_YEARS, INTRO_SECOND):
        assert set(table) == set(DoctorTitle)
    assert list(TITLE_WEIGHTS) == [
        DoctorTitle.CHIEF,
        DoctorTitle.ASSOCIATE_CHIEF,
        DoctorTitle.ATTENDING,
        DoctorTitle.RESIDENT,
    ], "most senior first: the generator ranks titles by this order"
    assert set(DISCIPLINES) <= CLINIC_NAMES


def test_name_pools_are_single_characters_without_repeats() -> None:
    surnames = "".join(SURNAME_WEIGHTS)
    assert len(set(surnames)) == len(surnames)
    for pool in (GIVEN_MALE, GIVEN_FEMALE, GIVEN_LEAD):
        assert len(set(pool)) == len(pool)


def test_the_seed_module_still_exports_its_public_names() -> None:
    for name in yiyue.demo.seed.__all__:
        assert hasattr(yiyue.demo.seed, name), name
