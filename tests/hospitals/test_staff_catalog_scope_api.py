"""Who may do what to the catalog, path by path: the platform administrator keeps the hospitals and may act
on any hospital's departments and doctors; a hospital administrator keeps their own hospital's; front
desk and doctors only read them; another hospital's records are not found (never confirmed). A refused
request changes nothing and leaves no audit row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from tests.conftest import Login
from tests.factories import FAST_HASHER, Catalog, make_catalog, make_staff, staff_login
from yiyue.accounts.staff import passwords
from yiyue.core.audit import AuditLog
from yiyue.core.db import Database
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.staff_endpoints import router

PLATFORM, ADMIN, DESK, DOCTOR, OTHER_ADMIN = "platform", "admin.a", "desk.a", "doctor.a", "admin.b"
ROLES = (PLATFORM, ADMIN, DESK, DOCTOR, OTHER_ADMIN)
HOSPITAL_A = frozenset({PLATFORM, ADMIN, DESK, DOCTOR})
"""Everyone who works at hospital A, and the platform."""
EDITORS = frozenset({PLATFORM, ADMIN})
PLATFORM_ONLY = frozenset({PLATFORM})


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@dataclass
class World:
    a: Catalog
    b: Catalog


@pytest.fixture
async def world(db: Database) -> World:
    a = await make_catalog(db, name="甲市人民医院")
    b = await make_catalog(db, name="乙市中心医院")
    async with db.session() as session:  # a second top-level department, for 内科 to move below
        session.add(Department(hospital_id=a.hospital.id, name="儿科", name_initials="ek", sort_order=2))
    await make_staff(db, role="platform_admin", username=PLATFORM)
    await make_staff(db, role="hospital_admin", catalog=a, username=ADMIN)
    await make_staff(db, role="front_desk", catalog=a, username=DESK)
    await make_staff(db, role="doctor", catalog=a, username=DOCTOR)
    await make_staff(db, role="hospital_admin", catalog=b, username=OTHER_ADMIN)
    return World(a, b)


Body = Callable[[World], dict[str, Any]] | None


@dataclass(frozen=True)
class Call:
    """One request at hospital A's records, who may make it, and what the others get."""

    method: str
    path: str
    """With ``{hospital}``, ``{parent}``, ``{clinic}``, ``{doctor}``: hospital A's."""
    body: Body
    ok: int
    allowed: frozenset[str]
    other_hospital: str | None
    """The 404 code hospital B's administrator gets (None: the role itself is refused, 403)."""
    closed: type[Hospital | Department | Doctor] | None = None
    """What is closed (left) first, so that opening (rejoining) it changes something."""

    def url(self, w: World) -> str:
        a = w.a
        return S + self.path.format(hospital=a.hospital.id, parent=a.parent.id, clinic=a.clinic.id, doctor=a.doctor.id)

    def url_of_nothing(self) -> str:
        """The same request at records that do not exist."""
        return S + self.path.format(hospital=999_999, parent=999_999, clinic=999_999, doctor=999_999)

    def route(self) -> str:
        path = self.path.split("?", 1)[0]
        return S + path.format(
            hospital="{hospital_id}", parent="{department_id}", clinic="{department_id}", doctor="{doctor_id}"
        )

    def expected(self, role: str) -> tuple[int, str | None]:
        if role in self.allowed:
            return self.ok, None
        if role == OTHER_ADMIN and self.other_hospital is not None:
            return 404, self.other_hospital
        return 403, "FORBIDDEN_ROLE"


def hospital_body(w: World) -> dict[str, Any]:
    return {
        "name": "甲市人民医院",
        "level": "三级甲等",
        "city": "甲市",
        "district": "中区",
        "address": "甲市中区1号",
        "phone": "0571-1234567",
        "release_days": 10,
    }


def department_body(w: World) -> dict[str, Any]:
    return {"name": "心内科", "parent_id": w.a.parent.id, "location": "门诊楼2层"}


def doctor_body(w: World) -> dict[str, Any]:
    return {
        "name": "李明华",
        "gender": "男",
        "title": "主任医师",
        "department_id": w.a.clinic.id,
        "fee_fen": 6000,
    }


