"""The API keeps its contract under generated input: schemathesis (from PyPI) reads the served
``/openapi.json`` and sends every operation examples built from it, as a logged-in patient and as a
platform admin, against a real server with a seeded catalogue. Checks: no 5xx (``not_a_server_error``),
every answer matches the schema of its declared status (``response_schema_conformance``) and its status
is one the operation declares (``status_code_conformance``).

Bounded: a few examples per operation (``MAX_EXAMPLES``), derandomized (the same examples on every run),
no deadline per example. It runs once per test command, in the SQLite run only (the PostgreSQL run sets
``YIYUE_TEST_DATABASE_URL`` and skips it): the contract does not depend on the database.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import GENEROUS_LIMITS, NOW
from tests.factories import FAST_HASHER, make_catalog, make_schedule, make_staff, patient_body
from tests.live import serving
from yiyue.accounts.staff import passwords
from yiyue.app import FAKE_WECHAT_MOUNT, create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings
from yiyue.core.db import Database

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("YIYUE_TEST_DATABASE_URL")), reason="the contract run is part of the SQLite run only"
)

MAX_EXAMPLES = int(os.environ.get("YIYUE_CONTRACT_EXAMPLES", "6"))
SEED = 20260302
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
STAFF_PASSWORD = "contract-staff-password"


@dataclass(frozen=True)
class Live:
    url: str
    patient: dict[str, str]
    staff: dict[str, str]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Live]:
    template: Path = request.getfixturevalue("_sqlite_template")
    folder = tmp_path_factory.mktemp("contract")
    shutil.copy(template, folder / "yiyue.db")
    app_settings = Settings(
        database_url=f"sqlite+aiosqlite:///{folder / 'yiyue.db'}",
        secret_key="test-secret-key-not-for-production-0123456789",
        data_key=base64.b64encode(b"k" * 32).decode(),
        blind_index_key=base64.b64encode(b"i" * 32).decode(),
        wechat_secret="test-wechat-secret",
        queue_url=f"sqlite:///{folder / 'queue.db'}",
        embedded_workers=0,
        **GENEROUS_LIMITS,  # type: ignore[arg-type]
    )
    original = passwords.hasher
    passwords.hasher = FAST_HASHER
    try:
        asyncio.run(_seed(app_settings.database_url))
        with (
            serving(create_app(app_settings, clock=FrozenClock(NOW))) as url,
            httpx.Client(base_url=url, timeout=120) as http,
        ):
            yield Live(url=url, patient=_patient(http), staff=_staff(http))
    finally:
        passwords.hasher = original


async def _seed(database_url: str) -> None:
    """A hospital with a clinic, two doctors and a released session, and a platform admin."""
    db = Database(database_url)
    try:
        catalog = await make_catalog(db, payment_required=True)
        await make_schedule(db, catalog, days_ahead=1)
        await make_schedule(db, catalog, days_ahead=2, doctor=catalog.other_doctor)
        await make_staff(db, role="platform_admin", username="contract.admin", password=STAFF_PASSWORD)
    finally:
        await db.dispose()


def _patient(http: httpx.Client) -> dict[str, str]:
    code = http.post(f"{FAKE_WECHAT_MOUNT}/__fake__/login-code", json={"openid": "o-contract"}).json()["code"]
    token = http.post("/api/v1/auth/wechat-login", json={"code": code}).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    added = http.post("/api/v1/me/patients", json=patient_body(), headers=auth)
    assert added.status_code == 201, added.text
    return auth


def _staff(http: httpx.Client) -> dict[str, str]:
    answer = http.post("/api/v1/staff/auth/login", json={"username": "contract.admin", "password": STAFF_PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture(scope="module")
def contract_schema(live: Live) -> Any:
    document = httpx.get(f"{live.url}/openapi.json", timeout=120).json()
    loaded = schemathesis.openapi.from_dict(document)
    # The schema's own examples and MAX_EXAMPLES generated ones per operation; the coverage phase (every
    # boundary of every parameter) would send thousands and take far longer than a few minutes.
    loaded.config.phases.coverage.enabled = False
    loaded.config.seed = SEED
    return loaded


schema = schemathesis.pytest.from_fixture("contract_schema")

FIGURES: Counter[str] = Counter()
OPERATIONS: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """Prints what the run covered: operations, examples, requests by status, seconds."""
    started = time.monotonic()
    yield
    statuses = ", ".join(f"{k[7:]}: {v}" for k, v in sorted(FIGURES.items()) if k.startswith("status "))
    line = (
        f"schemathesis: {len(OPERATIONS)} operations, {FIGURES['examples']} examples, {FIGURES['requests']} "
        f"requests ({statuses}) in {time.monotonic() - started:.0f} s"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


# Logging out (patient or staff) revokes the token family the rest of the run logs in with.
LOGOUTS = ("/api/v1/auth/logout", "/api/v1/staff/auth/logout")


@pytest.mark.timeout(900)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_contract(case: Any, live: Live) -> None:
    if case.operation.path in LOGOUTS:
        pytest.skip("logging out would end the run's sessions")
    OPERATIONS.add(case.operation.label)
    FIGURES["examples"] += 1
    for auth in (live.patient, live.staff):
        response = case.call_and_validate(base_url=live.url, headers=auth, checks=CHECKS, timeout=30)
        FIGURES["requests"] += 1
        FIGURES[f"status {response.status_code}"] += 1
