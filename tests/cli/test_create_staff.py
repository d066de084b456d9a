"""``yiyue create-staff``: the way the first staff accounts come into being, with clear errors for bad input."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import NOW
from tests.factories import FAST_HASHER, Catalog, make_catalog
from yiyue.accounts.staff import errors as staff_errors
from yiyue.accounts.staff import passwords
from yiyue.accounts.staff import service as staff_service
from yiyue.accounts.staff.models import StaffUser
from yiyue.cli import app
from yiyue.core.config import get_settings
from yiyue.core.db import Database

PASSWORD = "a-long-enough-password"


@pytest.fixture
def environment(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The CLI reads its settings from the environment: a migrated database and a scratch var dir."""
    env = {"YIYUE_DATABASE_URL": database_url, "YIYUE_VAR_DIR": str(tmp_path / "var")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


@pytest.fixture
def catalog(environment: dict[str, str]) -> Catalog:
    return asyncio.run(_with_db(environment["YIYUE_DATABASE_URL"], make_catalog))


T = TypeVar("T")


async def _with_db(url: str, make: Callable[[Database], Awaitable[T]]) -> T:
    db = Database(url)
    try:
        return await make(db)
    finally:
        await db.dispose()


def load(url: str, staff_id: int) -> StaffUser | None:
    async def get(db: Database) -> StaffUser | None:
        async with db.session() as session:
            return await session.get(StaffUser, staff_id)

    result: StaffUser | None = asyncio.run(_with_db(url, get))
    return result


def authenticates(url: str, username: str, password: str) -> bool:
    async def check(db: Database) -> bool:
        try:
            async with db.session() as session:
                await staff_service.authenticate(session, username=username, password=password, now=NOW)
        except staff_errors.InvalidCredentials:
            return False
        return True

    ok: bool = asyncio.run(_with_db(url, check))
    return ok


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["create-staff", *args], input=input)


