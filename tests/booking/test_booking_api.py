"""Booking and cancellation through HTTP: rules, idempotency, authorization, slot return."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.conftest import NOW, Login, booking_headers
from tests.factories import Catalog, make_catalog, make_schedule, patient_body
from yiyue.core.clock import FrozenClock
from yiyue.core.db import Database
from yiyue.scheduling.models import Period, Schedule


@pytest.fixture
async def catalog(db: Database) -> Catalog:
    return await make_catalog(db)


@pytest.fixture
async def schedule(db: Database, catalog: Catalog) -> Schedule:
    return await make_schedule(db, catalog, days_ahead=1, capacity=3)


async def add_patient(client: httpx.AsyncClient, auth: dict[str, str], **body: str) -> int:
    answer = await client.post("/api/v1/me/patients", json=patient_body(**body), headers=auth)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def book(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    schedule_id: int,
    patient_id: int,
    *,
    key: str | None = None,
    **extra: int,
) -> httpx.Response:
    body = {"schedule_id": schedule_id, "patient_id": patient_id, **extra}
    return await client.post("/api/v1/appointments", json=body, headers=booking_headers(auth, key))


async def remaining(client: httpx.AsyncClient, schedule_id: int) -> int:
    slots = (await client.get(f"/api/v1/schedules/{schedule_id}/slots")).json()
    return int(slots["schedule"]["remaining"])


class TestBook:
    async def test_books_the_first_free_slot_and_shows_it(self, client, login: Login, schedule: Schedule, catalog):
        auth = await login()
        patient = await add_patient(client, auth)

        answer = await book(client, auth, schedule.id, patient)

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "booked" and body["status_label"] == "待就诊"
        assert body["queue_number"] == 1
        assert body["fee_fen"] == catalog.doctor.fee_fen
        assert body["doctor"]["name"] == catalog.doctor.name
        assert body["department"]["location"] == "门诊楼3层"
        assert body["patient"]["id_number_masked"].startswith("110") and "*" in body["patient"]["id_number_masked"]
        assert len(body["check_in_code"]) == 8 and body["cancellable"] is True
        assert await remaining(client, schedule.id) == 2

    async def test_books_a_chosen_slot(self, client, login: Login, schedule: Schedule):
        auth = await login()
        patient = await add_patient(client, auth)
        slots = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["items"]

        answer = await book(client, auth, schedule.id, patient, slot_id=slots[2]["id"])

        assert answer.status_code == 201
        assert answer.json()["queue_number"] == 3
        after = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["items"]
        assert [s["status"] for s in after] == ["available", "available", "booked"]

    async def test_a_taken_slot_is_refused(self, client, login: Login, schedule: Schedule):
        first, second = await login(), await login()
        slot_id = (await client.get(f"/api/v1/schedules/{schedule.id}/slots")).json()["items"][0]["id"]
        assert (
            await book(client, first, schedule.id, await add_patient(client, first), slot_id=slot_id)
        ).status_code == 201

        answer = await book(client, second, schedule.id, await add_patient(client, second), slot_id=slot_id)

        assert answer.status_code == 409 and answer.json()["code"] == "SLOT_TAKEN"

    async def test_a_slot_of_another_schedule_is_not_found(self, client, db, login: Login, schedule, catalog):
        other = await make_schedule(db, catalog, days_ahead=2, capacity=2)
        foreign_slot = (await client.get(f"/api/v1/schedules/{other.id}/slots")).json()["items"][0]["id"]
        auth = await login()

        answer = await book(client, auth, schedule.id, await add_patient(client, auth), slot_id=foreign_slot)

        assert answer.status_code == 404 and answer.json()["code"] == "SLOT_NOT_FOUND"

    async def test_sold_out_when_every_slot_is_taken(self, client, login: Login, schedule: Schedule):
        for _ in range(3):
            auth = await login()
            assert (await book(client, auth, schedule.id, await add_patient(client, auth))).status_code == 201
        late = await login()

        answer = await book(client, late, schedule.id, await add_patient(client, late))

        assert answer.status_code == 409
        assert answer.json() == {"code": "SOLD_OUT", "message": "该时段号源已约满", "detail": None}

    async def test_same_visit_person_cannot_see_the_same_doctor_twice_a_day(self, client, db, login: Login, catalog):
        morning = await make_schedule(db, catalog, days_ahead=1, period=Period.MORNING)
        afternoon = await make_schedule(db, catalog, days_ahead=1, period=Period.AFTERNOON)
        auth = await login()
        patient = await add_patient(client, auth)
        assert (await book(client, auth, morning.id, patient)).status_code == 201

        again = await book(client, auth, morning.id, patient)
        later = await book(client, auth, afternoon.id, patient)

        assert again.status_code == 409 and again.json()["code"] == "DUPLICATE_BOOKING"
        assert later.status_code == 409 and later.json()["code"] == "DUPLICATE_BOOKING"

    async def test_another_visit_person_of_the_same_account_may_book(self, client, login: Login, schedule):
        auth = await login()
        me = await add_patient(client, auth)
        mother = await add_patient(client, auth, name="王秀英", relationship="parent")
        assert (await book(client, auth, schedule.id, me)).status_code == 201
        assert (await book(client, auth, schedule.id, mother)).status_code == 201

    async def test_the_account_limit_counts_active_appointments_at_the_hospital(self, client, db, login: Login):
        catalog = await make_catalog(db, max_active_appointments=1)
        first = await make_schedule(db, catalog, days_ahead=1)
        second = await make_schedule(db, catalog, days_ahead=2)
        auth = await login()
        patient = await add_patient(client, auth)
        booked = await book(client, auth, first.id, patient)
        assert booked.status_code == 201

        refused = await book(client, auth, second.id, patient)
        assert refused.status_code == 409 and refused.json()["code"] == "BOOKING_LIMIT"

        await client.post(f"/api/v1/appointments/{booked.json()['id']}/cancel", headers=auth)
        assert (await book(client, auth, second.id, patient)).status_code == 201

    async def test_not_released_before_the_release_time(self, client, db, login: Login, catalog):
        far = await make_schedule(db, catalog, days_ahead=8)  # released on day 1 at 08:00; NOW is day 0 09:00
        auth = await login()

        answer = await book(client, auth, far.id, await add_patient(client, auth))

        assert answer.status_code == 409 and answer.json()["code"] == "NOT_RELEASED"
        assert "08:00" in answer.json()["message"]

    async def test_released_at_the_release_time(self, client, db, clock: FrozenClock, login: Login, catalog):
        far = await make_schedule(db, catalog, days_ahead=8)
        clock.set(far.release_at)
        auth = await login()
        patient = await add_patient(client, auth)

        assert (await book(client, auth, far.id, patient)).status_code == 201

    async def test_closed_once_the_session_has_started(self, client, clock: FrozenClock, login: Login, schedule):
        patient = await add_patient(client, await login("o-late"))
        clock.set(schedule.starts_at)
        auth = await login("o-late")  # the next day: a fresh token for the same account

        answer = await book(client, auth, schedule.id, patient)

        assert answer.status_code == 409 and answer.json()["code"] == "BOOKING_CLOSED"

    async def test_a_past_schedule_cannot_be_booked(self, client, db, login: Login, catalog):
        past = await make_schedule(db, catalog, days_ahead=-1)
        auth = await login()

        answer = await book(client, auth, past.id, await add_patient(client, auth))

        assert answer.status_code == 409 and answer.json()["code"] == "BOOKING_CLOSED"

    async def test_unknown_schedule_and_someone_elses_visit_person_are_not_found(self, client, login, schedule):
        owner, intruder = await login(), await login()
        owners_patient = await add_patient(client, owner)

        unknown = await book(client, intruder, 999_999, await add_patient(client, intruder))
        foreign = await book(client, intruder, schedule.id, owners_patient)

        assert unknown.status_code == 404 and unknown.json()["code"] == "SCHEDULE_NOT_FOUND"
        assert foreign.status_code == 404 and foreign.json()["code"] == "VISIT_PERSON_NOT_FOUND"
        assert await remaining(client, schedule.id) == 3

    async def test_requires_login_and_an_idempotency_key(self, client, login: Login, schedule):
        body = {"schedule_id": schedule.id, "patient_id": 1}
        anonymous = await client.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "k"})
        auth = await login()
        keyless = await client.post("/api/v1/appointments", json=body, headers=auth)

        assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
        assert keyless.status_code == 400 and keyless.json()["code"] == "IDEMPOTENCY_KEY_REQUIRED"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"schedule_id": "x", "patient_id": 1},
            {"schedule_id": 1},
            {"schedule_id": 0, "patient_id": 1},
            {"schedule_id": 1, "patient_id": 1, "surprise": True},
            {"schedule_id": 2**70, "patient_id": 1},
        ],
    )
    async def test_malformed_requests_change_nothing(self, client, login: Login, schedule, body):
        auth = await login()

        answer = await client.post("/api/v1/appointments", json=body, headers=booking_headers(auth))

        assert answer.status_code == 422 and answer.json()["code"] == "VALIDATION_ERROR"
        assert await remaining(client, schedule.id) == 3


class TestIdempotency:
    async def test_a_replayed_key_returns_the_same_booking_and_creates_nothing(self, client, login: Login, schedule):
        auth = await login()
        patient = await add_patient(client, auth)

        first = await book(client, auth, schedule.id, patient, key="attempt-1")
        replay = await book(client, auth, schedule.id, patient, key="attempt-1")

        assert first.status_code == replay.status_code == 201
        assert replay.json()["id"] == first.json()["id"]
        assert (await client.get("/api/v1/me/appointments", headers=auth)).json()["total"] == 1
        assert await remaining(client, schedule.id) == 2

    async def test_a_replay_answers_even_after_the_schedule_sold_out(self, client, db, login: Login, catalog):
        tiny = await make_schedule(db, catalog, days_ahead=3, capacity=1)
        auth = await login()
        patient = await add_patient(client, auth)
        first = await book(client, auth, tiny.id, patient, key="only-one")

        replay = await book(client, auth, tiny.id, patient, key="only-one")

        assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]

    async def test_the_same_key_for_a_different_request_is_refused(self, client, db, login: Login, schedule, catalog):
        other = await make_schedule(db, catalog, days_ahead=2)
        auth = await login()
        patient = await add_patient(client, auth)
        await book(client, auth, schedule.id, patient, key="k1")

        answer = await book(client, auth, other.id, patient, key="k1")

        assert answer.status_code == 422 and answer.json()["code"] == "IDEMPOTENCY_KEY_REUSED"

    async def test_keys_belong_to_one_account(self, client, login: Login, schedule):
        a, b = await login(), await login()
        first = await book(client, a, schedule.id, await add_patient(client, a), key="shared")
        second = await book(client, b, schedule.id, await add_patient(client, b), key="shared")

        assert first.status_code == second.status_code == 201
        assert first.json()["id"] != second.json()["id"]

    async def test_a_failed_attempt_can_be_retried_with_the_same_key(self, client, db, clock, login: Login, catalog):
        far = await make_schedule(db, catalog, days_ahead=8)
        clock.set(far.release_at - timedelta(seconds=30))
        auth = await login()
        patient = await add_patient(client, auth)
        assert (await book(client, auth, far.id, patient, key="early")).json()["code"] == "NOT_RELEASED"

        clock.set(far.release_at + timedelta(seconds=1))
        assert (await book(client, auth, far.id, patient, key="early")).status_code == 201


class TestCancel:
    async def test_cancel_returns_the_slot_at_once(self, client, login: Login, schedule):
        auth = await login()
        booked = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()

        answer = await client.post(
            f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "临时有事"}, headers=auth
        )

        assert answer.status_code == 200
        assert answer.json()["status"] == "cancelled" and answer.json()["cancellable"] is False
        assert await remaining(client, schedule.id) == 3
        other = await login()
        rebooked = await book(client, other, schedule.id, await add_patient(client, other))
        assert rebooked.json()["queue_number"] == booked["queue_number"]

    async def test_a_sold_out_schedule_is_bookable_again_after_a_cancellation(self, client, db, login, catalog):
        tiny = await make_schedule(db, catalog, days_ahead=2, capacity=1)
        holder, waiting = await login(), await login()
        waiting_patient = await add_patient(client, waiting)
        held = (await book(client, holder, tiny.id, await add_patient(client, holder))).json()
        assert (await book(client, waiting, tiny.id, waiting_patient)).json()["code"] == "SOLD_OUT"

        await client.post(f"/api/v1/appointments/{held['id']}/cancel", headers=holder)

        assert (await book(client, waiting, tiny.id, waiting_patient)).status_code == 201

    async def test_after_the_deadline_cancellation_is_refused(self, client, clock: FrozenClock, login: Login, schedule):
        auth = await login("o-deadline")
        booked = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
        clock.set(schedule.starts_at - timedelta(minutes=119))  # the hospital allows up to 120 minutes before
        auth = await login("o-deadline")

        answer = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=auth)

        assert answer.status_code == 409 and answer.json()["code"] == "CANCEL_DEADLINE_PASSED"
        detail = (await client.get(f"/api/v1/appointments/{booked['id']}", headers=auth)).json()
        assert detail["status"] == "booked" and detail["cancellable"] is False

    async def test_cancelling_twice_is_refused(self, client, login: Login, schedule):
        auth = await login()
        booked = (await book(client, auth, schedule.id, await add_patient(client, auth))).json()
        await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=auth)

        again = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=auth)

        assert again.status_code == 409 and again.json()["code"] == "NOT_CANCELLABLE"
        assert await remaining(client, schedule.id) == 3

    async def test_after_cancelling_the_same_person_may_book_the_doctor_again(self, client, login: Login, schedule):
        auth = await login()
        patient = await add_patient(client, auth)
        first = (await book(client, auth, schedule.id, patient)).json()
        await client.post(f"/api/v1/appointments/{first['id']}/cancel", headers=auth)

        assert (await book(client, auth, schedule.id, patient)).status_code == 201


class TestMyAppointments:
    async def test_lists_filters_and_shows_detail(self, client, db, login: Login, catalog, schedule):
        other_day = await make_schedule(db, catalog, days_ahead=2)
        auth = await login()
        patient = await add_patient(client, auth)
        kept = (await book(client, auth, schedule.id, patient)).json()
        dropped = (await book(client, auth, other_day.id, patient)).json()
        await client.post(f"/api/v1/appointments/{dropped['id']}/cancel", headers=auth)

        everything = (await client.get("/api/v1/me/appointments", headers=auth)).json()
        booked = (await client.get("/api/v1/me/appointments?status=booked", headers=auth)).json()
        both = (await client.get("/api/v1/me/appointments?status=booked,cancelled", headers=auth)).json()
        detail = (await client.get(f"/api/v1/appointments/{kept['id']}", headers=auth)).json()

        assert everything["total"] == 2 and both["total"] == 2
        assert [a["id"] for a in booked["items"]] == [kept["id"]]
        assert detail["queue_number"] == kept["queue_number"] and detail["hospital"]["name"] == catalog.hospital.name

    async def test_an_unknown_status_filter_is_an_error(self, client, login: Login):
        answer = await client.get("/api/v1/me/appointments?status=paid", headers=await login())
        assert answer.status_code == 422 and answer.json()["code"] == "INVALID_STATUS_FILTER"

    async def test_nobody_sees_or_cancels_another_accounts_appointment(self, client, login: Login, schedule):
        owner, intruder = await login(), await login()
        booked = (await book(client, owner, schedule.id, await add_patient(client, owner))).json()

        seen = await client.get(f"/api/v1/appointments/{booked['id']}", headers=intruder)
        cancelled = await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=intruder)
        listed = (await client.get("/api/v1/me/appointments", headers=intruder)).json()

        assert seen.status_code == 404 and seen.json()["code"] == "APPOINTMENT_NOT_FOUND"
        assert "queue_number" not in seen.text
        assert cancelled.status_code == 404
        assert listed["total"] == 0
        assert (await client.get(f"/api/v1/appointments/{booked['id']}", headers=owner)).json()["status"] == "booked"


class TestVisitPersonRemoval:
    async def test_a_visit_person_with_a_coming_appointment_cannot_be_removed(self, client, login: Login, schedule):
        auth = await login()
        patient = await add_patient(client, auth)
        booked = (await book(client, auth, schedule.id, patient)).json()

        refused = await client.delete(f"/api/v1/me/patients/{patient}", headers=auth)
        await client.post(f"/api/v1/appointments/{booked['id']}/cancel", headers=auth)
        allowed = await client.delete(f"/api/v1/me/patients/{patient}", headers=auth)

        assert refused.status_code == 409 and refused.json()["code"] == "VISIT_PERSON_HAS_APPOINTMENTS"
        assert allowed.status_code == 204
        history = (await client.get("/api/v1/me/appointments", headers=auth)).json()
        assert history["items"][0]["patient"]["id"] == patient


def test_now_is_a_monday_morning_in_beijing() -> None:
    assert NOW.weekday() == 0 and NOW.hour == 9
