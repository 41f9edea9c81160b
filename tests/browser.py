"""A real browser for tests: Debian's system Chromium, headless, driven by Playwright's sync API.

Nothing is downloaded at test time (no `playwright install`): the browser is the `chromium` on PATH,
which CI installs with apt-get (.ci/run). Without it every test that asks for a browser fails with a
message that says how to install it; none is skipped.

    from tests.browser import browser_session, open_page, screenshot

    @pytest.fixture(scope="module")
    def browser():
        with browser_session() as session:  # one Chromium for the module; closed when the module ends
            yield session

    def test_page(browser, tmp_path):
        with open_page(tmp_path / "index.html", browser=browser) as run:
            run.page.click("th")
            assert run.errors == [] and run.requests == []
            screenshot(run.page, tmp_path / "page.png")

Keep a browser per module, not per pytest session: while Playwright's sync API is started it marks its
asyncio loop as running in the main thread, so `asyncio.run()` in any other test would fail meanwhile.
`open_page()` without `browser=` starts and closes a browser of its own (about a second); sessions open
at the same time share one Playwright driver, which stops when the last of them closes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

INSTALL_HINT = "apt-get install -y --no-install-recommends chromium"

# URL schemes that never leave the machine; a request for any other URL is recorded and refused.
_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
_NOT_LOCAL = re.compile(r"^(?!(?:file|data|blob|about):)", re.IGNORECASE)


def chromium_path() -> str:
    """The system Chromium's executable; fails the test (never skips it) when there is none."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"no system Chromium on PATH (looked for chromium, chromium-browser); install it: {INSTALL_HINT}", pytrace=False)


# Playwright's driver, shared by the sessions open at one time: its sync API refuses a second start
# while one runs (it marks its asyncio loop as running in this thread). Stopped when the last closes.
class _Driver:
    playwright: Playwright | None = None
    users = 0


@contextmanager
def browser_session() -> Iterator[Browser]:
    """One headless Chromium (and Playwright's driver, unless another session already runs it); closed
    on exit, also when the body raises."""
    executable = chromium_path()
    if _Driver.playwright is None:
        _Driver.playwright = sync_playwright().start()
    _Driver.users += 1
    try:
        # No extra command-line flags. Playwright already passes the two that this environment needs:
        # --no-sandbox (chromium_sandbox=False, its default: Chromium's sandbox refuses to run as root,
        # as CI does, and needs user namespaces that containers often lack; we only open our own files)
        # and --disable-dev-shm-usage (Docker's /dev/shm is 64 MB, too small for Chromium's shared memory).
        browser = _Driver.playwright.chromium.launch(executable_path=executable, headless=True, chromium_sandbox=False)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        _Driver.users -= 1
        if _Driver.users == 0:
            playwright, _Driver.playwright = _Driver.playwright, None
            playwright.stop()


@dataclass
class PageRun:
    """A loaded page and what it did: `errors` holds console.error messages ("console.error: ...") and
    uncaught exceptions ("pageerror: ..."); `requests` every URL it asked for that is not file:, data:,
    blob: or about: (each was refused, the page never reached a network; Chromium then also logs
    "console.error: Failed to load resource: net::ERR_BLOCKED_BY_CLIENT..." for most of them)."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def screenshot(self, path: str | Path, *, full_page: bool = True) -> Path:
        return screenshot(self.page, path, full_page=full_page)


def _as_url(target: str | Path) -> str:
    if isinstance(target, str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return target
    path = Path(target).resolve()
    assert path.is_file(), f"no page to open at {path}"
    return path.as_uri()


@contextmanager
def open_page(
    target: str | Path,
    *,
    browser: Browser | None = None,
    viewport: tuple[int, int] = (1280, 800),
    javascript: bool = True,
    allow: Sequence[str] = (),
) -> Iterator[PageRun]:
    """Open `target` (a URL, or a path to a local file) in a fresh browser context, wait for its load
    event, and yield a PageRun. Closes the context on exit; with no `browser`, also its own browser.
    `allow`: URL prefixes (e.g. a test's own http://127.0.0.1:PORT/) let through and not recorded."""
    if browser is None:
        with browser_session() as own:
            with open_page(target, browser=own, viewport=viewport, javascript=javascript, allow=allow) as run:
                yield run
        return
    allowed = tuple(allow)
    width, height = viewport
    context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=javascript)
    try:
        run = PageRun(page=context.new_page())

        def on_request(request) -> None:
            if not request.url.lower().startswith(_LOCAL_SCHEMES) and not request.url.startswith(allowed):
                run.requests.append(request.url)

        def on_route(route) -> None:
            if route.request.url.startswith(allowed):
                route.continue_()
            else:  # refused before it leaves the browser: a test never waits on, or depends on, a network
                route.abort("blockedbyclient")

        def on_web_socket(ws) -> None:
            if ws.url.startswith(allowed):
                ws.connect_to_server()
            else:
                run.requests.append(ws.url)
                ws.close()

        def on_console(message) -> None:
            if message.type == "error":
                run.errors.append(f"console.error: {message.text}")

        context.on("request", on_request)
        context.route(_NOT_LOCAL, on_route)
        context.route_web_socket(_NOT_LOCAL, on_web_socket)
        run.page.on("console", on_console)
        run.page.on("pageerror", lambda error: run.errors.append(f"pageerror: {error}"))
        run.page.goto(_as_url(target), wait_until="load")
        yield run
    finally:
        context.close()


def screenshot(page: Page, path: str | Path, *, full_page: bool = True) -> Path:
    """Save a PNG of `page` at `path` (parent folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page, type="png")
    assert path.stat().st_size > 0, f"empty screenshot at {path}"
    return path
