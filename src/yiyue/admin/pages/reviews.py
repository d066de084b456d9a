"""患者评价: the hospital's reviews, newest first, filtered by doctor, stars and whether hidden; an
administrator hides one with a reason the patient is shown (htmx swaps the row) and restores it. The
same service as the staff API (``reviews.service``), so scope, rating and audit are the same."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from yiyue.accounts.staff.models import StaffUser
from yiyue.admin.console import Console, page
from yiyue.admin.errors import error_page, is_htmx
from yiyue.admin.forms import parse, values
from yiyue.admin.pages.catalog import _as_id
from yiyue.admin.pages.frontdesk import attempt
from yiyue.admin.templating import render, replace_query
from yiyue.core.deps import ClockDep, SessionDep
from yiyue.core.errors import DomainError
from yiyue.hospitals.models import Doctor
from yiyue.hospitals.schemas import RatingOut
from yiyue.reviews import rules, service
from yiyue.reviews.models import Review
from yiyue.reviews.staff_endpoints import ReviewId

router = APIRouter()

Reviews = Annotated[Console, Depends(page("reviews"))]

PAGE_SIZE = 30
HERE = "/admin/reviews"
KEPT = ("doctor_id", "stars", "hidden", "page")
"""The query parameters the page keeps (filters and paging); anything else is dropped."""
HIDDEN_CHOICES = (("", "全部"), ("false", "显示中"), ("true", "已隐藏"))


class HideForm(BaseModel):
    reason: Annotated[str, StringConstraints(min_length=2, max_length=100)] = Field(title="隐藏原因")


@dataclass(frozen=True)
class Row:
    """One review as the list shows it."""

    review: Review
    doctor: Doctor
    stars: str
    """★★★★☆"""
    tags: list[tuple[str, bool]]
    """Each tag with whether it is praise."""
    hidden_by: str
    """Who hid it, by name ("" while visible)."""


@dataclass(frozen=True)
class Filters:
    doctor_id: int | None
    stars: int | None
    hidden: bool | None

    @classmethod
    def read(cls, query: dict[str, str]) -> Filters:
        """Lenient: a blank or unreadable filter is no filter (the page never refuses its own links)."""
        stars = query.get("stars", "")
        return cls(
            doctor_id=_as_id(query.get("doctor_id")),
            stars=int(stars) if stars in ("1", "2", "3", "4", "5") else None,
            hidden={"true": True, "false": False}.get(query.get("hidden", "")),
        )

    def as_service(self) -> service.StaffFilter:
        return service.StaffFilter(doctor_id=self.doctor_id, hidden=self.hidden, stars=self.stars)


def star_line(stars: int) -> str:
    return "★" * stars + "☆" * (rules.MAX_STARS - stars)


def _query(params: Any) -> dict[str, str]:
    return {k: str(v).strip() for k, v in params.items() if k in KEPT and str(v).strip()}


def _safe_back(target: Any) -> str:
    """Back to this page with its filters, never elsewhere (an open redirect)."""
    if isinstance(target, str) and target.startswith(HERE) and not target.startswith("//"):
        kept = _query(dict(parse_qsl(urlsplit(target).query)))
        return HERE + (f"?{replace_query(kept)}" if kept else "")
    return HERE


def _staff_id(hidden_by: str) -> int | None:
    kind, _, ident = hidden_by.partition(":")
    return int(ident) if kind == "staff" and ident.isdigit() else None


async def _rows(session: AsyncSession, found: list[tuple[Review, Doctor]]) -> list[Row]:
    """The rows, with who hid each hidden review by name (one query for all)."""
    staff_ids = {i for r, _ in found if (i := _staff_id(r.hidden_by)) is not None}
    names: dict[int, str] = {}
    if staff_ids:
        who = select(StaffUser.id, StaffUser.display_name).where(StaffUser.id.in_(staff_ids))
        names = {i: n for i, n in (await session.execute(who)).tuples()}
    return [
        Row(
            review=r,
            doctor=d,
            stars=star_line(r.stars),
            tags=[(t, t in rules.POSITIVE) for t in r.tags or []],
            hidden_by=names.get(_staff_id(r.hidden_by) or 0, r.hidden_by),
        )
        for r, d in found
    ]


@router.get("/reviews")
async def review_list(console: Reviews, session: SessionDep) -> Response:
    return await _list_page(console, session, query=_query(console.request.query_params))


async def _list_page(
    console: Console,
    session: AsyncSession,
    *,
    query: dict[str, str],
    errors: dict[int, dict[str, str]] | None = None,
    reasons: dict[int, dict[str, Any]] | None = None,
) -> Response:
    filters = Filters.read(query)
    page_text = query.get("page", "1")
    page_number = max(1, min(int(page_text) if page_text.isdigit() else 1, 10_000))
    found, total = await service.staff_reviews(
        session,
        staff=console.staff,
        hospital_id=None,
        filters=filters.as_service(),
        offset=(page_number - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    hospital_id = console.hospital_id
    # The filter offers the doctors with reviews (hidden ones too), the most reviewed first.
    doctors = list(
        await session.scalars(
            select(Doctor)
            .where(Doctor.id.in_(select(Review.doctor_id).where(Review.hospital_id == hospital_id)))
            .order_by(Doctor.rating_count.desc(), Doctor.name, Doctor.id)
        )
    )
    here = HERE + (f"?{replace_query(query)}" if query else "")
    return render(
        console,
        "reviews/index.html",
        rows=await _rows(session, found),
        total=total,
        page_number=page_number,
        page_size=PAGE_SIZE,
        doctors=doctors,
        **await _summary(session, hospital_id=hospital_id, doctor_id=filters.doctor_id),
        filters={
            "doctor_id": query.get("doctor_id", ""),
            "stars": query.get("stars", ""),
            "hidden": query.get("hidden", ""),
        },
        hidden_choices=HIDDEN_CHOICES,
        query={k: v for k, v in query.items() if k != "page"},
        back=here,
        status=422 if errors else 200,
        errors=errors or {},
        reasons=reasons or {},
    )


async def _summary(session: AsyncSession, *, hospital_id: int, doctor_id: int | None) -> dict[str, Any]:
    """What the line above the list shows: the chosen doctor's rating (a doctor of this hospital) or the
    hospital's average, and how many of theirs are hidden."""
    chosen = await session.get(Doctor, doctor_id) if doctor_id is not None else None
    if chosen is not None and chosen.hospital_id != hospital_id:
        chosen = None
    theirs = Review.doctor_id == chosen.id if chosen is not None else Review.hospital_id == hospital_id
    hidden = await session.scalar(select(func.count()).select_from(Review).where(theirs, Review.hidden_at.is_not(None)))
    count, star_sum = (
        await session.execute(
            select(
                func.coalesce(func.sum(Doctor.rating_count), 0), func.coalesce(func.sum(Doctor.rating_star_sum), 0)
            ).where(Doctor.hospital_id == hospital_id)
        )
    ).one()
    return {
        "chosen": chosen,
        "chosen_rating": RatingOut.of_doctor(chosen) if chosen is not None else None,
        "hospital_rating": RatingOut.of(count=int(count), star_sum=int(star_sum), tags={}),
        "hidden_total": int(hidden or 0),
        "positive": rules.POSITIVE,
    }


