from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from yiyue.core.cache import NOT_MODIFIED, ReadsDep, Region
from yiyue.core.deps import ReplicaSessionDep
from yiyue.core.errors import INPUT_ERRORS, RateLimited, responses
from yiyue.core.pagination import Page, PageDep
from yiyue.core.params import MAX_ID, IdPath
from yiyue.core.ratelimit import rate_limit
from yiyue.hospitals import service
from yiyue.hospitals.models import Hospital
from yiyue.hospitals.schemas import (
    BookingRules,
    CityList,
    CityOut,
    DepartmentBrief,
    DepartmentHit,
    DepartmentNode,
    DepartmentOut,
    DepartmentRef,
    DepartmentTree,
    DoctorBrief,
    DoctorHit,
    DoctorOut,
    HospitalBrief,
    HospitalHit,
    HospitalOut,
    NamedRef,
    SearchOut,
)

router = APIRouter(prefix="/api/v1", tags=["医院、科室与医生"])

CATALOG = Region("catalog", tables=frozenset({"hospitals", "departments", "doctors"}), shared=True)
"""The catalog as patients read it: kept until staff change one of its tables (``core.cache``)."""

SearchQuery = Annotated[
    str | None, Query(max_length=50, description="中文名称、全拼（可带空格）、拼音首字母，或汉字与拼音混合")
]


def booking_rules(hospital: Hospital) -> BookingRules:
    return BookingRules(
        release_days=hospital.release_days,
        release_time=hospital.release_time.strftime("%H:%M"),
        stop_minutes_before=hospital.stop_minutes_before,
        cancel_minutes_before=hospital.cancel_minutes_before,
        max_active_appointments=hospital.max_active_appointments,
        max_unpaid_holds=hospital.max_unpaid_holds,
        release_mode=hospital.release_mode,
        release_window_seconds=hospital.release_window_seconds,
        payment_required=hospital.payment_required,
        booking_open=hospital.booking_open is not False,
    )


@router.get(
    "/search",
    summary="搜索医院、科室与医生",
    dependencies=[rate_limit("search", per="ip")],
    description="按名称、全拼、拼音首字母（可与汉字混合）搜索；医生还按擅长与所在科室。每组按匹配程度排序。",
    response_model=SearchOut,
    responses={**responses(*INPUT_ERRORS, service.SearchQueryEmpty, RateLimited), **NOT_MODIFIED},
)
async def search(
    session: ReplicaSessionDep,
    reads: ReadsDep,
    q: Annotated[str, Query(max_length=50, description="搜索词（不可为空）")] = "",
    city: Annotated[str | None, Query(max_length=30, description="只看该城市的医院")] = None,
    limit: Annotated[int, Query(ge=1, le=20, description="每组最多条数")] = 5,
) -> Response:
    async def build() -> SearchOut:
        found = await service.search(session, q=q, city=city, limit=limit)
        return SearchOut(
            query=found.query,
            hospitals=[
                HospitalHit(
                    id=h.id, name=h.name, level=h.level, city=h.city, district=h.district, address=h.address, match=m
                )
                for h, m in found.hospitals
            ],
            departments=[
                DepartmentHit(id=d.id, name=d.name, parent_name=parent, hospital=NamedRef.model_validate(h), match=m)
                for d, parent, h, m in found.departments
            ],
            doctors=[
                DoctorHit(
                    id=d.id,
                    name=d.name,
                    title=d.title,
                    specialty=d.specialty,
                    department=NamedRef.model_validate(dept),
                    hospital=NamedRef.model_validate(h),
                    match=m,
                )
                for d, dept, h, m in found.doctors
            ],
        )

    return await reads.answer(CATALOG, build)


