"""Reviews (评价) of doctors: a patient reviews a completed visit once, within 30 days of completion;
the doctor's rating (count, star sum, tag counts on the doctor row) changes in the same unit of work, and
so do the review's points. Hospital staff hide a review with a reason (audited) and may restore it; a
hidden review leaves the doctor's rating and the public list, and its patient is told why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.models import VisitPerson
from yiyue.accounts.staff.models import StaffRole, StaffUser
from yiyue.accounts.staff.scope import actor, require_hospital, require_role
from yiyue.booking.errors import AppointmentNotFound
from yiyue.booking.models import Appointment, AppointmentEvent, AppointmentStatus
from yiyue.core import audit
from yiyue.core.db import begin_write
from yiyue.core.errors import DomainError
from yiyue.hospitals import service as hospitals
from yiyue.hospitals.models import Doctor
from yiyue.members import service as members
from yiyue.reviews import rules
from yiyue.reviews.errors import ReviewAlreadyHidden, ReviewExists, ReviewNotFound, ReviewNotHidden
from yiyue.reviews.models import Review

READ_ROLES = (StaffRole.PLATFORM_ADMIN, StaffRole.HOSPITAL_ADMIN, StaffRole.DOCTOR)
"""Who reads a hospital's reviews: its administrators, the platform, a doctor their own."""
MODERATE_ROLES = (StaffRole.HOSPITAL_ADMIN,)
"""Who hides and restores the reviews of their hospital."""


# --- the patient's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewState:
    """Where one appointment stands for reviewing, as its account sees it."""

    appointment: Appointment
    completed_at: datetime | None
    review: Review | None
    refusal: type[DomainError] | None
    """Why it cannot be reviewed now; None when it can."""

    @property
    def reviewable(self) -> bool:
        return self.refusal is None

    @property
    def review_until(self) -> datetime | None:
        return rules.review_until(self.completed_at) if self.completed_at is not None else None


async def review_state(session: AsyncSession, *, account_id: int, appointment_id: int, now: datetime) -> ReviewState:
    """Whether the account's appointment can be reviewed now, until when, and its review (hidden or not).
    Another account's appointment is not found."""
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None or appointment.account_id != account_id:
        raise AppointmentNotFound()
    return await _state(session, appointment, now=now)


async def _state(session: AsyncSession, appointment: Appointment, *, now: datetime) -> ReviewState:
    completed_at = await completed_at_of(session, appointment)
    review = await session.scalar(select(Review).where(Review.appointment_id == appointment.id))
    refusal = rules.why_not_reviewable(
        completed=appointment.status == AppointmentStatus.COMPLETED,
        completed_at=completed_at,
        reviewed=review is not None,
        now=now,
    )
    return ReviewState(appointment, completed_at, review, refusal)


async def completed_at_of(session: AsyncSession, appointment: Appointment) -> datetime | None:
    """When the visit was completed, from its status history (the last move to ``completed``)."""
    if appointment.status != AppointmentStatus.COMPLETED:
        return None
    at = await session.scalar(
        select(func.max(AppointmentEvent.at)).where(
            AppointmentEvent.appointment_id == appointment.id,
            AppointmentEvent.to_status == AppointmentStatus.COMPLETED,
        )
    )
    # The history is written with every move; were a row ever missing, the last change stands for it.
    return at if at is not None else appointment.updated_at


