"""Console tests log in through the real login form and keep the session cookie, like a browser."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.factories import FAST_HASHER, STAFF_PASSWORD
from yiyue.accounts.staff import passwords


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


ConsoleLogin = Callable[..., Awaitable["ConsoleClient"]]


class ConsoleClient:
    """A browser-like client of the console: its session cookie and the page's CSRF token."""

    def __init__(self, client: httpx.AsyncClient, csrf: str) -> None:
        self.http = client
        self.csrf = csrf

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def post(self, path: str, data: dict[str, object] | None = None, **kwargs: object) -> httpx.Response:
        """A form post with the CSRF token, as the page's form sends it."""
        return await self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)  # type: ignore[arg-type]

    async def htmx(self, method: str, path: str, data: dict[str, object] | None = None) -> httpx.Response:
        """An htmx request: the CSRF token in its header, as ``hx-headers`` on the page's body sends it."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return await self.http.request(method, path, data=data, headers=headers)  # type: ignore[arg-type]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def console_login(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> ConsoleClient:
    answer = await client.post("/admin/login", data={"username": username, "password": password, "next": "/admin/"})
    assert answer.status_code == 303, answer.text
    home = await client.get("/admin/")
    assert home.status_code == 200, home.text
    return ConsoleClient(client, csrf_of(home.text))


@pytest.fixture
def console(client: httpx.AsyncClient) -> ConsoleLogin:
    async def _login(username: str, password: str = STAFF_PASSWORD) -> ConsoleClient:
        return await console_login(client, username, password)

    return _login