class TestCreateStaff:
    def test_creates_a_platform_admin_from_a_password_on_stdin_and_prints_its_id(self, environment):
        result = run("--username", "root", "--role", "platform_admin", "--password-stdin", input=f"{PASSWORD}\n")

        assert result.exit_code == 0, result.output
        staff_id = int(result.stdout.strip())
        created = load(environment["YIYUE_DATABASE_URL"], staff_id)
        assert created is not None and created.role == "platform_admin" and created.hospital_id is None
        assert authenticates(environment["YIYUE_DATABASE_URL"], "root", PASSWORD)

    def test_creates_a_doctor_of_a_hospital(self, environment, catalog: Catalog):
        result = run(
            "--username",
            "dr.li",
            "--role",
            "doctor",
            "--hospital-id",
            str(catalog.hospital.id),
            "--doctor-id",
            str(catalog.doctor.id),
            "--display-name",
            "李明华",
            "--password-stdin",
            input=f"{PASSWORD}\r\n",  # a Windows line end is not part of the password
        )

        assert result.exit_code == 0, result.output
        created = load(environment["YIYUE_DATABASE_URL"], int(result.stdout))
        assert created is not None
        assert (created.role, created.hospital_id, created.doctor_id) == (
            "doctor",
            catalog.hospital.id,
            catalog.doctor.id,
        )
        assert created.display_name == "李明华"
        assert authenticates(environment["YIYUE_DATABASE_URL"], "dr.li", PASSWORD)

    def test_prompts_for_the_password_twice_without_showing_it(self, environment, catalog: Catalog):
        typed = f"{PASSWORD}\nsomething-else-typed\n{PASSWORD}\n{PASSWORD}\n"  # a mistyped confirmation is asked again

        result = run(
            "--username", "admin.li", "--role", "hospital_admin", "--hospital-id", str(catalog.hospital.id), input=typed
        )

        assert result.exit_code == 0, result.output
        assert PASSWORD not in result.output
        assert "密码" in result.output and "再次输入密码" in result.output
        assert authenticates(environment["YIYUE_DATABASE_URL"], "admin.li", PASSWORD)

    @pytest.mark.parametrize(
        ("args", "password", "code"),
        [
            (["--username", "ab", "--role", "platform_admin"], PASSWORD, "INVALID_USERNAME"),
            (["--username", "Root", "--role", "platform_admin"], PASSWORD, "INVALID_USERNAME"),
            (["--username", "root", "--role", "platform_admin"], "too-short", "WEAK_PASSWORD"),
            (["--username", "root", "--role", "platform_admin"], "", "WEAK_PASSWORD"),
            (["--username", "root", "--role", "nurse"], PASSWORD, "INVALID_ROLE"),
            (["--username", "root", "--role", "hospital_admin"], PASSWORD, "INVALID_STAFF_SCOPE"),
            (["--username", "root", "--role", "platform_admin", "--hospital-id", "1"], PASSWORD, "INVALID_STAFF_SCOPE"),
            (["--username", "root", "--role", "hospital_admin", "--hospital-id", "999"], PASSWORD, "UNKNOWN_HOSPITAL"),
        ],
    )
    def test_bad_input_is_refused_with_a_clear_message_and_nothing_created(self, environment, args, password, code):
        result = run(*args, "--password-stdin", input=f"{password}\n")

        assert result.exit_code == 1
        assert result.stdout == ""
        assert f"[{code}]" in result.stderr and "错误" in result.stderr
        assert load(environment["YIYUE_DATABASE_URL"], 1) is None

    def test_a_taken_username_is_refused(self, environment):
        first = run("--username", "root", "--role", "platform_admin", "--password-stdin", input=f"{PASSWORD}\n")
        again = run("--username", "root", "--role", "platform_admin", "--password-stdin", input=f"{PASSWORD}\n")

        assert first.exit_code == 0 and again.exit_code == 1
        assert "[USERNAME_TAKEN]" in again.stderr and "该用户名已被使用" in again.stderr

    def test_a_doctor_of_another_hospital_is_refused(self, environment, catalog: Catalog):
        other = asyncio.run(_with_db(environment["YIYUE_DATABASE_URL"], lambda db: make_catalog(db, name="另一家医院")))

        result = run(
            "--username",
            "dr.wang",
            "--role",
            "doctor",
            "--hospital-id",
            str(catalog.hospital.id),
            "--doctor-id",
            str(other.doctor.id),
            "--password-stdin",
            input=f"{PASSWORD}\n",
        )

        assert result.exit_code == 1 and "[UNKNOWN_DOCTOR]" in result.stderr

    def test_a_non_numeric_id_is_a_usage_error(self, environment):
        result = run(
            "--username", "root", "--role", "hospital_admin", "--hospital-id", "one", "--password-stdin", input="x\n"
        )

        assert result.exit_code == 2

    def test_an_unmigrated_database_says_to_migrate(self, tmp_path, monkeypatch):
        monkeypatch.setenv("YIYUE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
        monkeypatch.setenv("YIYUE_VAR_DIR", str(tmp_path / "var"))
        get_settings.cache_clear()
        try:
            result = run("--username", "root", "--role", "platform_admin", "--password-stdin", input=f"{PASSWORD}\n")
        finally:
            get_settings.cache_clear()

        assert result.exit_code == 1
        assert "[DATABASE_ERROR]" in result.stderr and "yiyue migrate" in result.stderr


def test_the_installed_command_reads_the_password_from_stdin(environment: dict[str, str]) -> None:
    """End to end, as an operator runs it: a separate process, settings from the environment only."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "yiyue.cli",
            "create-staff",
            "--username",
            "ops",
            "--role",
            "platform_admin",
            "--password-stdin",
        ],
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().isdigit()
    assert authenticates(environment["YIYUE_DATABASE_URL"], "ops", PASSWORD)
