"""Browser end-to-end tests: the demo served for real and driven by Chromium.

The session builds the demo of ``balai demo`` (two regions, their sample accounts
and data) on the test database, serves it with Werkzeug on a free port of
127.0.0.1, and starts Debian's Chromium (never a downloaded browser) with every
host name mapped to that address, so each region is reached by its own domain,
as in production. A test walks a flow as people do: each person is a fresh
browser context, each step a numbered screenshot, and any JavaScript console
error, any 5xx answer or a page wider than its screen fails the test. The figures
go to the ``figures`` table of ``scripts/prove``.

``journal.check(page, name)`` also runs axe-core (the copy shipped by
``axe-playwright-python``) on the page: a serious or critical violation fails the test.

As ``balai demo`` does, the demo's mailbox (``/-/kotak-surat``) is on: the flows
read the codes and invitation links people receive there.

Screenshots go to ``$BALAI_SCREENSHOTS`` (default ``tests/e2e/screenshots``), one
folder per test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from figures import Figures, figures_fixture, print_summary  # noqa: F401  (the fixture)
from flask import Flask
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

from balai import demo
from balai.testing import serve

CHROMIUM = os.environ.get("BALAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * 127.0.0.1",
]
SCREENSHOTS = Path(os.environ.get("BALAI_SCREENSHOTS") or Path(__file__).parent / "screenshots")
PART = "browser end-to-end"
AXE = Axe()
SERIOUS = ("serious", "critical")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}
DESK = {"viewport": {"width": 1280, "height": 900}}


# -- the site ------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """The demo app and the port it is served on."""

    app: Flask
    port: int

    def url(self, slug: str, path: str = "/") -> str:
        """``path`` on the first domain of the demo region ``slug``."""
        domains = {t.slug: t.domains[0] for t in demo.TENANTS}
        return f"http://{domains[slug]}:{self.port}{path}"


@pytest.fixture(scope="session")
def site(balai_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo, built on the test database and served on 127.0.0.1 for the session."""
    path = tmp_path_factory.mktemp("demo") / "balai-demo"
    # Fast password hashing, as in every test suite: the demo has some forty accounts.
    # As ``balai demo``: the mailbox page shows the codes and links the outbox sent.
    settings = {"DATABASE_URL": balai_database_url, "PASSWORD_HASHING": "fast"}
    app = demo.build(path, {**settings, **demo.MAILBOX_SETTINGS})
    with serve(app) as port:
        app.config.update(demo.link_settings(port))  # links in messages name the port
        yield Site(app, port)


# -- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; its absence is an error, never a skip."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) or set "
            "BALAI_CHROMIUM; the browser end-to-end tests never download a browser",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Journal:
    """What one test saw: its steps and screenshots, and every problem the browser met."""

    folder: Path
    flows: list[str] = field(default_factory=list)
    steps: int = 0
    server_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)
    inaccessible: list[str] = field(default_factory=list)
    pages_checked: int = 0

    def flow(self, name: str) -> None:
        self.flows.append(name)

    def shot(self, page: Page, name: str) -> Path:
        """Screenshot the page as step ``NN-name``, and check that it fits the screen."""
        self.steps += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.folder / f"{self.steps:02d}-{slug}.png"
        page.screenshot(path=str(path), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            self.too_wide.append(f"{path.name}: {overflow}px wider than the screen")
        return path

    def check(self, page: Page, name: str) -> Path:
        """:meth:`shot`, then axe-core on the page: keep every serious or critical violation."""
        path = self.shot(page, name)
        self.pages_checked += 1
        results = AXE.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in SERIOUS:
                targets = [" ".join(node["target"]) for node in violation["nodes"][:3]]
                self.inaccessible.append(
                    f"{path.name}: {violation['id']} ({violation['impact']}): "
                    f"{violation['help']} at {targets}"
                )
        return path

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")


@pytest.fixture
def journal(request: pytest.FixtureRequest, figures: Figures) -> Iterator[Journal]:
    """The test's journal; at the end its figures are recorded and its problems fail it."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    kept = Journal(folder)
    yield kept
    figures.record(PART, "flows run", len(kept.flows))
    figures.record(PART, "steps", kept.steps)
    figures.record(PART, "screenshots", len(list(folder.glob("*.png"))))
    figures.record(PART, "server errors", len(kept.server_errors))
    figures.record(PART, "console errors", len(kept.console_errors))
    figures.record(PART, "pages wider than the screen", len(kept.too_wide))
    figures.record(PART, "pages checked by axe", kept.pages_checked)
    figures.record(PART, "serious accessibility violations", len(kept.inaccessible))
    assert kept.server_errors == [], f"server errors: {kept.server_errors}"
    assert kept.console_errors == [], f"JavaScript console errors: {kept.console_errors}"
    assert kept.too_wide == [], f"pages wider than the screen: {kept.too_wide}"
    assert kept.inaccessible == [], f"accessibility violations: {kept.inaccessible}"


@pytest.fixture
def person(
    browser: Browser, journal: Journal, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Page]]:
    """``person(phone=False, locale="id-ID")``: someone new with their own browser
    (cookies, language, session), on a phone-sized touch screen or a desk's monitor."""
    contexts = []

    def new(phone: bool = False, locale: str = "id-ID") -> Page:
        screen = PHONE if phone else DESK
        context = browser.new_context(
            locale=locale, timezone_id="Asia/Jakarta", is_mobile=phone, has_touch=phone, **screen
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        journal.watch(page)
        return page

    yield new
    failed = getattr(request.node, "failed_call", False)
    for n, context in enumerate(contexts, start=1):
        if failed:  # what each person saw when the test failed
            for page in context.pages:
                page.screenshot(path=str(journal.folder / f"failed-person-{n}.png"))
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" and report.failed:
        item.failed_call = True  # type: ignore[attr-defined]
    return report


# -- figures -----------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    terminalreporter.write_line(f"browser screenshots: {SCREENSHOTS}")
    print_summary(terminalreporter, config)