@router.post("/reviews/{review_id}/hide")
async def hide(console: Reviews, session: SessionDep, clock: ClockDep, review_id: ReviewId) -> Response:
    """隐藏: from the row (htmx swaps it) or, without script, back to the list with a message."""
    data = values(await console.request.form())
    form, errors = parse(HideForm, data)
    if form is None:
        return await _refused_row(console, session, review_id, data=data, errors=errors)
    reason = form.reason
    return await _moderate(
        console,
        session,
        data,
        lambda: service.hide(session, staff=console.staff, review_id=review_id, reason=reason, now=clock.now()),
        done="已隐藏该评价，患者将看到隐藏原因",
    )


@router.post("/reviews/{review_id}/restore")
async def restore(console: Reviews, session: SessionDep, clock: ClockDep, review_id: ReviewId) -> Response:
    data = values(await console.request.form())
    return await _moderate(
        console,
        session,
        data,
        lambda: service.restore(session, staff=console.staff, review_id=review_id, now=clock.now()),
        done="已恢复显示该评价",
    )


async def _moderate(console: Console, session: AsyncSession, data: dict[str, Any], act: Any, *, done: str) -> Response:
    request = console.request
    back = _safe_back(data.get("next"))
    try:
        review: Review = await attempt(session, act)
    except DomainError as refused:
        if is_htmx(request):
            return error_page(request, refused.status, refused.text)
        return RedirectResponse(_with_message(back, refused.text), status_code=303)
    if not is_htmx(request):
        return RedirectResponse(_with_message(back, done), status_code=303)
    doctor = await session.get_one(Doctor, review.doctor_id)
    [row] = await _rows(session, [(review, doctor)])
    shown = Filters.read(_query(dict(parse_qsl(urlsplit(back).query))))
    summary = await _summary(session, hospital_id=review.hospital_id, doctor_id=shown.doctor_id)
    return render(console, "reviews/_moved.html", r=row, back=back, message=done, errors={}, reasons={}, **summary)


async def _refused_row(
    console: Console, session: AsyncSession, review_id: int, *, data: dict[str, Any], errors: dict[str, str]
) -> Response:
    """The reason would not do: the row again with the message beside the box (htmx), or the list."""
    review = await session.get(Review, review_id)
    if review is None or review.hospital_id != console.hospital_id:
        return error_page(console.request, 404, "评价不存在")
    back = _safe_back(data.get("next"))
    if not is_htmx(console.request):
        query = _query(dict(parse_qsl(urlsplit(back).query)))
        return await _list_page(console, session, query=query, errors={review_id: errors}, reasons={review_id: data})
    doctor = await session.get_one(Doctor, review.doctor_id)
    [row] = await _rows(session, [(review, doctor)])
    return render(
        console,
        "reviews/_row.html",
        status=422,
        r=row,
        back=back,
        errors={review_id: errors},
        reasons={review_id: data},
    )


def _with_message(back: str, message: str) -> str:
    return back + ("&" if "?" in back else "?") + replace_query({}, ok=message)
