"""Weekly rosters (出诊安排): how many sessions a doctor holds and how many patients each takes."""

from __future__ import annotations

from yiyue.hospitals.models import DoctorTitle

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
