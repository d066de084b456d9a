"""The patient's reviews API: the tags offered, reviewing a completed visit (and seeing that review,
hidden or not), and a doctor's reviews, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from yiyue.booking.errors import AppointmentNotFound
from yiyue.core.deps import ClockDep, CurrentAccount, SessionDep
from yiyue.core.errors import AUTH_ERRORS, BODY_ERRORS, INPUT_ERRORS, responses
from yiyue.core.params import IdPath
from yiyue.hospitals.schemas import RatingOut
from yiyue.hospitals.service import DoctorNotFound
from yiyue.reviews import rules, service
from yiyue.reviews.errors import (
    InvalidStars,
    NotReviewable,
    ReviewExists,
    ReviewTextRejected,
    ReviewTextTooLong,
    ReviewWindowClosed,
    UnknownReviewTag,
)
from yiyue.reviews.models import Review
from yiyue.reviews.schemas import (
    DoctorReviewList,
    OwnReviewOut,
    PublicReviewOut,
    ReviewIn,
    ReviewStateOut,
    TagList,
    TagOut,
)

router = APIRouter(prefix="/api/v1", tags=["评价"])

Offset = Annotated[int, Query(ge=0, le=100_000, description="起始位置，从 0 开始")]
Limit = Annotated[int, Query(ge=1, le=50, description="数量，最多50条")]


def own_review_out(review: Review) -> OwnReviewOut:
    hidden = review.hidden_at is not None
    return OwnReviewOut(
        id=review.id,
        stars=review.stars,
        tags=list(review.tags or []),
        text=review.text,
        created_at=review.created_at,
        hidden=hidden,
        hidden_reason=review.hidden_reason if hidden else None,
    )


@router.get("/review-tags", summary="评价标签（好评在前）")
async def review_tags() -> TagList:
    return TagList(tags=[TagOut(tag=t.tag, positive=t.positive) for t in rules.TAGS])


@router.get(
    "/appointments/{appointment_id}/review",
    summary="该次就诊能否评价、截止时间与已写的评价（含隐藏原因）",
    responses=responses(*AUTH_ERRORS, *INPUT_ERRORS, AppointmentNotFound),
)
async def review_state(
    appointment_id: IdPath, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> ReviewStateOut:
    state = await service.review_state(
        session, account_id=account.subject_id, appointment_id=appointment_id, now=clock.now()
    )
    return ReviewStateOut(
        reviewable=state.reviewable,
        review_until=state.review_until,
        reason=state.refusal.message if state.refusal is not None else None,
        review=own_review_out(state.review) if state.review is not None else None,
    )


@router.post(
    "/appointments/{appointment_id}/review",
    status_code=201,
    summary="评价医生（就诊完成后30天内，每次就诊一次）",
    responses=responses(
        *AUTH_ERRORS,
        *BODY_ERRORS,
        InvalidStars,
        UnknownReviewTag,
        ReviewTextTooLong,
        ReviewTextRejected,
        AppointmentNotFound,
        NotReviewable,
        ReviewExists,
        ReviewWindowClosed,
    ),
)
async def write_review(
    appointment_id: IdPath, body: ReviewIn, session: SessionDep, account: CurrentAccount, clock: ClockDep
) -> OwnReviewOut:
    review = await service.write_review(
        session,
        account_id=account.subject_id,
        appointment_id=appointment_id,
        stars=body.stars,
        tags=body.tags,
        text=body.text,
        now=clock.now(),
    )
    return own_review_out(review)


@router.get(
    "/doctors/{doctor_id}/reviews",
    summary="医生的患者评价（最新在前，评价人脱敏）与评分",
    responses=responses(*INPUT_ERRORS, DoctorNotFound),
)
async def doctor_reviews(
    doctor_id: IdPath, session: SessionDep, offset: Offset = 0, limit: Limit = 10
) -> DoctorReviewList:
    doctor, reviews, total = await service.doctor_reviews(session, doctor_id=doctor_id, offset=offset, limit=limit)
    return DoctorReviewList(
        items=[
            PublicReviewOut(
                id=r.id,
                stars=r.stars,
                tags=list(r.tags or []),
                text=r.text,
                reviewer=r.reviewer,
                created_at=r.created_at,
            )
            for r in reviews
        ],
        total=total,
        offset=offset,
        limit=limit,
        rating=RatingOut.of_doctor(doctor),
    )
