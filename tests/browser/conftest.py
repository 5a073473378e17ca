"""Headless Chromium (Debian's package) driven by Playwright. `playwright install` cannot download
browsers here, so the system binary is launched with executable_path.

Fixtures: `browser` (one Chromium per test), `new_page()` (a page in a fresh context: another
person, with cookies of their own) and `page` (the first such page). Pages are 1000x700, the size of
the screenshots (tests/browser/screenshots.py). Helpers for page tests: tests/browser/pages.py
(signing in), accessibility.py (axe-core), screenshots.py.
"""

import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1000, "height": 700}
# Playwright's auto-waiting bound: generous for a loaded CI machine, still short for a failure.
TIMEOUT_MS = 15_000

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # itself (fixtures, assertions) are still synchronous and safe. Set per test, so subprocesses
    # started by other tests never inherit it (check --deploy refuses it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make():
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
