"""Open local HTML pages in headless Debian Chromium and prove they use no network.

Not a test module: a helper for tests that need a real browser (offline maps, reports).

* ``open_page(path)`` is a context manager yielding a :class:`Page` (``chromium()`` yields an
  ``open`` of the same kind that shares one browser between pages); the ``browser_page``
  pytest fixture is the same with a skip when Chromium is missing. Import both with
  ``from tests.browser import browser_page, open_page`` (a fixture must be imported into the
  test module to be found).
* Every request that is not ``file:``/``data:``/``blob:``/``about:`` is aborted by route
  interception and recorded in ``Page.requests``. This per-page log is the proof a page is
  offline: Chromium's own net log also shows its background update pings, which are not the
  page's doing.
* Console errors and uncaught page errors are collected in ``Page.console_errors`` and
  ``Page.page_errors``; the messages of ``alert``/``confirm``/``prompt`` dialogs (dismissed) in
  ``Page.dialogs``.

Chromium comes from Debian (``scripts/install-system-deps.sh``); we never run
``playwright install``, which downloads a browser from the internet.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM = Path(os.environ.get("SITING_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root in containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")

# The first Leaflet map on the page: folium declares it as a global `var map_<id>`.
LEAFLET_MAP_JS = "Object.keys(window).map(k => window[k]).find(v => window.L && v instanceof L.Map)"


def chromium_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} not found: run scripts/install-system-deps.sh as root "
            "(apt-get install chromium) to enable browser tests"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install -e '.[dev]')"
    return None


def require_chromium() -> None:
    """Skip the calling test, with the reason, when Chromium or Playwright is missing."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)


@dataclass
class Page:
    """A loaded page plus what it tried to do.

    Attributes
    ----------
    page : playwright.sync_api.Page
        The live Playwright page, for anything the helpers below do not cover.
    requests : list of str
        URLs of every non-local request the page made (all were blocked).
    console_errors : list of str
        Text of ``console.error`` messages (including failed resource loads).
    page_errors : list of str
        Uncaught JavaScript exceptions.
    dialogs : list of str
        Messages of the dialogs the page opened (each was dismissed).
    """

    page: Any
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        """Value of a JS expression or ``arg => …`` function in the page."""
        return self.page.evaluate(expression, arg)

    def leaflet(self, body: str) -> Any:
        """Evaluate ``body`` with ``map`` bound to the page's Leaflet map, e.g. ``"return map.getZoom()"``."""
        return self.page.evaluate(f"() => {{ const map = {LEAFLET_MAP_JS}; {body} }}")

    def click_latlng(self, lat: float, lng: float) -> None:
        """Click the map at a coordinate, as a user would (fires Leaflet's own click handling)."""
        x, y = self.leaflet(
            f"const p = map.latLngToContainerPoint([{lat}, {lng}]);"
            "const r = map.getContainer().getBoundingClientRect();"
            "return [r.left + p.x, r.top + p.y];"
        )
        self.page.mouse.click(x, y)

    def popup_text(self, timeout_ms: float = 5000) -> str:
        """Text of the open Leaflet popup (waits for it to appear)."""
        popup = self.page.locator(".leaflet-popup-content").first
        popup.wait_for(state="visible", timeout=timeout_ms)
        # Leaflet fades popups in; wait for the end so a screenshot shows it fully.
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.leaflet-popup')].some(p => getComputedStyle(p).opacity === '1')",
            timeout=timeout_ms,
        )
        return popup.inner_text()

    def click_popup(self, lat: float, lng: float) -> str:
        """Click the map at a coordinate and return the text of the popup it opens."""
        self.click_latlng(lat, lng)
        return self.popup_text()

    def screenshot(self, path: str | os.PathLike) -> Path:
        """Save a PNG of the page; relative paths go under ``test-artifacts/``."""
        path = Path(path)
        if not path.is_absolute():
            path = ARTIFACTS / path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=False)
        return path


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium for many pages: yields ``open(path, **kw)``, used like :func:`open_page`.

    Launching Chromium costs seconds; tests that open a dozen pages share one browser (each page
    still gets its own context, so nothing carries over between pages).
    """
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield lambda path, **kw: _open(browser, path, **kw)
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(
    path: str | os.PathLike,
    *,
    width: int = 1200,
    height: int = 800,
    wait_for: str | None = None,
    settle_ms: int = 300,
) -> Iterator[Page]:
    """Open a local HTML file in headless Chromium with the network blocked.

    Parameters
    ----------
    path : str or path-like
        The HTML file.
    width, height : int
        Viewport size in pixels.
    wait_for : str, optional
        JS expression to wait for (truthy) after load, e.g. ``"window.L !== undefined"``.
    settle_ms : int
        Extra wait after load so late requests and errors are caught too.

    Yields
    ------
    Page
    """
    with chromium() as open_, open_(path, width=width, height=height, wait_for=wait_for, settle_ms=settle_ms) as page:
        yield page


@contextlib.contextmanager
def _open(browser, path, *, width: int = 1200, height: int = 800, wait_for: str | None = None,
          settle_ms: int = 300) -> Iterator[Page]:
    url = Path(path).resolve().as_uri()
    context = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
    try:
        result = Page(page=None)

        def route(r):
            if r.request.url.startswith(_LOCAL_SCHEMES):
                r.continue_()
            else:
                result.requests.append(r.request.url)
                r.abort()

        # On the context, so popups, iframes and workers of the page are covered too.
        context.route("**/*", route)
        page = context.new_page()
        result.page = page
        # A request may bypass routing (e.g. a preconnect); log those too, once.
        page.on(
            "request",
            lambda req: None
            if req.url.startswith(_LOCAL_SCHEMES) or req.url in result.requests
            else result.requests.append(req.url),
        )
        page.on("console", lambda msg: msg.type == "error" and result.console_errors.append(msg.text))
        page.on("pageerror", lambda err: result.page_errors.append(str(err)))
        page.on("dialog", lambda d: (result.dialogs.append(d.message), d.dismiss()))
        page.goto(url, wait_until="load")
        if wait_for:
            page.wait_for_function(wait_for, timeout=10_000)
        page.wait_for_timeout(settle_ms)
        yield result
    finally:
        context.close()


@pytest.fixture
def browser_page():
    """Fixture form of :func:`open_page`: ``with browser_page(path) as page: …``; skips without Chromium."""
    require_chromium()
    return open_page
