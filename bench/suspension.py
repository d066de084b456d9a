"""停诊 benchmark: a full session of N patients is suspended; each patient is offered held slots to rebook.

Books N patients into one session (through the HTTP API, in process), gives the doctor a next session and
a colleague a session the same day, then suspends the first one and times the suspension's unit of work
(every appointment suspended, its slot freed, a rebooking offer with held slots made, events written):

    python bench/suspension.py                    # embedded default (SQLite), 100 patients
    python bench/suspension.py --patients 200 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

The PostgreSQL database given is emptied first. Figures are printed; the invariants (every appointment
suspended, one offer per patient while slots last, no slot held twice) are checked and the exit status
is 1 if one breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from support import id_number, reset_postgres
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.booking.models import Appointment, RebookOffer, RebookOption
from yiyue.core.clock import Clock, local_today
from yiyue.core.config import Settings
from yiyue.core.db import Database
from yiyue.core.migrate import upgrade
from yiyue.frontdesk.service import suspend_schedule
from yiyue.hospitals.models import Department, Doctor, Hospital
from yiyue.hospitals.search import initials
from yiyue.scheduling import service as scheduling
from yiyue.scheduling.models import Period, Schedule, Slot, SlotStatus


async def make_sessions(db: Database, patients: int) -> tuple[Schedule, Schedule, Schedule]:
    """The session to suspend (N numbers), the doctor's next one (N) and a colleague's that day (N/2)."""
    async with db.session() as session:
        hospital = Hospital(
            name="停诊测试医院", name_initials="tzcsyy", level="三级甲等", city="北京", district="东城区",
            address="测试路1号", phone="010-12345678", created_at=time_now(), max_active_appointments=5,
        )  # fmt: skip
        session.add(hospital)
        await session.flush()
        clinic = Department(hospital_id=hospital.id, name="心血管内科", name_initials="xxgnk")
        session.add(clinic)
        await session.flush()
        doctors = []
        for name in ("李明华", "王芳"):
            doctor = Doctor(
                hospital_id=hospital.id, department_id=clinic.id, name=name, name_initials=initials(name),
                gender="男", title="主任医师", specialty="冠心病", intro="", fee_fen=5000,
            )  # fmt: skip
            session.add(doctor)
            doctors.append(doctor)
        await session.flush()
        tomorrow = local_today(time_now()) + timedelta(days=1)

        async def one(doctor: Doctor, days: int, capacity: int) -> Schedule:
            return await scheduling.create_schedule(
                session,
                hospital=hospital,
                doctor=doctor,
                visit_date=tomorrow + timedelta(days=days),
                period=Period.MORNING,
                capacity=capacity,
            )

        return (
            await one(doctors[0], 0, patients),
            await one(doctors[0], 2, patients),
            await one(doctors[1], 0, patients // 2),
        )


def time_now() -> datetime:
    return Clock().now()


async def book_everyone(client: httpx.AsyncClient, schedule_id: int, patients: int) -> None:
    for n in range(patients):
        code = (await client.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": f"bench-{n}"})).json()
        token = (await client.post("/api/v1/auth/wechat-login", json={"code": code["code"]})).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        person = await client.post(
            "/api/v1/me/patients",
            headers=auth,
            json={"name": "测试患者", "id_number": id_number(n), "phone": "13812345678", "relationship": "self"},
        )
        booked = await client.post(
            "/api/v1/appointments",
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            json={"schedule_id": schedule_id, "patient_id": person.json()["id"]},
        )
        assert booked.status_code == 201, booked.text


async def run(url: str, patients: int) -> int:
    if url.startswith("postgresql"):
        await reset_postgres(url)
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        database_url=url,
        secret_key="bench-secret-key-not-for-production-0123456789",
        data_key=base64.b64encode(b"k" * 32).decode(),
        blind_index_key=base64.b64encode(b"i" * 32).decode(),
        wechat_secret="bench-wechat-secret",
        queue_url=f"sqlite:///{tempfile.mkdtemp()}/queue.db",
        embedded_workers=0,
    )
    app = create_app(settings)
    db: Database = app.state.db
    try:
        suspended, next_session, colleague = await make_sessions(db, patients)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            started = time.perf_counter()
            await book_everyone(client, suspended.id, patients)
            booking_s = time.perf_counter() - started
        async with db.session() as session:
            started = time.perf_counter()
            affected = await suspend_schedule(session, schedule_id=suspended.id, reason="医生临时停诊", now=time_now())
        suspend_s = time.perf_counter() - started
        return await report(db, patients, affected, booking_s, suspend_s, next_session, colleague)
    finally:
        await app.state.wechat.aclose()
        await db.dispose()


async def report(
    db: Database,
    patients: int,
    affected: list[int],
    booking_s: float,
    suspend_s: float,
    next_session: Schedule,
    colleague: Schedule,
) -> int:
    async with db.session() as session:
        offers = int(await session.scalar(select(func.count()).select_from(RebookOffer)) or 0)
        options = list(await session.scalars(select(RebookOption)))
        held = {
            s: int(
                await session.scalar(
                    select(func.count()).select_from(Slot).where(Slot.schedule_id == s, Slot.status == SlotStatus.HELD)
                )
                or 0
            )
            for s in (next_session.id, colleague.id)
        }
        suspended = int(
            await session.scalar(select(func.count()).select_from(Appointment).where(Appointment.status == "suspended"))
            or 0
        )
    held_slots = [o.slot_id for o in options]
    print(f"patients booked            {patients} in {booking_s:.1f} s through HTTP ({patients / booking_s:.0f}/s)")
    print(f"停诊 unit of work           {suspend_s * 1000:.0f} ms ({suspend_s * 1000 / patients:.1f} ms a patient)")
    print(f"appointments suspended     {suspended} of {len(affected)}")
    print(
        f"offers made                {offers} (options: {len(options)}; held: next session "
        f"{held[next_session.id]}, colleague {held[colleague.id]})"
    )
    broken = (
        suspended != patients or len(set(held_slots)) != len(held_slots) or offers != patients
    )  # the next session has room for all
    if broken:
        print("INVARIANT BROKEN")
    return 1 if broken else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    raise SystemExit(asyncio.run(run(url, args.patients)))


if __name__ == "__main__":
    main()
