"""A real Chromium (the system's, driven by Playwright) and the demo as a real process.

Chromium comes from the operating system (/usr/bin/chromium), never from `playwright install`.
Without it these tests skip, or fail when PASSPORTOFFICE_REQUIRE_CHROMIUM=1 (as CI sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("PASSPORTOFFICE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"{reason} (PASSPORTOFFICE_REQUIRE_CHROMIUM=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    # Module scope: Playwright's sync API runs its own event loop, which must be gone before
    # the async tests of other modules run theirs.
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies carried over."""
    context = chromium.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """docs/screenshots when PASSPORTOFFICE_UPDATE_SCREENSHOTS=1, else a scratch directory.

    Taken on every run either way, so a page that cannot render fails here; the committed images
    change only when asked to.
    """
    if os.environ.get("PASSPORTOFFICE_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path