async def write_review(
    session: AsyncSession,
    *,
    account_id: int,
    appointment_id: int,
    stars: int,
    tags: list[str],
    text: str,
    now: datetime,
) -> Review:
    """The account reviews its own completed visit: once, within 30 days of completion, 1-5 stars, tags
    from ``rules.TAGS``, text of at most 300 characters carrying no phone or ID number, e-mail, link or
    abuse. In the same unit of work the doctor's rating counts it and the account earns its points
    (``review:{appointment_id}``, once)."""
    await begin_write(session)
    appointment = await session.scalar(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    if appointment is None or appointment.account_id != account_id:
        raise AppointmentNotFound()
    state = await _state(session, appointment, now=now)
    if state.refusal is not None:
        raise state.refusal()
    stars = rules.check_stars(stars)
    tags = rules.check_tags(tags)
    text = rules.check_text(text)
    person = await session.get_one(VisitPerson, appointment.visit_person_id)
    review = Review(
        appointment_id=appointment.id,
        account_id=account_id,
        hospital_id=appointment.hospital_id,
        doctor_id=appointment.doctor_id,
        stars=stars,
        tags=tags,
        text=text,
        reviewer=rules.mask_reviewer(person.name),
        created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(review)
            await session.flush()
    except IntegrityError:  # the appointment row lock makes this a backstop only
        raise ReviewExists() from None
    await _retotal(session, review.doctor_id, lambda t: t.plus(review.stars, review.tags))
    await members.credit(session, account_id=account_id, kind="review", cause=f"review:{appointment.id}", now=now)
    await session.flush()
    return review


async def doctor_reviews(
    session: AsyncSession, *, doctor_id: int, offset: int, limit: int
) -> tuple[Doctor, list[Review], int]:
    """A doctor seeing patients (as the doctor page finds them) with their visible reviews, newest first,
    and how many there are."""
    doctor, _, _ = await hospitals.get_doctor(session, doctor_id)
    visible = [Review.doctor_id == doctor_id, Review.hidden_at.is_(None)]
    total = await session.scalar(select(func.count()).select_from(Review).where(*visible))
    rows = await session.scalars(
        select(Review).where(*visible).order_by(Review.created_at.desc(), Review.id.desc()).offset(offset).limit(limit)
    )
    return doctor, list(rows), int(total or 0)


# --- the doctor's rating --------------------------------------------------------------------------


async def _retotal(session: AsyncSession, doctor_id: int, change: Callable[[rules.Totals], rules.Totals]) -> None:
    """Changes the doctor's totals under a lock on the doctor row, so two reviews at once both count."""
    doctor = await session.scalar(
        select(Doctor)
        .where(Doctor.id == doctor_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: bookings of this doctor (FK checks) need not wait
        .execution_options(populate_existing=True)
    )
    assert doctor is not None  # a review's doctor row is never deleted (doctors leave, they are not removed)
    totals = change(rules.Totals(doctor.rating_count, doctor.rating_star_sum, dict(doctor.rating_tags or {})))
    doctor.rating_count = totals.count
    doctor.rating_star_sum = totals.star_sum
    doctor.rating_tags = totals.tags


async def recount(session: AsyncSession, *, doctor_id: int) -> rules.Totals:
    """The doctor's totals as the visible review rows say (what the kept columns must equal)."""
    totals = rules.Totals()
    rows = await session.execute(
        select(Review.stars, Review.tags).where(Review.doctor_id == doctor_id, Review.hidden_at.is_(None))
    )
    for stars, tags in rows.tuples():
        totals = totals.plus(stars, list(tags or []))
    return totals


# --- the hospital's side --------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffFilter:
    doctor_id: int | None = None
    hidden: bool | None = None
    """True: hidden only; False: visible only; None: both."""
    stars: int | None = None


def _scope(staff: StaffUser, hospital_id: int | None) -> int | None:
    """The hospital whose reviews are read: the staff user's own (naming another is not found); for the
    platform the one it names, or every hospital (None)."""
    if staff.role == StaffRole.PLATFORM_ADMIN:
        return hospital_id
    if hospital_id is not None:
        require_hospital(staff, hospital_id, not_found=hospitals.HospitalNotFound)
    return staff.hospital_id


async def staff_reviews(
    session: AsyncSession,
    *,
    staff: StaffUser,
    hospital_id: int | None,
    filters: StaffFilter,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Review, Doctor]], int]:
    """The reviews of the staff user's hospital (a doctor: their own), hidden ones included unless
    filtered, newest first, each with its doctor."""
    require_role(staff, *READ_ROLES)
    scope = _scope(staff, hospital_id)
    conditions: list[ColumnElement[bool]] = []
    if scope is not None:
        conditions.append(Review.hospital_id == scope)
    if staff.role == StaffRole.DOCTOR:
        conditions.append(Review.doctor_id == staff.doctor_id)
    if filters.doctor_id is not None:
        conditions.append(Review.doctor_id == filters.doctor_id)
    if filters.hidden is not None:
        conditions.append(Review.hidden_at.is_not(None) if filters.hidden else Review.hidden_at.is_(None))
    if filters.stars is not None:
        conditions.append(Review.stars == filters.stars)
    total = await session.scalar(select(func.count()).select_from(Review).where(*conditions))
    rows = await session.execute(
        select(Review, Doctor)
        .join(Doctor, Doctor.id == Review.doctor_id)
        .where(*conditions)
        .order_by(Review.created_at.desc(), Review.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.tuples()), int(total or 0)


async def _for_moderation(session: AsyncSession, *, staff: StaffUser, review_id: int) -> Review:
    require_role(staff, *MODERATE_ROLES)
    await begin_write(session)
    review = await session.scalar(select(Review).where(Review.id == review_id).with_for_update())
    if review is None:
        raise ReviewNotFound()
    require_hospital(staff, review.hospital_id, not_found=ReviewNotFound)
    return review


async def hide(session: AsyncSession, *, staff: StaffUser, review_id: int, reason: str, now: datetime) -> Review:
    """A hospital administrator hides a review of their hospital (隐藏), with a reason the patient is
    shown: it leaves the public list and the doctor's rating. Audited. Its points stay earned."""
    review = await _for_moderation(session, staff=staff, review_id=review_id)
    if review.hidden_at is not None:
        raise ReviewAlreadyHidden()
    review.hidden_at = now
    review.hidden_reason = reason
    review.hidden_by = actor(staff)
    await _retotal(session, review.doctor_id, lambda t: t.minus(review.stars, review.tags))
    _audit(session, staff, review, "review.hide", now=now, reason=reason)
    await session.flush()
    return review


async def restore(session: AsyncSession, *, staff: StaffUser, review_id: int, now: datetime) -> Review:
    """A hidden review is shown again (恢复) and counts in the doctor's rating again. Audited."""
    review = await _for_moderation(session, staff=staff, review_id=review_id)
    if review.hidden_at is None:
        raise ReviewNotHidden()
    was = review.hidden_reason
    review.hidden_at = None
    review.hidden_reason = ""
    review.hidden_by = ""
    await _retotal(session, review.doctor_id, lambda t: t.plus(review.stars, review.tags))
    _audit(session, staff, review, "review.restore", now=now, hidden_reason=was)
    await session.flush()
    return review


def _audit(session: AsyncSession, staff: StaffUser, review: Review, action: str, *, now: datetime, **why: str) -> None:
    audit.record(
        session,
        actor=actor(staff),
        action=action,
        subject=f"review:{review.id}",
        at=now,
        hospital_id=review.hospital_id,
        detail={**why, "doctor_id": review.doctor_id, "stars": review.stars},
    )