@router.get(
    "/hospitals",
    summary="医院列表与搜索",
    dependencies=[rate_limit("search", per="ip")],
    response_model=Page[HospitalBrief],
    responses={**responses(*INPUT_ERRORS, RateLimited), **NOT_MODIFIED},
)
async def list_hospitals(
    session: ReplicaSessionDep,
    reads: ReadsDep,
    page: PageDep,
    q: SearchQuery = None,
    city: Annotated[str | None, Query(max_length=30)] = None,
    level: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    async def build() -> Page[HospitalBrief]:
        hospitals, total = await service.search_hospitals(session, q=q, city=city, level=level, page=page)
        return Page.of([HospitalBrief.model_validate(h) for h in hospitals], total, page)

    return await reads.answer(CATALOG, build)


@router.get("/cities", summary="有医院的城市（按医院数）", response_model=CityList, responses=NOT_MODIFIED)
async def cities(session: ReplicaSessionDep, reads: ReadsDep) -> Response:
    async def build() -> CityList:
        return CityList(items=[CityOut(city=c, hospitals=n) for c, n in await service.cities(session)])

    return await reads.answer(CATALOG, build)


@router.get(
    "/hospitals/{hospital_id}",
    summary="医院详情与预约规则",
    response_model=HospitalOut,
    responses={**responses(*INPUT_ERRORS, service.HospitalNotFound), **NOT_MODIFIED},
)
async def get_hospital(hospital_id: IdPath, session: ReplicaSessionDep, reads: ReadsDep) -> Response:
    async def build() -> HospitalOut:
        hospital = await service.get_hospital(session, hospital_id)
        return HospitalOut(
            **HospitalBrief.model_validate(hospital).model_dump(),
            intro=hospital.intro,
            booking_rules=booking_rules(hospital),
        )

    return await reads.answer(CATALOG, build)


@router.get(
    "/hospitals/{hospital_id}/departments",
    summary="两级科室列表",
    response_model=DepartmentTree,
    responses={**responses(*INPUT_ERRORS, service.HospitalNotFound), **NOT_MODIFIED},
)
async def list_departments(
    hospital_id: IdPath, session: ReplicaSessionDep, reads: ReadsDep, q: SearchQuery = None
) -> Response:
    async def build() -> DepartmentTree:
        tree = await service.department_tree(session, hospital_id=hospital_id, q=q)
        items = [
            DepartmentNode(
                **DepartmentBrief.model_validate(parent).model_dump(),
                children=[DepartmentBrief.model_validate(c) for c in children],
            )
            for parent, children in tree
        ]
        return DepartmentTree(items=items, total=len(items))

    return await reads.answer(CATALOG, build)


@router.get(
    "/departments/{department_id}",
    summary="科室详情",
    response_model=DepartmentOut,
    responses={**responses(*INPUT_ERRORS, service.DepartmentNotFound), **NOT_MODIFIED},
)
async def get_department(department_id: IdPath, session: ReplicaSessionDep, reads: ReadsDep) -> Response:
    async def build() -> DepartmentOut:
        return DepartmentOut.model_validate(await service.get_department(session, department_id))

    return await reads.answer(CATALOG, build)


@router.get(
    "/doctors",
    summary="医生搜索",
    dependencies=[rate_limit("search", per="ip")],
    response_model=Page[DoctorBrief],
    responses={**responses(*INPUT_ERRORS, RateLimited), **NOT_MODIFIED},
)
async def list_doctors(
    session: ReplicaSessionDep,
    reads: ReadsDep,
    page: PageDep,
    q: SearchQuery = None,
    hospital_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    async def build() -> Page[DoctorBrief]:
        doctors, total = await service.search_doctors(
            session, q=q, hospital_id=hospital_id, department_id=department_id, page=page
        )
        return Page.of([DoctorBrief.model_validate(d) for d in doctors], total, page)

    return await reads.answer(CATALOG, build)


@router.get(
    "/doctors/{doctor_id}",
    summary="医生详情",
    response_model=DoctorOut,
    responses={**responses(*INPUT_ERRORS, service.DoctorNotFound), **NOT_MODIFIED},
)
async def get_doctor(doctor_id: IdPath, session: ReplicaSessionDep, reads: ReadsDep) -> Response:
    async def build() -> DoctorOut:
        doctor, hospital, department = await service.get_doctor(session, doctor_id)
        return DoctorOut(
            **DoctorBrief.model_validate(doctor).model_dump(),
            intro=doctor.intro,
            hospital=NamedRef.model_validate(hospital),
            department=DepartmentRef.model_validate(department),
        )

    return await reads.answer(CATALOG, build)
