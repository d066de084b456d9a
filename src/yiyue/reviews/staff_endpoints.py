"""Reviews as hospital staff see them: the hospital's list (a doctor: their own), hiding one with a
reason and restoring it (hospital administrators; audited). Another hospital's review is not found."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from yiyue.accounts.staff.deps import CurrentStaff
from yiyue.accounts.staff.errors import STAFF_AUTH_ERRORS, ForbiddenRole
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.params import MAX_ID, OptionalId
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.service import HospitalNotFound
from yiyue.reviews import service
from yiyue.reviews.endpoints import Limit, Offset
from yiyue.reviews.errors import ReviewAlreadyHidden, ReviewNotFound, ReviewNotHidden
from yiyue.reviews.models import Review
from yiyue.reviews.schemas import HideIn, StaffReviewDoctor, StaffReviewList, StaffReviewOut

router = APIRouter(prefix="/api/v1/staff", tags=["医院工作人员"])

ReviewId = Annotated[int, Path(ge=1, le=MAX_ID, title="评价", description="评价 id")]


def staff_review_out(review: Review, doctor: Doctor) -> StaffReviewOut:
    return StaffReviewOut(
        id=review.id,
        appointment_id=review.appointment_id,
        hospital_id=review.hospital_id,
        doctor=StaffReviewDoctor(id=doctor.id, name=doctor.name, title=doctor.title),
        stars=review.stars,
        tags=list(review.tags or []),
        text=review.text,
        reviewer=review.reviewer,
        created_at=review.created_at,
        hidden=review.hidden_at is not None,
        hidden_at=review.hidden_at,
        hidden_reason=review.hidden_reason,
        hidden_by=review.hidden_by,
    )


@router.get(
    "/reviews",
    summary="本院患者评价（最新在前，含已隐藏；医生仅见本人）",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, HospitalNotFound),
)
async def list_reviews(
    session: SessionDep,
    staff: CurrentStaff,
    doctor_id: OptionalId = None,
    hidden: Annotated[bool | None, Query(description="是否隐藏：true 仅看已隐藏，false 仅看显示中")] = None,
    stars: Annotated[int | None, Query(ge=1, le=5, description="星级")] = None,
    hospital_id: Annotated[OptionalId, Query(description="医院 id：平台管理员可选")] = None,
    offset: Offset = 0,
    limit: Limit = 20,
) -> StaffReviewList:
    rows, total = await service.staff_reviews(
        session,
        staff=staff,
        hospital_id=hospital_id,
        filters=service.StaffFilter(doctor_id=doctor_id, hidden=hidden, stars=stars),
        offset=offset,
        limit=limit,
    )
    return StaffReviewList(items=[staff_review_out(r, d) for r, d in rows], total=total, offset=offset, limit=limit)


async def _with_doctor(session: SessionDep, review: Review) -> StaffReviewOut:
    return staff_review_out(review, await session.get_one(Doctor, review.doctor_id))


@router.post(
    "/reviews/{review_id}/hide",
    summary="隐藏评价（须填原因，患者可见；不再计入医生评分）",
    responses=responses(*STAFF_AUTH_ERRORS, *BODY_ERRORS, ForbiddenRole, ReviewNotFound, ReviewAlreadyHidden),
)
async def hide(
    review_id: ReviewId, body: HideIn, session: SessionDep, staff: CurrentStaff, clock: ClockDep
) -> StaffReviewOut:
    review = await service.hide(session, staff=staff, review_id=review_id, reason=body.reason, now=clock.now())
    return await _with_doctor(session, review)


@router.post(
    "/reviews/{review_id}/restore",
    summary="恢复已隐藏的评价",
    responses=responses(*STAFF_AUTH_ERRORS, *INPUT_ERRORS, ForbiddenRole, ReviewNotFound, ReviewNotHidden),
)
async def restore(review_id: ReviewId, session: SessionDep, staff: CurrentStaff, clock: ClockDep) -> StaffReviewOut:
    review = await service.restore(session, staff=staff, review_id=review_id, now=clock.now())
    return await _with_doctor(session, review)