S = "/api/v1/staff"
H, D, DR = "HOSPITAL_NOT_FOUND", "DEPARTMENT_NOT_FOUND", "DOCTOR_NOT_FOUND"
CALLS: dict[str, Call] = {
    "list hospitals": Call("GET", "/hospitals", None, 200, PLATFORM_ONLY, None),
    "create a hospital": Call(
        "POST", "/hospitals", lambda w: {**hospital_body(w), "name": "丙医院"}, 201, PLATFORM_ONLY, None
    ),
    "read a hospital": Call("GET", "/hospitals/{hospital}", None, 200, HOSPITAL_A, H),
    "edit a hospital": Call("PUT", "/hospitals/{hospital}", hospital_body, 200, PLATFORM_ONLY, None),
    "close a hospital": Call("POST", "/hospitals/{hospital}/close-booking", None, 200, PLATFORM_ONLY, None),
    "open a hospital": Call("POST", "/hospitals/{hospital}/open-booking", None, 200, PLATFORM_ONLY, None, Hospital),
    "list departments": Call("GET", "/departments?hospital_id={hospital}", None, 200, HOSPITAL_A, H),
    "create a department": Call(
        "POST", "/departments", lambda w: {"name": "外科", "hospital_id": w.a.hospital.id}, 201, EDITORS, H
    ),
    "read a department": Call("GET", "/departments/{clinic}", None, 200, HOSPITAL_A, D),
    "edit a department": Call("PUT", "/departments/{clinic}", department_body, 200, EDITORS, D),
    "move a department": Call("POST", "/departments/{parent}/move", lambda w: {"direction": "down"}, 200, EDITORS, D),
    "close a department": Call("POST", "/departments/{clinic}/close", None, 200, EDITORS, D),
    "reopen a department": Call("POST", "/departments/{clinic}/reopen", None, 200, EDITORS, D, Department),
    "list doctors": Call("GET", "/doctors?hospital_id={hospital}", None, 200, HOSPITAL_A, H),
    "create a doctor": Call(
        "POST",
        "/doctors",
        lambda w: {**doctor_body(w), "name": "赵敏", "hospital_id": w.a.hospital.id},
        201,
        EDITORS,
        H,
    ),
    "read a doctor": Call("GET", "/doctors/{doctor}", None, 200, HOSPITAL_A, DR),
    "edit a doctor": Call("PUT", "/doctors/{doctor}", doctor_body, 200, EDITORS, DR),
    "a doctor leaves": Call("POST", "/doctors/{doctor}/leave", None, 200, EDITORS, DR),
    "a doctor rejoins": Call("POST", "/doctors/{doctor}/rejoin", None, 200, EDITORS, DR, Doctor),
}


async def snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a catalog write could change, and the audit log's length."""
    async with db.session() as session:
        hospitals = (await session.execute(select(Hospital.id, Hospital.name, Hospital.booking_open))).all()
        departments = (
            await session.execute(
                select(Department.id, Department.name, Department.location, Department.sort_order, Department.active)
            )
        ).all()
        doctors = (await session.execute(select(Doctor.id, Doctor.name, Doctor.fee_fen, Doctor.active))).all()
        audit = await session.scalar(select(func.count()).select_from(AuditLog))
    return tuple(sorted(hospitals)), tuple(sorted(departments)), tuple(sorted(doctors)), audit


async def close_first(db: Database, world: World, call: Call) -> None:
    async with db.session() as session:
        if call.closed is Hospital:
            (await session.get_one(Hospital, world.a.hospital.id)).booking_open = False
        elif call.closed is Department:
            (await session.get_one(Department, world.a.clinic.id)).active = False
        elif call.closed is Doctor:
            (await session.get_one(Doctor, world.a.doctor.id)).active = False


async def send(
    client: httpx.AsyncClient, call: Call, world: World, headers: dict[str, str], *, url: str | None = None
) -> httpx.Response:
    body = call.body(world) if call.body is not None else None
    return await client.request(call.method, url or call.url(world), json=body, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(CALLS))
async def test_the_role_and_hospital_decide(
    client: httpx.AsyncClient, db: Database, world: World, name: str, role: str
) -> None:
    call = CALLS[name]
    await close_first(db, world, call)
    auth = await staff_login(client, role)
    before = await snapshot(db)

    answer = await send(client, call, world, auth)

    status, code = call.expected(role)
    assert answer.status_code == status, (name, role, answer.text)
    if code is not None:
        assert answer.json()["code"] == code
        assert await snapshot(db) == before, "a refused request changed something"
    elif call.method != "GET":
        assert (await snapshot(db))[3] > before[3], "a write left no audit row"


@pytest.mark.parametrize("name", [n for n, c in CALLS.items() if c.other_hospital is not None])
async def test_another_hospitals_record_looks_like_none_at_all(
    client: httpx.AsyncClient, db: Database, world: World, name: str
) -> None:
    call = CALLS[name]
    auth = await staff_login(client, OTHER_ADMIN)

    foreign = await send(client, call, world, auth)
    unknown = await send(client, call, world, auth, url=call.url_of_nothing())

    assert foreign.status_code == 404 and foreign.json() == unknown.json()


async def test_no_token_and_a_patient_token_open_nothing(
    client: httpx.AsyncClient, db: Database, world: World, login: Login
) -> None:
    patient = await login()
    before = await snapshot(db)

    for name, call in CALLS.items():
        anonymous = await send(client, call, world, {})
        as_patient = await send(client, call, world, patient)

        assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED", name
        assert as_patient.status_code == 403 and as_patient.json()["code"] == "STAFF_ONLY", name
    assert await snapshot(db) == before


def test_every_path_of_the_catalog_staff_api_is_in_the_matrix() -> None:
    routes = {(m, r.path) for r in router.routes if isinstance(r, APIRoute) for m in r.methods}

    assert routes == {(call.method, call.route()) for call in CALLS.values()}
