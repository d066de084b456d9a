"""Browser tests: the console in real Chromium (Debian's ``chromium``, driven by Playwright), against a
real server on a free loopback port. Every page a test opens must log no console error."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Error, Page, async_playwright

from tests.conftest import NOW
from tests.factories import FAST_HASHER, STAFF_PASSWORD
from tests.live import serving
from yiyue.accounts.staff import passwords
from yiyue.app import create_app
from yiyue.core.clock import FrozenClock
from yiyue.core.config import Settings

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = os.environ.get("YIYUE_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: .ci/run installs Debian's chromium with apt")
    pytest.skip("browser tests need Debian's chromium (apt-get install chromium)")


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "hasher", FAST_HASHER)


@pytest.fixture
def frozen() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def live(settings: Settings, frozen: FrozenClock) -> Iterator[str]:
    """The API and the console served for real; the clock stands still at ``NOW`` (a Monday morning)."""
    with serving(create_app(settings, clock=frozen)) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class ConsolePage:
    """One browser tab on the console, with the console errors it logged."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # A refusal page (a form sent back with its errors, 403, 404) is a document with a 4xx status, which
        # the browser notes as a failed load of that document: the status is the answer, not a fault.
        # A failed script, style or request of the page is still an error.
        document = message.location.get("url") == self.page.url
        if document and message.text.startswith("Failed to load resource: the server responded with a status of 4"):
            return
        self.errors.append(f"{message.text} ({message.location.get('url')})")

    async def open(self, path: str) -> None:
        await self.page.goto(self.base + path)
        await self.page.wait_for_load_state("networkidle")

    async def login(self, username: str, password: str = STAFF_PASSWORD) -> None:
        await self.open("/admin/login")
        await self.page.fill("input[name=username]", username)
        await self.page.fill("input[name=password]", password)
        async with self.page.expect_navigation():
            await self.page.click("button[type=submit]")

    async def text(self) -> str:
        return await self.page.inner_text("body")

    def accept_confirms(self) -> list[str]:
        """Answers OK to every confirmation the page asks from now on; returns the questions as they come."""
        asked: list[str] = []

        async def answer(dialog: Dialog) -> None:
            asked.append(dialog.message)
            await dialog.accept()

        self.page.on("dialog", answer)
        return asked


@pytest.fixture
async def api(live: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the live server, for what patients do through the API while the staff use the console."""
    async with httpx.AsyncClient(base_url=live, timeout=30) as http:
        yield http


@pytest.fixture
async def tab(live: str, browser: Browser) -> AsyncIterator[ConsolePage]:
    # ``live`` first: uvicorn installs uvloop's event loop policy when it starts, which must happen before
    # this test's event loop exists.
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = await context.new_page()
    console = ConsolePage(page, live)
    yield console
    with contextlib.suppress(Error):  # a test that closed the page itself
        await context.close()
    assert console.errors == [], f"the console logged errors: {console.errors}"
